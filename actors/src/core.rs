//! What every actor and service call shares: the store, the effect sink, the clock, the tier
//! table, the limits, and the registry of live actors.

use std::sync::Arc;
use std::time::Duration;

use switchboard_domain::tiers::TierTable;

use crate::clock::Clock;
use crate::effects::EffectSink;
use crate::registry::Registry;
use crate::store::StoreHandle;

/// Limits and timings the actors enforce (from configuration).
#[derive(Debug, Clone)]
pub struct ActorSettings {
    /// Secret views admitted per window, per connection (SPEC §7: 5).
    pub secret_views: u32,
    /// The view window (60 s).
    pub secret_views_window: Duration,
    /// Rotations admitted per window, per connection (5).
    pub secret_rotations: u32,
    /// The rotation window (300 s).
    pub secret_rotations_window: Duration,
    /// How long an admin offer stays open (`admin_offer_ttl`, 7 days).
    pub admin_offer_ttl: Duration,
    /// An actor with no message for this long stops; never shorter than the longest rate
    /// window, so passivation cannot reset a limit early.
    pub actor_idle: Duration,
    /// Bounded mailbox size of each actor: a full mailbox answers 503 instead of queueing.
    pub mailbox_capacity: usize,
    /// Enrollment attempts admitted per IP per minute.
    pub enroll_attempts_per_ip_per_minute: u32,
    /// Failed gateway CONNECTs from one connection id or IP that lock it out (SPEC §9: 10).
    pub lockout_max_failures: u32,
    /// The window those failures are counted over (60 s).
    pub lockout_window: Duration,
    /// How long a locked-out connection id or IP is refused (300 s).
    pub lockout_duration: Duration,
    /// A signaling session not tunnel-connected this long after its offer ends with
    /// `bye {reason: "timeout"}` (SPEC §9: 30 s).
    pub session_timeout: Duration,
    /// `offer` messages admitted per connection per minute (20).
    pub offers_per_minute: u32,
    /// Signaling messages (every type) admitted per connection per minute (600).
    pub signaling_messages_per_minute: u32,
}

impl Default for ActorSettings {
    fn default() -> Self {
        ActorSettings {
            secret_views: 5,
            secret_views_window: Duration::from_secs(60),
            secret_rotations: 5,
            secret_rotations_window: Duration::from_secs(300),
            admin_offer_ttl: Duration::from_secs(7 * 24 * 3600),
            actor_idle: Duration::from_secs(300),
            mailbox_capacity: 256,
            enroll_attempts_per_ip_per_minute: 10,
            lockout_max_failures: 10,
            lockout_window: Duration::from_secs(60),
            lockout_duration: Duration::from_secs(300),
            session_timeout: Duration::from_secs(30),
            offers_per_minute: 20,
            signaling_messages_per_minute: 600,
        }
    }
}

impl ActorSettings {
    /// The idle period actually used: at least the longest rate window.
    pub fn effective_idle(&self) -> Duration {
        self.actor_idle
            .max(self.secret_views_window)
            .max(self.secret_rotations_window)
    }
}

/// Shared state of the service and its actors.
pub struct Core {
    /// The store.
    pub store: StoreHandle,
    /// Where runtime effects go (broker, relay).
    pub sink: Arc<dyn EffectSink>,
    /// The service's clock.
    pub clock: Arc<dyn Clock>,
    /// Tier limits from configuration.
    pub tiers: TierTable,
    /// Actor limits and timings.
    pub settings: ActorSettings,
    /// Live actors.
    pub registry: Registry,
    /// Wakes the offer-expiry timer when a new admin offer is made.
    pub offers_changed: tokio::sync::Notify,
    /// Broker endpoints, CA and ICE servers for connector configurations; filled in by the
    /// binary once its listeners are bound.
    pub gateway: std::sync::RwLock<crate::service::types::GatewayInfo>,
    /// Enrollment attempts per client IP (guessing registration tokens).
    pub enroll_limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// Failed gateway CONNECTs per connection id and IP, for the lockout (SPEC §9).
    pub gateway_lockout: crate::service::types::GatewayLockout,
    /// TURN credential issuing, once the relay runs.
    pub turn: std::sync::RwLock<Option<crate::turn::TurnIssuer>>,
}

impl Core {
    /// The ICE servers a gateway of `connection` is given in `welcome` and `ice`: the
    /// configured ones, then the relay with fresh short-lived credentials for this side.
    pub fn ice_servers(
        &self,
        connection: &switchboard_domain::ids::ConnectionId,
        side: switchboard_domain::entities::Side,
    ) -> Vec<crate::service::types::IceServer> {
        let mut servers = self
            .gateway
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .ice_servers
            .clone();
        let turn = self.turn.read().unwrap_or_else(|p| p.into_inner());
        if let Some(issuer) = turn.as_ref() {
            servers.push(issuer.issue(connection, side, self.clock.now()));
        }
        servers
    }
}
