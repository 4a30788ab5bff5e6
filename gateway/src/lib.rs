//! The reference Switchboard gateway and the gateway protocol's client library (SPEC §9):
//! an MQTT link to the broker, WebRTC sessions negotiated through it, and TCP forwarded
//! through the resulting DataChannels. `docs/gateway.md` describes the options and choices.

pub mod gateway;
pub mod options;
pub mod peer;
pub mod signaling;
pub mod tunnel;

pub use gateway::{Exit, Report, run};
pub use options::{Forward, Options, SecretSource, Side};
