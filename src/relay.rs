//! The embedded TURN relay as `serve` runs it: the shared TURN secret (`<data_dir>/turn-secret`,
//! created on first start, 0600, the value to give a coturn fleet as `static-auth-secret`),
//! the relay's settings from the `turn` section, and its policy (a connection may relay while
//! its status accepts gateways).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use switchboard_config::Config;
use switchboard_relay::RelaySettings;
use switchboard_relay::settings::ACCOUNTING_INTERVAL;
use switchboard_storage::{Reader, Store};

use crate::data_dir::write_atomic;

/// The TURN secret's file in the data dir.
pub const TURN_SECRET_FILE: &str = "turn-secret";

/// Reads the TURN secret, creating it on first start.
pub fn secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(TURN_SECRET_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let secret = text.trim();
        anyhow::ensure!(!secret.is_empty(), "{} is empty", path.display());
        return Ok(secret.as_bytes().to_vec());
    }
    let mut raw = [0u8; 32];
    rand::fill(&mut raw);
    let secret = base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw);
    write_atomic(&path, format!("{secret}\n").as_bytes(), 0o600)
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "TURN secret created");
    Ok(secret.into_bytes())
}

/// The relay's settings. Without `turn.advertise`, an unspecified listen address (`0.0.0.0`)
/// is announced as 127.0.0.1, which only works on this machine: production sets `advertise`.
pub fn settings(config: &Config, secret: Vec<u8>) -> RelaySettings {
    let t = &config.turn;
    let advertised_ip = t
        .advertise
        .as_deref()
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .map(|a| a.ip());
    let relay_ip = advertised_ip.unwrap_or(match t.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    });
    if t.advertise.is_none() && t.listen.ip().is_unspecified() {
        tracing::warn!(
            "turn.advertise is not set: the relay is announced as 127.0.0.1, reachable from this machine only"
        );
    }
    RelaySettings {
        listen: t.listen,
        advertise: t.advertise.clone(),
        relay_ip,
        realm: t.realm.clone(),
        secret,
        credential_ttl: Duration::from_secs(u64::from(t.credential_ttl_secs)),
        port_min: t.relay_port_min,
        port_max: t.relay_port_max,
        max_allocations_per_connection: t.max_allocations_per_connection as usize,
        accounting_interval: ACCOUNTING_INTERVAL,
    }
}

/// Whether a connection may relay: it exists and its status accepts gateways.
pub fn policy(store: Arc<Store>) -> switchboard_relay::auth::Policy {
    Arc::new(move |connection| {
        let Ok(read) = store.read() else {
            return false;
        };
        matches!(read.get_connection(connection), Ok(Some(c)) if c.status.accepts_gateways())
    })
}
