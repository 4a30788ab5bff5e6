//! A user account. API tokens are stored hashed by the storage layer, not on the user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::caller::{Caller, Role};
use crate::ids::{OrgId, UserId};

/// A user (SPEC §1). A user belongs to exactly one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Unique e-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in the organization.
    pub role: Role,
    /// Whether the user administers the platform; such a user acts only through the admin
    /// endpoints, never as a member of its organization.
    pub platform_admin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// The caller this user acts as.
    pub fn caller(&self) -> Caller {
        if self.platform_admin {
            Caller::PlatformAdmin {
                user: self.id.clone(),
            }
        } else {
            Caller::Member {
                user: self.id.clone(),
                org: self.org_id.clone(),
                role: self.role,
            }
        }
    }
}
