//! Opening the store file and running transactions. A new file gets every table, the schema
//! version, the master key's fingerprint and an empty audit head in its first commit; an
//! existing file must carry the same schema version and fingerprint, or it is refused and left
//! untouched. redb verifies every page checksum on open, so a damaged or truncated file is a
//! clear [`OpenError`], and locks the file, so a second opener is [`OpenError::Locked`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    Builder, Database, DatabaseError, MultimapTableHandle, ReadableDatabase, StorageError,
    TableHandle,
};

use crate::audit::Head;
use crate::error::{DbContext, OpenError, StoreError};
use crate::keys::{MasterKey, SubKeys};
use crate::reader::ReadTx;
use crate::schema::{self, SCHEMA_VERSION};
use crate::write::WriteTx;

/// The store: one redb file plus the keys derived from the master key. `Send + Sync`; share
/// it behind an `Arc`. Dropping it closes the file.
pub struct Store {
    /// The database; redb allows one write transaction at a time and any number of readers.
    db: Database,
    /// Keys for verifiers, token hashes, the audit chain and sealing, shared with read
    /// transactions.
    keys: Arc<SubKeys>,
    /// The file, for messages.
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store at `path`, creating it if there is no file there. An existing file must
    /// have been created with the same master key and schema version.
    pub fn open(path: &Path, key: MasterKey) -> Result<Store, OpenError> {
        let exists = path.try_exists().map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })?;
        if exists && file_is_empty(path)? {
            return Err(OpenError::Corrupt {
                path: path.to_owned(),
                detail: "the file is empty".to_owned(),
            });
        }
        // Debug builds of redb assert on some impossible on-disk states; a damaged file must
        // still be an error to the caller, never a crash.
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let mut builder = Builder::new();
            builder.set_check_integrity_on_open(true);
            if exists {
                builder.open(path)
            } else {
                builder.create(path)
            }
        }));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(classify(path, e)),
            Err(_) => {
                return Err(OpenError::Corrupt {
                    path: path.to_owned(),
                    detail: "redb could not interpret the file".to_owned(),
                });
            }
        };
        let store = Store {
            db,
            keys: Arc::new(key.derive()),
            path: path.to_owned(),
        };
        if store.is_blank()? {
            store.initialize(&key)?;
            tracing::info!(path = %path.display(), schema = SCHEMA_VERSION, "created store");
        } else {
            store.check(&key)?;
            store.ensure_tables()?;
            tracing::info!(path = %path.display(), schema = SCHEMA_VERSION, "opened store");
        }
        Ok(store)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read-only snapshot.
    pub fn read(&self) -> Result<ReadTx, StoreError> {
        let tx = self.db.begin_read().ctx("starting a read transaction")?;
        Ok(ReadTx {
            tx,
            keys: Arc::clone(&self.keys),
        })
    }

    /// Runs `f` in a write transaction: commits (durably, with fsync) when it returns `Ok`,
    /// discards everything it wrote when it returns `Err`. Blocks while another write
    /// transaction is running.
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
        E: From<StoreError>,
    {
        let tx = self.db.begin_write().ctx("starting a write transaction")?;
        let mut wtx = WriteTx {
            tx,
            keys: &self.keys,
        };
        match f(&mut wtx) {
            Ok(value) => {
                wtx.tx.commit().ctx("committing")?;
                Ok(value)
            }
            Err(e) => {
                if let Err(abort) = wtx.tx.abort() {
                    // Nothing was committed either way; the abort only frees pages early.
                    tracing::warn!(path = %self.path.display(), error = %abort, "aborting a write transaction failed");
                }
                Err(e)
            }
        }
    }

    /// Whether the file holds no table at all: just created, or created by a run that died
    /// before its first commit. Only such a file is initialized.
    fn is_blank(&self) -> Result<bool, OpenError> {
        let tx = self
            .db
            .begin_read()
            .ctx("starting a read transaction")
            .map_err(|e| self.open_err(e))?;
        let tables = tx
            .list_tables()
            .ctx("listing tables")
            .map_err(|e| self.open_err(e))?
            .count();
        let multimaps = tx
            .list_multimap_tables()
            .ctx("listing tables")
            .map_err(|e| self.open_err(e))?
            .count();
        Ok(tables == 0 && multimaps == 0)
    }

    fn initialize(&self, key: &MasterKey) -> Result<(), OpenError> {
        self.write(|tx: &mut WriteTx<'_>| {
            create_tables(tx)?;
            tx.insert_row(
                schema::META,
                schema::META_SCHEMA_VERSION,
                &SCHEMA_VERSION.to_be_bytes(),
            )?;
            tx.insert_row(
                schema::META,
                schema::META_KEY_FINGERPRINT,
                &key.fingerprint(),
            )?;
            tx.insert_row(
                schema::META,
                schema::META_AUDIT_HEAD,
                &Head::EMPTY.encode(&self.keys.audit),
            )
        })
        .map_err(|e| self.open_err(e))
    }

    /// Refuses a file of another schema version or master key, before anything is written.
    fn check(&self, key: &MasterKey) -> Result<(), OpenError> {
        let tx = self
            .db
            .begin_read()
            .ctx("starting a read transaction")
            .map_err(|e| self.open_err(e))?;
        let has_meta = tx
            .list_tables()
            .ctx("listing tables")
            .map_err(|e| self.open_err(e))?
            .any(|t| t.name() == schema::META.name());
        let mismatch = |found| OpenError::SchemaMismatch {
            path: self.path.clone(),
            found,
            expected: SCHEMA_VERSION,
        };
        if !has_meta {
            return Err(mismatch(None));
        }
        let meta = tx
            .open_table(schema::META)
            .ctx("opening table meta")
            .map_err(|e| self.open_err(e))?;
        let get = |name: &str| -> Result<Option<Vec<u8>>, OpenError> {
            let v = meta
                .get(name)
                .ctx("reading table meta")
                .map_err(|e| self.open_err(e))?;
            Ok(v.map(|v| v.value().to_vec()))
        };
        let found = get(schema::META_SCHEMA_VERSION)?
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map(u32::from_be_bytes);
        if found != Some(SCHEMA_VERSION) {
            return Err(mismatch(found));
        }
        let fingerprint = get(schema::META_KEY_FINGERPRINT)?;
        let matches = fingerprint.is_some_and(|f| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                f.as_slice(),
                &key.fingerprint()[..],
            ))
        });
        if !matches {
            return Err(OpenError::WrongKey {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Creates any table this build knows and the file lacks (none, for a file of the same
    /// schema version written by this build), without a commit when nothing is missing.
    fn ensure_tables(&self) -> Result<(), OpenError> {
        let tx = self
            .db
            .begin_read()
            .ctx("starting a read transaction")
            .map_err(|e| self.open_err(e))?;
        let mut present: Vec<String> = tx
            .list_tables()
            .ctx("listing tables")
            .map_err(|e| self.open_err(e))?
            .map(|t| t.name().to_owned())
            .collect();
        present.extend(
            tx.list_multimap_tables()
                .ctx("listing tables")
                .map_err(|e| self.open_err(e))?
                .map(|t| t.name().to_owned()),
        );
        drop(tx);
        let missing = all_table_names().any(|name| !present.iter().any(|p| p == name));
        if missing {
            self.write(create_tables).map_err(|e| self.open_err(e))?;
        }
        Ok(())
    }

    fn open_err(&self, source: StoreError) -> OpenError {
        OpenError::Store {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }
}

fn file_is_empty(path: &Path) -> Result<bool, OpenError> {
    std::fs::metadata(path)
        .map(|m| m.len() == 0)
        .map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })
}

fn all_table_names() -> impl Iterator<Item = &'static str> {
    schema::ROW_TABLES
        .iter()
        .map(|t| t.name())
        .chain(schema::UNIQUE_TABLES.iter().map(|t| t.name()))
        .chain(schema::MULTI_TABLES.iter().map(|t| t.name()))
        .chain(schema::ORDERED_TABLES.iter().map(|t| t.name()))
        .chain([schema::AUDIT.name(), schema::AUDIT_BY_ORG.name()])
}

/// Opens (and so creates) every table, since read transactions cannot create them.
fn create_tables(tx: &mut WriteTx<'_>) -> Result<(), StoreError> {
    for t in schema::ROW_TABLES {
        tx.tx.open_table(t).ctx("creating a table")?;
    }
    for t in schema::UNIQUE_TABLES {
        tx.tx.open_table(t).ctx("creating a table")?;
    }
    for t in schema::MULTI_TABLES {
        tx.tx.open_multimap_table(t).ctx("creating a table")?;
    }
    for t in schema::ORDERED_TABLES {
        tx.tx.open_table(t).ctx("creating a table")?;
    }
    tx.tx.open_table(schema::AUDIT).ctx("creating a table")?;
    tx.tx
        .open_table(schema::AUDIT_BY_ORG)
        .ctx("creating a table")?;
    Ok(())
}

/// Maps redb's open errors to what an operator can act on.
fn classify(path: &Path, e: DatabaseError) -> OpenError {
    let path = path.to_owned();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            OpenError::Locked { path }
        }
        DatabaseError::UpgradeRequired(version) => OpenError::Unsupported {
            path,
            detail: format!("file format version {version} needs an upgrade"),
        },
        // redb reports a short file as UnexpectedEof and a foreign one as InvalidData.
        DatabaseError::Storage(StorageError::Io(source))
            if !matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            OpenError::Io { path, source }
        }
        other => OpenError::Corrupt {
            path,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::reader::Reader;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn store_is_shareable_across_threads() {
        assert_send_sync::<Store>();
        assert_send::<ReadTx>();
    }

    #[test]
    fn app_meta_cannot_clobber_the_store_bookkeeping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let key = MasterKey::generate();
        let store = Store::open(&path, key.clone()).unwrap();
        store
            .write(|tx| {
                tx.put_meta(schema::META_SCHEMA_VERSION, b"garbage")?;
                tx.put_meta(schema::META_KEY_FINGERPRINT, b"garbage")?;
                tx.put_meta(schema::META_AUDIT_HEAD, b"garbage")
            })
            .unwrap();
        drop(store);
        let store = Store::open(&path, key).unwrap();
        let r = store.read().unwrap();
        assert_eq!(r.verify_audit().unwrap(), 0);
        assert_eq!(
            r.get_meta(schema::META_SCHEMA_VERSION).unwrap().as_deref(),
            Some(&b"garbage"[..])
        );
    }

    #[test]
    fn debug_shows_only_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let store = Store::open(&path, MasterKey::generate()).unwrap();
        assert_eq!(format!("{store:?}"), format!("Store {{ path: {path:?} }}"));
        assert_eq!(format!("{:?}", store.read().unwrap()), "ReadTx");
    }
}
