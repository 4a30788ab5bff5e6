//! First start: the platform operators' organization, the platform admin, and its API token
//! written to `<data_dir>/admin-token` (mode 0600).
//!
//! Order matters for crash safety: the token file is written (atomically) before the admin is
//! committed, so a crash in between leaves no admin and the next start simply makes a new
//! token; once the admin is committed, the file already holds its token.

use std::path::Path;

use chrono::Utc;
use switchboard_domain::Role;
use switchboard_domain::entities::{Organization, User};
use switchboard_domain::ids::{OrgId, UserId};
use switchboard_domain::tiers::Tier;
use switchboard_storage::{ApiToken, Reader, Store, StoreError, TokenRecord};

use crate::data_dir::{ADMIN_TOKEN_FILE, write_atomic};

/// Meta key marking that the platform admin exists (value: its user id).
pub const PLATFORM_ADMIN_META: &str = "platform_admin_user";
/// Slug of the operators' organization the platform admin belongs to (not discoverable).
pub const OPERATORS_SLUG: &str = "switchboard-operators";

/// Why bootstrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token file could not be written.
    #[error("cannot write {path}: {source}")]
    TokenFile {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Creates the platform admin if the store has none. Returns whether it did.
pub fn ensure_platform_admin(store: &Store, data_dir: &Path) -> Result<bool, BootstrapError> {
    let token_path = data_dir.join(ADMIN_TOKEN_FILE);
    if store.read()?.get_meta(PLATFORM_ADMIN_META)?.is_some() {
        if !token_path.exists() {
            tracing::warn!(path = %token_path.display(), "the platform admin exists but its token file is gone; the token cannot be recovered");
        }
        return Ok(false);
    }
    let now = Utc::now();
    let org = Organization {
        id: OrgId::generate(),
        name: "Switchboard operators".to_owned(),
        slug: OPERATORS_SLUG.to_owned(),
        description: "The platform operators' own organization".to_owned(),
        discoverable: false,
        tier: Tier::Enterprise,
        overrides: vec![],
        created_at: now,
    };
    let admin = User {
        id: UserId::generate(),
        org_id: org.id.clone(),
        email: "admin@switchboard.invalid".to_owned(),
        name: "Platform admin".to_owned(),
        role: Role::Owner,
        platform_admin: true,
        created_at: now,
    };
    let token = ApiToken::generate();
    write_atomic(
        &token_path,
        format!("{}\n", token.as_str()).as_bytes(),
        0o600,
    )
    .map_err(|source| BootstrapError::TokenFile {
        path: token_path.display().to_string(),
        source,
    })?;
    store.write(|tx| -> Result<(), StoreError> {
        tx.put_org(&org)?;
        tx.put_user(&admin)?;
        tx.put_api_token(
            &token,
            &TokenRecord {
                user_id: admin.id.clone(),
                created_at: now,
                label: Some("bootstrap".to_owned()),
            },
        )?;
        tx.put_meta(PLATFORM_ADMIN_META, admin.id.as_str().as_bytes())?;
        Ok(())
    })?;
    tracing::info!(path = %token_path.display(), "created the platform admin; its API token is in this file (mode 0600)");
    Ok(true)
}
