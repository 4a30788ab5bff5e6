//! The broker's listeners and limits (from the `mqtt` configuration section).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::PACKET_OVERHEAD_BYTES;

/// SPEC §9: keep-alive accepted from 5 s…
pub const KEEPALIVE_MIN_SECS: u16 = 5;
/// …to 300 s; a request outside is clamped (a v5 client is told the value in force).
pub const KEEPALIVE_MAX_SECS: u16 = 300;
/// Silence tolerated, as a multiple of the keep-alive (MQTT's 1.5).
pub const KEEPALIVE_GRACE: f32 = 1.5;
/// Largest gateway message (SPEC §9: 64 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Time from TCP accept to a complete CONNECT (TLS and WebSocket handshakes included).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent sessions across all listeners.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Malformed messages per minute that disconnect a gateway (SPEC §9: more than 50).
pub const MALFORMED_PER_MINUTE: u32 = 50;
/// Connection attempts accepted from one IP address per minute, before any TLS work.
pub const CONNECT_ATTEMPTS_PER_IP_PER_MINUTE: u32 = 60;
/// A packet this many times the payload limit is still read (so an oversized message gets
/// an `error` instead of a dropped connection); anything larger closes the session.
pub const OVERSIZE_READ_FACTOR: usize = 4;

/// Where the broker listens and what it enforces.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// MQTT over TLS.
    pub tls_listen: SocketAddr,
    /// MQTT over WebSocket/TLS (path `/mqtt`, same certificate); `None` = off.
    pub wss_listen: Option<SocketAddr>,
    /// Plain MQTT, development and benchmarks only.
    pub tcp_listen: Option<SocketAddr>,
    /// Certificate and key of the TLS and WebSocket/TLS listeners.
    pub tls: Arc<rustls::ServerConfig>,
    /// See [`HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`KEEPALIVE_MIN_SECS`].
    pub keepalive_min: u16,
    /// See [`KEEPALIVE_MAX_SECS`].
    pub keepalive_max: u16,
    /// See [`KEEPALIVE_GRACE`].
    pub keepalive_grace: f32,
    /// See [`MAX_PAYLOAD_BYTES`].
    pub max_payload: usize,
    /// See [`MALFORMED_PER_MINUTE`].
    pub malformed_per_minute: u32,
    /// See [`CONNECT_ATTEMPTS_PER_IP_PER_MINUTE`].
    pub connect_attempts_per_ip_per_minute: u32,
}

impl BrokerSettings {
    /// Defaults for everything but the addresses and the certificate.
    pub fn new(tls_listen: SocketAddr, tls: Arc<rustls::ServerConfig>) -> Self {
        BrokerSettings {
            tls_listen,
            wss_listen: None,
            tcp_listen: None,
            tls,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            keepalive_min: KEEPALIVE_MIN_SECS,
            keepalive_max: KEEPALIVE_MAX_SECS,
            keepalive_grace: KEEPALIVE_GRACE,
            max_payload: MAX_PAYLOAD_BYTES,
            malformed_per_minute: MALFORMED_PER_MINUTE,
            connect_attempts_per_ip_per_minute: CONNECT_ATTEMPTS_PER_IP_PER_MINUTE,
        }
    }

    /// Largest packet read: [`OVERSIZE_READ_FACTOR`] × the payload limit plus header room.
    pub fn max_packet(&self) -> usize {
        self.max_payload
            .saturating_mul(OVERSIZE_READ_FACTOR)
            .saturating_add(PACKET_OVERHEAD_BYTES)
    }
}
