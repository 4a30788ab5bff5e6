//! Errors of opening a store ([`OpenError`]) and of working inside transactions
//! ([`StoreError`]). Messages name the file, table or kind of row involved and never a secret,
//! token, e-mail address or other row content.

use std::path::PathBuf;

/// Why a transaction or a query failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, a full disk, a damaged page); `context` says what the store was doing.
    #[error("storage failure while {context}: {source}")]
    Db {
        /// What the store was doing, e.g. `reading table organizations`.
        context: &'static str,
        /// The redb error.
        #[source]
        source: redb::Error,
    },
    /// A value could not be serialized (should not happen for the domain types).
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// The kind of value.
        what: &'static str,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A stored row cannot be decoded: the file was altered or written by an incompatible
    /// build. The row is left as it is.
    #[error("stored {what} `{key}` is unreadable: {detail}")]
    Corrupt {
        /// The kind of row, e.g. `organization`.
        what: &'static str,
        /// The row's key (an id or a hash, never a secret).
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A unique index already holds the value for another entity (slug, e-mail, pending
    /// request for the pair, active agreement for the pair). Nothing was written by the call.
    #[error("{what} already exists")]
    Conflict {
        /// What is taken, e.g. `organization slug`.
        what: &'static str,
    },
    /// The sealed copy of a connection's secret failed authentication: it was altered, or it
    /// was sealed under another master key. Rotate the secret to recover.
    #[error("sealed secret of connection {connection} failed authentication")]
    SealedSecretInvalid {
        /// The connection id.
        connection: String,
    },
}

impl StoreError {
    /// Wraps a redb error with what the store was doing.
    pub(crate) fn db(context: &'static str) -> impl FnOnce(redb::Error) -> StoreError {
        move |source| StoreError::Db { context, source }
    }
}

/// Maps any redb error type into [`StoreError::Db`] with a context.
pub(crate) trait DbContext<T> {
    /// Adds what the store was doing.
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> DbContext<T> for Result<T, E> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::db(context)(e.into()))
    }
}

/// Why [`crate::Store::open`] refused or failed to open a store. In every case the file is
/// left as it was found: a store is never re-initialized over an existing file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be read, written or created.
    #[error("cannot open store {}: {source}", path.display())]
    Io {
        /// The store file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a readable redb database (truncated, overwritten, damaged pages).
    #[error(
        "store {} is corrupted or truncated ({detail}); it was left untouched — restore it from a backup",
        path.display()
    )]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
    /// Another process (or another `Store` in this process) has the file open.
    #[error("store {} is already open by another process or handle", path.display())]
    Locked {
        /// The store file.
        path: PathBuf,
    },
    /// The file was written with another layout version.
    #[error(
        "store {} has schema version {}, this build needs {expected}",
        path.display(),
        found.map_or_else(|| "none (missing or unreadable)".to_owned(), |v| v.to_string())
    )]
    SchemaMismatch {
        /// The store file.
        path: PathBuf,
        /// The version found, `None` if missing or unreadable.
        found: Option<u32>,
        /// [`crate::SCHEMA_VERSION`].
        expected: u32,
    },
    /// The store was created with another master key: the key file is not the right one.
    #[error(
        "store {} was created with a different master key; check the configured key file",
        path.display()
    )]
    WrongKey {
        /// The store file.
        path: PathBuf,
    },
    /// The redb file format is too old or too new for this build's redb.
    #[error("store {} uses an unsupported redb file format: {detail}", path.display())]
    Unsupported {
        /// The store file.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
    /// The file opened, but initializing or checking it failed.
    #[error("store {}: {source}", path.display())]
    Store {
        /// The store file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: Box<StoreError>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn errors_are_send_and_sync() {
        assert_send_sync::<StoreError>();
        assert_send_sync::<OpenError>();
    }

    #[test]
    fn schema_mismatch_message_names_both_versions() {
        let e = OpenError::SchemaMismatch {
            path: PathBuf::from("/d/store.redb"),
            found: Some(7),
            expected: 1,
        };
        assert_eq!(
            e.to_string(),
            "store /d/store.redb has schema version 7, this build needs 1"
        );
        let e = OpenError::SchemaMismatch {
            path: PathBuf::from("/d/store.redb"),
            found: None,
            expected: 1,
        };
        assert!(e.to_string().contains("none (missing or unreadable)"));
    }
}
