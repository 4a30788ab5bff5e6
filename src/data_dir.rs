//! The data directory: created on first start, checked to be a writable directory, and the
//! names of the files Switchboard keeps in it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The redb store inside the data dir.
pub const STORE_FILE: &str = "switchboard.redb";
/// The platform admin's API token, written once on first start (mode 0600).
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
/// The bound addresses, written once the server is ready.
pub const LISTENERS_FILE: &str = "listeners.json";

/// Why the data dir cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The path exists and is not a directory.
    #[error("data dir {0} exists and is not a directory")]
    NotADirectory(PathBuf),
    /// It could not be created.
    #[error("cannot create data dir {path}: {source}")]
    Create {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A probe file could not be written.
    #[error("data dir {path} is not writable: {source}")]
    NotWritable {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Creates the data dir if needed and proves it writable.
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    if dir.exists() && !dir.is_dir() {
        return Err(DataDirError::NotADirectory(dir.to_owned()));
    }
    fs::create_dir_all(dir).map_err(|source| DataDirError::Create {
        path: dir.to_owned(),
        source,
    })?;
    let probe = dir.join(".write-probe");
    let written = fs::File::create(&probe).and_then(|mut f| f.write_all(b"ok"));
    let _ = fs::remove_file(&probe);
    written.map_err(|source| DataDirError::NotWritable {
        path: dir.to_owned(),
        source,
    })
}

/// Writes `contents` to `path` atomically (temporary file, fsync, rename) with `mode`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
