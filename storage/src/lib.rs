//! Switchboard's store: the domain entities of SPEC §1 in one redb file, with secondary
//! indexes kept consistent by every write, shared secrets kept as a keyed verifier plus a
//! sealed copy (SPEC §7), API and registration tokens kept only as keyed hashes (SPEC §8), and
//! an append-only audit log chained with a keyed hash so edits and removals are detectable.
//!
//! Open a [`Store`] with a [`MasterKey`], read through [`Store::read`] and write through
//! [`Store::write`], whose closure commits on `Ok` and aborts on `Err`. Every getter lives on
//! the [`Reader`] trait, implemented by both [`ReadTx`] and [`WriteTx`]. The API is blocking
//! (redb fsyncs on commit): call it off async worker threads.
//!
//! Modules:
//! - [`store`]: opening the file (schema version, key check, file lock) and transactions;
//! - [`keys`]: the master key file and the sub-keys derived from it;
//! - [`credentials`]: shared secrets, API tokens and registration tokens;
//! - [`reader`]: the getters and index queries shared by both transaction kinds;
//! - [`write`]: puts and deletes of entities, which maintain the indexes;
//! - [`secrets`]: verifier and sealed plaintext of connection secrets;
//! - [`tokens`]: hashed API and registration tokens;
//! - [`audit`]: the hash-chained audit log and its verification;
//! - [`error`]: the error types of opening and of transactions;
//! - `schema` and `index` (private): table definitions and index entries per entity.

pub mod audit;
pub mod credentials;
pub mod error;
mod index;
pub mod keys;
pub mod reader;
mod schema;
pub mod secrets;
pub mod store;
pub mod tokens;
pub mod write;

pub use audit::{AuditChainError, AuditEntry, AuditProblem};
pub use credentials::{ApiToken, CredentialError, RegistrationToken, SharedSecret};
pub use error::{OpenError, StoreError};
pub use keys::{KeyError, MasterKey};
pub use reader::{ReadTx, Reader};
pub use schema::SCHEMA_VERSION;
pub use store::Store;
pub use tokens::{RegistrationRecord, TokenRecord};
pub use write::WriteTx;
