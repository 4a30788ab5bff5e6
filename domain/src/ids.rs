//! Typed, prefixed, sortable identifiers (SPEC §1): `org_…`, `usr_…`, `srv_…` and so on.
//!
//! Each id is its type prefix, an underscore and a ULID, so ids sort by creation time and a
//! string can never be mistaken for an id of another type. Parsing checks both parts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not an id of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string does not start with the type's prefix and an underscore.
    #[error("expected an id starting with `{expected}_`")]
    WrongPrefix {
        /// The prefix this id type requires.
        expected: &'static str,
    },
    /// The part after the prefix is not a ULID.
    #[error("`{0}` is not a valid id")]
    Malformed(String),
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The type prefix, without the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id: the prefix and a new ULID (time-ordered, 80 random bits).
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, ulid::Ulid::new()))
            }

            /// The id as it appears on the wire and in storage.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(IdError::WrongPrefix { expected: $prefix })?;
                ulid::Ulid::from_string(rest).map_err(|_| IdError::Malformed(s.to_owned()))?;
                Ok(Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// An organization.
    OrgId, "org"
);
define_id!(
    /// A user account.
    UserId, "usr"
);
define_id!(
    /// An integration server.
    ServerId, "srv"
);
define_id!(
    /// A channel on a server.
    ChannelId, "ch"
);
define_id!(
    /// A peering request.
    PeeringRequestId, "pr"
);
define_id!(
    /// A peering agreement.
    AgreementId, "agr"
);
define_id!(
    /// A channel grant.
    GrantId, "gr"
);
define_id!(
    /// A connection between two servers.
    ConnectionId, "conn"
);
define_id!(
    /// An audit event.
    EventId, "evt"
);
define_id!(
    /// A notification.
    NotificationId, "ntf"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_time() {
        let a = OrgId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = OrgId::generate();
        assert!(a < b);
        assert_eq!(a.as_str().parse::<OrgId>(), Ok(a.clone()));
        assert!(a.as_str().starts_with("org_"));
    }

    #[test]
    fn wrong_prefix_and_garbage_are_refused() {
        let org = OrgId::generate();
        assert!(matches!(
            org.as_str().parse::<UserId>(),
            Err(IdError::WrongPrefix { expected: "usr" })
        ));
        assert!(matches!(
            "org_nope".parse::<OrgId>(),
            Err(IdError::Malformed(_))
        ));
        assert!("org".parse::<OrgId>().is_err());
        assert!(serde_json::from_str::<ConnectionId>("\"conn_x\"").is_err());
    }
}
