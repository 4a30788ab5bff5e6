//! Defaults match SPEC §3 and §11, and the rendered default file round-trips.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_config::{Config, LogFormat, TierLimitsConfig, default_toml};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn defaults_match_the_spec() {
    let c = Config::default();
    assert_eq!(c.data_dir, PathBuf::from("./switchboard-data"));
    assert_eq!(c.http.listen, addr("127.0.0.1:8080"));
    assert_eq!(c.http.max_body_bytes, 1_048_576);
    assert_eq!(c.http.request_timeout_secs, 30);
    assert_eq!(c.mqtt.tls_listen, addr("0.0.0.0:8883"));
    assert_eq!(c.mqtt.wss_listen, addr("0.0.0.0:8443"));
    assert_eq!(c.mqtt.tcp_listen, None);
    assert_eq!(c.mqtt.advertise_host, None);
    assert_eq!(c.mqtt.max_connections, 10_000);
    assert_eq!(c.mqtt.connect_attempts_per_ip_per_minute, 60);
    assert_eq!(c.mqtt.handshake_timeout_secs, 10);
    assert_eq!(c.mqtt.max_payload_bytes, 65_536);
    assert_eq!(c.mqtt.keepalive_min_secs, 5);
    assert_eq!(c.mqtt.keepalive_max_secs, 300);
    assert_eq!(c.mqtt.malformed_per_minute, 50);
    assert_eq!(c.tls.cert, None);
    assert_eq!(c.tls.key, None);
    assert_eq!(c.turn.listen, addr("0.0.0.0:3478"));
    assert_eq!(c.turn.advertise, None);
    assert_eq!(c.turn.realm, "switchboard");
    assert_eq!(c.turn.credential_ttl_secs, 3600);
    assert_eq!(c.turn.relay_port_min, 49_152);
    assert_eq!(c.turn.relay_port_max, 65_535);
    assert_eq!(c.turn.max_allocations_per_connection, 10);
    assert_eq!(c.secrets.key_file, None);
    assert_eq!(c.lockout.max_failures, 10);
    assert_eq!(c.lockout.window_secs, 60);
    assert_eq!(c.lockout.duration_secs, 300);
    assert_eq!(c.rate_limits.secret_views, 5);
    assert_eq!(c.rate_limits.secret_views_window_secs, 60);
    assert_eq!(c.rate_limits.secret_rotations, 5);
    assert_eq!(c.rate_limits.secret_rotations_window_secs, 300);
    assert_eq!(c.rate_limits.offers_per_minute, 20);
    assert_eq!(c.rate_limits.signaling_messages_per_minute, 600);
    assert_eq!(c.rate_limits.enroll_attempts_per_ip_per_minute, 10);
    assert_eq!(c.timeouts.admin_offer_ttl_secs, 7 * 24 * 3600);
    assert_eq!(c.timeouts.session_timeout_secs, 30);
    assert_eq!(c.timeouts.actor_idle_secs, 300);
    assert_eq!(c.timeouts.shutdown_grace_secs, 10);
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.log.level, "info");
}

#[test]
fn tier_defaults_match_spec_section_3() {
    let tiers = Config::default().tiers;
    let tier = |servers, peers, channels, features| TierLimitsConfig {
        servers,
        peers,
        channels_per_server: channels,
        admin_rw: features,
        secret_rotation: features,
    };
    assert_eq!(tiers.free, tier(Some(2), Some(2), Some(5), false));
    assert_eq!(tiers.standard, tier(Some(20), Some(25), Some(50), true));
    assert_eq!(tiers.enterprise, tier(None, None, None, true));
}

#[test]
fn loading_nothing_gives_the_defaults() {
    assert_eq!(Config::load(None, Vec::new()), Ok(Config::default()));
    assert_eq!(Config::default().validate(), Ok(()));
}

#[test]
fn default_toml_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    let text = default_toml();
    std::fs::write(&path, &text).unwrap();
    assert_eq!(Config::load(Some(&path), Vec::new()), Ok(Config::default()));
    // Every key is written out, not just left to the built-in defaults.
    for needle in [
        "data_dir = \"./switchboard-data\"",
        "[http]\n",
        "listen = \"127.0.0.1:8080\"",
        "tcp_listen = \"\"",
        "[tiers.enterprise]\n",
        "servers = \"unlimited\"",
        "admin_offer_ttl_secs = 604800",
        "# env: SWITCHBOARD_TIERS_FREE_SERVERS\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn derived_paths_follow_data_dir_unless_configured() {
    let mut c = Config::default();
    c.data_dir = PathBuf::from("/var/lib/sb");
    assert_eq!(c.key_file_path(), Path::new("/var/lib/sb/keys/master.key"));
    assert_eq!(c.tls_paths(), None);
    assert_eq!(
        c.dev_tls_paths(),
        (
            PathBuf::from("/var/lib/sb/tls/dev-cert.pem"),
            PathBuf::from("/var/lib/sb/tls/dev-key.pem")
        )
    );
    c.secrets.key_file = Some(PathBuf::from("/etc/sb/master.key"));
    c.tls.cert = Some(PathBuf::from("/etc/sb/cert.pem"));
    c.tls.key = Some(PathBuf::from("/etc/sb/key.pem"));
    assert_eq!(c.key_file_path(), Path::new("/etc/sb/master.key"));
    assert_eq!(
        c.tls_paths(),
        Some((
            PathBuf::from("/etc/sb/cert.pem"),
            PathBuf::from("/etc/sb/key.pem")
        ))
    );
}

#[test]
fn duration_accessors_use_seconds() {
    let c = Config::default();
    assert_eq!(c.http.request_timeout(), Duration::from_secs(30));
    assert_eq!(c.mqtt.handshake_timeout(), Duration::from_secs(10));
    assert_eq!(c.turn.credential_ttl(), Duration::from_secs(3600));
    assert_eq!(c.lockout.window(), Duration::from_secs(60));
    assert_eq!(c.lockout.duration(), Duration::from_secs(300));
    assert_eq!(c.rate_limits.secret_views_window(), Duration::from_secs(60));
    assert_eq!(
        c.rate_limits.secret_rotations_window(),
        Duration::from_secs(300)
    );
    assert_eq!(c.timeouts.admin_offer_ttl(), Duration::from_secs(604_800));
    assert_eq!(c.timeouts.session_timeout(), Duration::from_secs(30));
    assert_eq!(c.timeouts.actor_idle(), Duration::from_secs(300));
    assert_eq!(c.timeouts.shutdown_grace(), Duration::from_secs(10));
}
