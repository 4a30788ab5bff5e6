//! Who is acting: a member of an organization with a role, a platform admin, or the system
//! itself (timers, the broker, recovery). Every rule function takes a [`Caller`].

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, UserId};

/// A member's role inside their organization (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Full control of the organization, including other owners.
    Owner,
    /// Manages everything except owners.
    Admin,
    /// Reads the organization's resources.
    Member,
}

impl Role {
    /// The wire name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// The acting party of a request or an internal event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A user acting for their own organization.
    Member {
        /// The user.
        user: UserId,
        /// The organization the user belongs to.
        org: OrgId,
        /// The user's role there.
        role: Role,
    },
    /// A platform administrator acting through the admin endpoints.
    PlatformAdmin {
        /// The administrator's user id.
        user: UserId,
    },
    /// Switchboard itself: timers, the broker, the relay, recovery on start.
    System,
}

impl Caller {
    /// The caller's organization, if it acts for one.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Caller::Member { org, .. } => Some(org),
            _ => None,
        }
    }

    /// The principal written into audit events for this caller.
    pub fn principal(&self) -> Principal {
        match self {
            Caller::Member { user, .. } | Caller::PlatformAdmin { user } => {
                Principal::User(user.clone())
            }
            Caller::System => Principal::System,
        }
    }
}

/// Who did something, as recorded on entities and in the audit log: a user id or `system`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A user.
    User(UserId),
    /// Switchboard itself.
    System,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::User(u) => s.serialize_str(u.as_str()),
            Principal::System => s.serialize_str("system"),
        }
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "system" {
            Ok(Principal::System)
        } else {
            s.parse()
                .map(Principal::User)
                .map_err(serde::de::Error::custom)
        }
    }
}
