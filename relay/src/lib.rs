//! Switchboard's embedded TURN relay (SPEC §10), on the `turn` crate's UDP server. Gateways
//! whose direct path fails relay through it with short-lived credentials from `welcome`/`ice`
//! (the TURN REST scheme of coturn's `use-auth-secret`, so a coturn fleet sharing the secret
//! works too). On top of the scheme the embedded relay refuses connections that are not
//! `active`/`paused`, credentials issued before a revocation (terminate, rotate), and a
//! connection over its allocation quota; it counts allocations and relayed bytes per
//! connection; and it deletes a connection's allocations on request.
//!
//! Modules: [`auth`] (the credential and policy check), [`accounting`] (metrics),
//! [`server`] (binding and running), [`settings`].

pub mod accounting;
pub mod auth;
pub mod server;
pub mod settings;

pub use server::{Relay, RelayError, RelayHandle};
pub use settings::RelaySettings;
