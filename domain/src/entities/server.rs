//! An integration server (Mirth Connect / Open Integration Engine) registered by an org.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, ServerId};

/// A server (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// Its id.
    pub id: ServerId,
    /// The owning organization.
    pub org_id: OrgId,
    /// Display name, visible to both parties of a connection that involves the server.
    pub name: String,
    /// Free text, visible like the name.
    pub description: String,
    /// Engine kind, e.g. `mirth` or `oie`.
    pub kind: String,
    /// Engine version.
    pub version: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}
