//! The relay's settings (the `turn` configuration section plus the shared secret).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Where the relay listens and what it enforces.
#[derive(Clone)]
pub struct RelaySettings {
    /// UDP address of the TURN listener.
    pub listen: SocketAddr,
    /// `host:port` put in TURN URLs; `None` = the bound listen address.
    pub advertise: Option<String>,
    /// The IP relayed addresses are announced with (XOR-RELAYED-ADDRESS).
    pub relay_ip: IpAddr,
    /// Realm of the authentication challenge.
    pub realm: String,
    /// The shared TURN REST secret.
    pub secret: Vec<u8>,
    /// Lifetime of issued credentials (to tell when one was issued from its expiry).
    pub credential_ttl: Duration,
    /// Lowest relayed port.
    pub port_min: u16,
    /// Highest relayed port.
    pub port_max: u16,
    /// Allocations one connection may hold.
    pub max_allocations_per_connection: usize,
    /// How often allocation counts and relayed bytes are collected.
    pub accounting_interval: Duration,
}

impl std::fmt::Debug for RelaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySettings")
            .field("listen", &self.listen)
            .field("advertise", &self.advertise)
            .field("relay_ip", &self.relay_ip)
            .field("realm", &self.realm)
            .field("credential_ttl", &self.credential_ttl)
            .field("ports", &(self.port_min, self.port_max))
            .finish_non_exhaustive()
    }
}

/// How often the accounting task runs by default.
pub const ACCOUNTING_INTERVAL: Duration = Duration::from_secs(2);
