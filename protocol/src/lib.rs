//! The gateway protocol (SPEC §9), shared by the broker and gateways: the two topics of a
//! gateway, and the JSON messages on them. Every message is a UTF-8 JSON object of at most
//! [`MAX_MESSAGE_BYTES`] with `"v": 1` and a `"type"`; unknown fields are ignored so the
//! protocol can grow without breaking older peers.
//!
//! Modules: [`topics`], [`to_server`] (gateway → server on `tx`), [`to_gateway`] (server →
//! gateway on `rx`).

pub mod to_gateway;
pub mod to_server;
pub mod topics;

pub use to_gateway::{ErrorCode, IceServer, ToGateway};
pub use to_server::{BadMessage, IceCandidate, ToServer, TunnelPath, TunnelState};

/// The protocol version every message carries as `"v"`.
pub const PROTOCOL_VERSION: u64 = 1;

/// Largest message payload (SPEC §9: 64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Longest signaling session id accepted.
pub const MAX_SESSION_ID_CHARS: usize = 128;
