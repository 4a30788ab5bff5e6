//! `listeners.json`: the addresses the server actually bound (port 0 binds an ephemeral port),
//! written once the server is ready so scripts and tests can find it. SPEC §11 fixes the shape.

use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use crate::data_dir::{LISTENERS_FILE, write_atomic};

/// Bound addresses; `None` for a listener that is off or not built yet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listeners {
    /// The HTTP API.
    pub http: Option<SocketAddr>,
    /// MQTT over TLS.
    pub mqtt_tls: Option<SocketAddr>,
    /// MQTT over WebSocket/TLS.
    pub mqtt_wss: Option<SocketAddr>,
    /// Plain MQTT (development and benchmarks).
    pub mqtt_tcp: Option<SocketAddr>,
    /// The TURN relay (UDP).
    pub turn: Option<SocketAddr>,
}

impl Listeners {
    /// Writes `<data_dir>/listeners.json` atomically.
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&data_dir.join(LISTENERS_FILE), &json, 0o644)
    }
}
