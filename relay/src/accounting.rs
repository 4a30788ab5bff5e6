//! Allocation counts and relayed bytes per connection. The `turn` crate keeps relayed bytes
//! per allocation, counting what the gateway sends through it (client → peer; a relayed
//! tunnel's other direction is counted on the other side's allocation when both relay); this task reads them every [`RelaySettings::accounting_interval`] (and
//! the final count of each closed allocation) and turns them into per-connection metrics:
//! `switchboard_relay_bytes_total{connection}`, `switchboard_relay_connection_allocations{connection}`
//! and `switchboard_relay_allocations` (all connections).
//!
//! [`RelaySettings::accounting_interval`]: crate::RelaySettings::accounting_interval

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use switchboard_actors::turn::parse_username;
use switchboard_domain::ids::ConnectionId;
use tokio::sync::mpsc;
use turn::allocation::AllocationInfo;
use turn::allocation::five_tuple::FiveTuple;
use turn::server::Server;

use crate::auth::{Auth, unix_now};

/// Relayed bytes per connection since start (also exported as metrics).
#[derive(Debug, Default)]
pub struct Ledger {
    bytes: DashMap<ConnectionId, u64>,
}

impl Ledger {
    /// Bytes relayed for `connection` so far.
    pub fn relayed_bytes(&self, connection: &ConnectionId) -> u64 {
        self.bytes.get(connection).map(|b| *b).unwrap_or(0)
    }

    fn add(&self, connection: ConnectionId, bytes: u64) {
        if bytes == 0 {
            return;
        }
        metrics::counter!("switchboard_relay_bytes_total", "connection" => connection.to_string())
            .increment(bytes);
        *self.bytes.entry(connection).or_default() += bytes;
    }
}

/// Runs until the server closes: polls live allocations and drains closed ones.
pub async fn run(
    server: Arc<Server>,
    auth: Arc<Auth>,
    ledger: Arc<Ledger>,
    mut closed: mpsc::Receiver<AllocationInfo>,
    interval: Duration,
) {
    // Bytes already counted per live allocation.
    let mut seen: HashMap<FiveTuple, usize> = HashMap::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            info = closed.recv() => {
                let Some(info) = info else { return };
                let before = seen.remove(&info.five_tuple).unwrap_or(0);
                if let Some((_, connection, _)) = parse_username(&info.username) {
                    ledger.add(connection, info.relayed_bytes.saturating_sub(before) as u64);
                }
            }
            _ = tick.tick() => {
                let Ok(live) = server.get_allocations_info(None).await else { return };
                let mut per_connection: HashMap<ConnectionId, usize> = HashMap::new();
                for (tuple, info) in &live {
                    let Some((_, connection, _)) = parse_username(&info.username) else {
                        continue;
                    };
                    *per_connection.entry(connection.clone()).or_default() += 1;
                    let before = seen.insert(*tuple, info.relayed_bytes).unwrap_or(0);
                    ledger.add(connection, info.relayed_bytes.saturating_sub(before) as u64);
                }
                seen.retain(|tuple, _| live.contains_key(tuple));
                // Per-connection gauges; a connection that had allocations and has none now
                // is set to 0 once, then forgotten.
                for entry in auth.allocations.iter() {
                    if !per_connection.contains_key(entry.key()) {
                        metrics::gauge!("switchboard_relay_connection_allocations", "connection" => entry.key().to_string()).set(0.0);
                    }
                }
                auth.allocations.clear();
                for (connection, n) in per_connection {
                    metrics::gauge!("switchboard_relay_connection_allocations", "connection" => connection.to_string()).set(n as f64);
                    auth.allocations.insert(connection, n);
                }
                metrics::gauge!("switchboard_relay_allocations").set(live.len() as f64);
                auth.prune(unix_now());
            }
        }
    }
}
