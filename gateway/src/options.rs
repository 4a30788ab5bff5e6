//! What a gateway is told at start: where the broker is, who it is, where its secret comes
//! from, what it forwards, and the WebRTC tuning (see `docs/gateway.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The side a gateway plays (SPEC §9): the source offers, the target answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The offerer; listens locally and forwards accepted TCP connections.
    Source,
    /// The answerer; connects each forwarded TCP connection to a local service.
    Target,
}

impl Side {
    /// `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

impl std::str::FromStr for Side {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "source" => Ok(Side::Source),
            "target" => Ok(Side::Target),
            other => Err(format!("side must be source or target, not {other:?}")),
        }
    }
}

/// Where the shared secret is read from. Never a command-line argument: those show in `ps`.
/// It is read again before every reconnection, so a rotated secret is picked up by
/// rewriting the file.
#[derive(Clone)]
pub enum SecretSource {
    /// A file holding the secret (surrounding whitespace ignored).
    File(PathBuf),
    /// The secret itself, taken from an environment variable at start.
    Value(String),
}

/// Never shows the secret itself.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl SecretSource {
    /// The current secret.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            SecretSource::File(path) => Ok(std::fs::read_to_string(path)?.trim().to_owned()),
            SecretSource::Value(secret) => Ok(secret.clone()),
        }
    }
}

/// What the gateway forwards.
#[derive(Debug, Clone)]
pub enum Forward {
    /// Source: accept TCP connections here and carry each through the tunnel.
    Listen(SocketAddr),
    /// Target: connect each tunnelled TCP connection to this `host:port`.
    Connect(String),
    /// Signaling and the DataChannel only (tests, diagnostics).
    None,
}

/// Everything a gateway needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `mqtts://host:port` or `wss://host:port/mqtt`.
    pub broker: String,
    /// PEM of the CA the broker's certificate is checked against.
    pub ca_pem: Vec<u8>,
    /// The connection id.
    pub connection_id: String,
    /// The side this gateway plays.
    pub side: Side,
    /// The shared secret's source.
    pub secret: SecretSource,
    /// What is forwarded.
    pub forward: Forward,
    /// ICE transport policy `relay`: only TURN candidates are used.
    pub relay_only: bool,
    /// Local UDP address WebRTC binds (`0.0.0.0:0` = every interface, ephemeral port).
    pub udp_bind: SocketAddr,
    /// MQTT keep-alive (5–300 s).
    pub keep_alive: Duration,
    /// Period of the driver kicker (`docs/gateway.md`); zero turns it off.
    pub kicker: Duration,
    /// ICE connectivity check interval while checking.
    pub ice_check_interval: Duration,
    /// Upper bound of the jittered reconnection / re-offer backoff.
    pub max_backoff: Duration,
    /// Bytes a DataChannel may hold unacknowledged before a sender waits (back-pressure).
    pub send_buffer: usize,
}

impl Options {
    /// Options with the documented defaults for everything but identity and broker.
    pub fn new(
        broker: impl Into<String>,
        ca_pem: Vec<u8>,
        connection_id: impl Into<String>,
        side: Side,
        secret: SecretSource,
    ) -> Options {
        Options {
            broker: broker.into(),
            ca_pem,
            connection_id: connection_id.into(),
            side,
            secret,
            forward: Forward::None,
            relay_only: false,
            udp_bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            keep_alive: Duration::from_secs(30),
            kicker: Duration::from_millis(2),
            ice_check_interval: Duration::from_millis(20),
            max_backoff: Duration::from_secs(30),
            send_buffer: 1 << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let shown = format!("{:?}", SecretSource::Value("sbs_very_secret".into()));
        assert!(!shown.contains("very_secret"), "{shown}");
    }
}
