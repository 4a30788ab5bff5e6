//! The master key: 32 random bytes kept in a key file (one line of standard base64, mode
//! 0600), from which every key the store uses is derived with HMAC-SHA256 under a fixed
//! label. A key file readable by group or others is refused rather than trusted.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Length of the master key and of every derived key, in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// Mode of a newly written key file: owner read/write only.
const KEY_FILE_MODE: u32 = 0o600;

/// Labels of the derived keys; changing one invalidates what was made with it.
const LABEL_VERIFIER: &[u8] = b"switchboard/v1/secret-verifier";
const LABEL_TOKENS: &[u8] = b"switchboard/v1/token-hash";
const LABEL_AUDIT: &[u8] = b"switchboard/v1/audit-chain";
const LABEL_SEAL: &[u8] = b"switchboard/v1/secret-seal";
const LABEL_FINGERPRINT: &[u8] = b"switchboard/v1/key-fingerprint";

/// Why a key file could not be created or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// There is no key file at the path.
    #[error("key file {} does not exist", path.display())]
    Missing {
        /// The key file.
        path: PathBuf,
    },
    /// `create` found a file already there; it is never overwritten.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// The key file can be read or written by group or others.
    #[error(
        "key file {} has mode {mode:04o}; it must not be accessible to group or others (chmod 600)",
        path.display()
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold one base64 line of 32 bytes.
    #[error("key file {} is malformed: {reason}", path.display())]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never the content).
        reason: &'static str,
    },
    /// Reading, writing or creating directories failed.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// The store's master key. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// A fresh random key, not written anywhere.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        MasterKey(bytes)
    }

    /// Generates a key and writes it to a new file at `path` with mode 0600, creating missing
    /// parent directories. An existing file is never overwritten ([`KeyError::Exists`]).
    pub fn create(path: &Path) -> Result<Self, KeyError> {
        let io_err = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(KEY_FILE_MODE)
            .open(path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    KeyError::Exists {
                        path: path.to_owned(),
                    }
                } else {
                    io_err(e)
                }
            })?;
        let key = MasterKey::generate();
        let line = format!("{}\n", STANDARD.encode(key.0));
        file.write_all(line.as_bytes()).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        tracing::info!(path = %path.display(), "created master key file");
        Ok(key)
    }

    /// Reads the key file at `path`, refusing one that group or others may access.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let meta = fs::metadata(path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                KeyError::Missing {
                    path: path.to_owned(),
                }
            } else {
                KeyError::Io {
                    path: path.to_owned(),
                    source: e,
                }
            }
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
        let malformed = |reason| KeyError::Malformed {
            path: path.to_owned(),
            reason,
        };
        if !meta.is_file() {
            return Err(malformed("not a regular file"));
        }
        let text = fs::read(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let text = std::str::from_utf8(&text).map_err(|_| malformed("not UTF-8 text"))?;
        let decoded = STANDARD
            .decode(text.trim())
            .map_err(|_| malformed("not base64"))?;
        let bytes: [u8; KEY_LEN] = decoded
            .try_into()
            .map_err(|_| malformed("the key is not 32 bytes"))?;
        Ok(MasterKey(bytes))
    }

    /// Loads the key file, or creates it if there is none. Returns whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        match MasterKey::load(path) {
            Ok(key) => Ok((key, false)),
            Err(KeyError::Missing { .. }) => match MasterKey::create(path) {
                Ok(key) => Ok((key, true)),
                // Another process created it between our two calls: use theirs.
                Err(KeyError::Exists { .. }) => MasterKey::load(path).map(|k| (k, false)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The fingerprint kept in the store so a store opened with another key is refused.
    pub(crate) fn fingerprint(&self) -> [u8; KEY_LEN] {
        hmac_sha256(&self.0, &[LABEL_FINGERPRINT])
    }

    /// The keys derived for each purpose.
    pub(crate) fn derive(&self) -> SubKeys {
        SubKeys {
            verifier: hmac_sha256(&self.0, &[LABEL_VERIFIER]),
            tokens: hmac_sha256(&self.0, &[LABEL_TOKENS]),
            audit: hmac_sha256(&self.0, &[LABEL_AUDIT]),
            seal: hmac_sha256(&self.0, &[LABEL_SEAL]),
        }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

pub(crate) use derived::SubKeys;

mod derived {
    //! Private so the type cannot be named outside the crate, though the sealed reader trait
    //! mentions it.

    use super::KEY_LEN;

    /// The keys derived from the master key, one per purpose, so a key never serves two uses.
    pub struct SubKeys {
        /// Keys the verifier of a connection secret.
        pub(crate) verifier: [u8; KEY_LEN],
        /// Keys the hash under which API and registration tokens are stored.
        pub(crate) tokens: [u8; KEY_LEN],
        /// Keys the audit chain's hashes and its head.
        pub(crate) audit: [u8; KEY_LEN],
        /// ChaCha20-Poly1305 key sealing secret plaintexts.
        pub(crate) seal: [u8; KEY_LEN],
    }

    impl std::fmt::Debug for SubKeys {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("SubKeys(<redacted>)")
        }
    }
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; KEY_LEN] {
    #[allow(
        clippy::expect_used,
        reason = "HMAC accepts keys of any length, so new_from_slice cannot fail"
    )]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn create_then_load_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/master.key");
        let key = MasterKey::create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!(key.0, loaded.0);
        assert!(matches!(
            MasterKey::create(&path),
            Err(KeyError::Exists { .. })
        ));
        assert_eq!(MasterKey::load(&path).unwrap().0, key.0, "not overwritten");
    }

    #[test]
    fn group_or_other_bits_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            match MasterKey::load(&path) {
                Err(KeyError::Permissions { mode: m, .. }) => assert_eq!(m, mode),
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(MasterKey::load(&path).is_ok());
    }

    #[test]
    fn missing_and_malformed_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.key");
        assert!(matches!(
            MasterKey::load(&path),
            Err(KeyError::Missing { .. })
        ));
        for content in ["", "not base64 !!!\n", "AAAA\n"] {
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            assert!(
                matches!(MasterKey::load(&path), Err(KeyError::Malformed { .. })),
                "{content:?}"
            );
        }
    }

    #[test]
    fn load_or_create_creates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let (a, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        let (b, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a.0, b.0);
    }

    #[test]
    fn debug_is_redacted_and_sub_keys_differ() {
        let key = MasterKey::generate();
        let shown = format!("{key:?} {:?}", key.derive());
        assert!(!shown.contains(&STANDARD.encode(key.0)));
        assert!(!shown.contains(&to_hex(&key.0)));
        let subs = key.derive();
        let all = [
            subs.verifier,
            subs.tokens,
            subs.audit,
            subs.seal,
            key.fingerprint(),
        ];
        for (i, a) in all.iter().enumerate() {
            assert_ne!(a, &key.0);
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn hex_encoding() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
