//! Switchboard's embedded MQTT broker (DESIGN §2, SPEC §9): its own session tasks on the
//! rumqtt project's MQTT codec, one per gateway, over TLS (and plain TCP when configured).
//! Each session authenticates its CONNECT through the service, answers refusals with the
//! SPEC's CONNACK codes, enforces keep-alive and the two-topic ACL, reports presence, sends
//! `welcome`, and can be kicked or taken over. Gateways behind HTTP-only proxies connect
//! over WebSocket/TLS ([`websocket`]).
//!
//! Modules: [`listener`] (accept loops, TLS, the connection cap), [`websocket`] (MQTT over
//! WebSocket: the handshake and a byte-stream adapter), [`session`] (one gateway),
//! [`codec`] (MQTT 3.1.1 and 5 framing), [`acl`] (the topics), [`messages`] (JSON on `rx`),
//! [`registry`] (live sessions and the [`BrokerSink`]), [`settings`], [`error`].

pub mod acl;
pub mod admission;
pub mod codec;
pub mod error;
pub mod listener;
pub mod messages;
pub mod registry;
pub mod session;
pub mod settings;
pub mod websocket;

pub use error::BrokerError;
pub use listener::{Bound, Broker};
pub use registry::{BrokerSink, LiveSessions};
pub use settings::BrokerSettings;
