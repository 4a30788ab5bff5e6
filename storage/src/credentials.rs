//! The credentials Switchboard hands out: a connection's shared secret (`sbs_…`), a user's API
//! token (`sbt_…`) and a plugin's single-use registration token (`sbr_…`). Each is its prefix
//! and the unpadded base64url of 32 random bytes. None of them shows its value in `Debug`,
//! and none implements `Display`: [`SharedSecret::as_str`] and friends are the explicit reveal.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// Random bytes behind every credential.
const CREDENTIAL_BYTES: usize = 32;

/// Why a string is not a credential of the expected kind. Never echoes the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The string does not start with the credential's prefix.
    #[error("expected a credential starting with `{expected}`")]
    WrongPrefix {
        /// The required prefix, e.g. `sbs_`.
        expected: &'static str,
    },
    /// The part after the prefix is not base64url of 32 bytes.
    #[error("malformed `{prefix}` credential")]
    Malformed {
        /// The credential's prefix.
        prefix: &'static str,
    },
}

macro_rules! define_credential {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The prefix, including the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh credential from 32 random bytes.
            pub fn generate() -> Self {
                let mut bytes = [0u8; CREDENTIAL_BYTES];
                rand::rng().fill_bytes(&mut bytes);
                Self(format!("{}{}", $prefix, URL_SAFE_NO_PAD.encode(bytes)))
            }

            /// The credential's text. This reveals it: only hand it to the party it is for.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = CredentialError;

            fn from_str(s: &str) -> Result<Self, CredentialError> {
                let rest = s
                    .strip_prefix($prefix)
                    .ok_or(CredentialError::WrongPrefix { expected: $prefix })?;
                let malformed = CredentialError::Malformed { prefix: $prefix };
                let bytes = URL_SAFE_NO_PAD.decode(rest).map_err(|_| malformed.clone())?;
                if bytes.len() != CREDENTIAL_BYTES {
                    return Err(malformed);
                }
                Ok(Self(s.to_owned()))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({}<redacted>)", stringify!($name), $prefix)
            }
        }
    };
}

define_credential!(
    /// A connection's shared secret (SPEC §7): both gateways authenticate with it.
    SharedSecret, "sbs_"
);
define_credential!(
    /// A user's API bearer token (SPEC §8); stored only as a keyed hash.
    ApiToken, "sbt_"
);
define_credential!(
    /// A single-use token a gateway plugin exchanges for its secret (SPEC §8).
    RegistrationToken, "sbr_"
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_parse_back() {
        let s = SharedSecret::generate();
        assert!(s.as_str().starts_with("sbs_"));
        assert_eq!(s.as_str().len(), 4 + 43);
        assert_eq!(s.as_str().parse::<SharedSecret>().unwrap(), s);
        let t = ApiToken::generate();
        assert!(t.as_str().starts_with("sbt_"));
        assert_eq!(t.as_str().parse::<ApiToken>().unwrap(), t);
        let r = RegistrationToken::generate();
        assert!(r.as_str().starts_with("sbr_"));
        assert_eq!(r.as_str().parse::<RegistrationToken>().unwrap(), r);
        assert_ne!(SharedSecret::generate(), s);
    }

    #[test]
    fn wrong_prefix_and_bad_bodies_are_refused() {
        let t = ApiToken::generate();
        assert_eq!(
            t.as_str().parse::<SharedSecret>(),
            Err(CredentialError::WrongPrefix { expected: "sbs_" })
        );
        for bad in [
            "sbs_",
            "sbs_short",
            "sbs_!!!!",
            &format!("sbs_{}", "A".repeat(44)),
        ] {
            assert_eq!(
                bad.parse::<SharedSecret>(),
                Err(CredentialError::Malformed { prefix: "sbs_" }),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_value() {
        let s = SharedSecret::generate();
        let body = &s.as_str()[4..];
        assert_eq!(format!("{s:?}"), "SharedSecret(sbs_<redacted>)");
        let err = format!(
            "{}",
            format!("{}x", s.as_str())
                .parse::<SharedSecret>()
                .unwrap_err()
        );
        assert!(!err.contains(body));
        let t = ApiToken::generate();
        assert!(!format!("{t:?}").contains(&t.as_str()[4..]));
    }
}
