//! Configuration → the service's settings: the tier table and the actor limits.

use std::time::Duration;

use switchboard_actors::ActorSettings;
use switchboard_config::{Config, TierLimitsConfig};
use switchboard_domain::tiers::{TierLimits, TierTable};

/// Bounded mailbox size of every actor.
pub const ACTOR_MAILBOX_CAPACITY: usize = 256;

/// The tier table in force.
pub fn tier_table(config: &Config) -> TierTable {
    let limits = |t: &TierLimitsConfig| TierLimits {
        servers: t.servers,
        peers: t.peers,
        channels_per_server: t.channels_per_server,
        admin_rw: t.admin_rw,
        secret_rotation: t.secret_rotation,
    };
    TierTable {
        free: limits(&config.tiers.free),
        standard: limits(&config.tiers.standard),
        enterprise: limits(&config.tiers.enterprise),
    }
}

/// The actors' limits and timings.
pub fn actor_settings(config: &Config) -> ActorSettings {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let r = &config.rate_limits;
    ActorSettings {
        secret_views: r.secret_views,
        secret_views_window: secs(r.secret_views_window_secs),
        secret_rotations: r.secret_rotations,
        secret_rotations_window: secs(r.secret_rotations_window_secs),
        admin_offer_ttl: secs(config.timeouts.admin_offer_ttl_secs),
        actor_idle: secs(config.timeouts.actor_idle_secs),
        mailbox_capacity: ACTOR_MAILBOX_CAPACITY,
        enroll_attempts_per_ip_per_minute: r.enroll_attempts_per_ip_per_minute,
        lockout_max_failures: config.lockout.max_failures,
        lockout_window: secs(config.lockout.window_secs),
        lockout_duration: secs(config.lockout.duration_secs),
        session_timeout: secs(config.timeouts.session_timeout_secs),
        offers_per_minute: r.offers_per_minute,
        signaling_messages_per_minute: r.signaling_messages_per_minute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::default();
        assert_eq!(tier_table(&config), TierTable::default());
        let s = actor_settings(&config);
        assert_eq!(
            (s.secret_views, s.secret_views_window),
            (5, Duration::from_secs(60))
        );
        assert_eq!(
            (s.secret_rotations, s.secret_rotations_window),
            (5, Duration::from_secs(300))
        );
        assert_eq!(s.admin_offer_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(
            (s.lockout_max_failures, s.lockout_window, s.lockout_duration),
            (10, Duration::from_secs(60), Duration::from_secs(300))
        );
    }
}
