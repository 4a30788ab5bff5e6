//! Default value of every configuration key, as documented constants.
//!
//! `Config::default()` is built from these and nothing else, and `default_toml()` renders them,
//! so this file is the one place a default changes.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::model::{LogFormat, TierLimitsConfig};

/// `data_dir`: where the database, generated keys and certificates live.
pub const DATA_DIR: &str = "./switchboard-data";

/// `http.listen`: loopback only, so a fresh install does not expose the API.
pub const HTTP_LISTEN: SocketAddr = v4([127, 0, 0, 1], 8080);
/// `http.max_body_bytes`: largest accepted request body (1 MiB).
pub const HTTP_MAX_BODY_BYTES: u64 = 1_048_576;
/// `http.request_timeout_secs`: time allowed to read a request and produce its response.
pub const HTTP_REQUEST_TIMEOUT_SECS: u32 = 30;

/// `mqtt.tls_listen`: MQTT over TLS, the standard MQTTS port.
pub const MQTT_TLS_LISTEN: SocketAddr = v4([0, 0, 0, 0], 8883);
/// `mqtt.wss_listen`: MQTT over secure WebSocket, for gateways behind HTTP-only proxies.
pub const MQTT_WSS_LISTEN: SocketAddr = v4([0, 0, 0, 0], 8443);
/// `mqtt.tcp_listen`: plain MQTT is off unless an address is configured.
pub const MQTT_TCP_LISTEN: Option<SocketAddr> = None;
/// `mqtt.max_connections`: concurrent gateway sessions across all listeners.
pub const MQTT_MAX_CONNECTIONS: u32 = 10_000;
/// `mqtt.connect_attempts_per_ip_per_minute`: CONNECT attempts accepted from one IP address.
pub const MQTT_CONNECT_ATTEMPTS_PER_IP_PER_MINUTE: u32 = 60;
/// `mqtt.handshake_timeout_secs`: time from TCP accept to a completed CONNECT.
pub const MQTT_HANDSHAKE_TIMEOUT_SECS: u32 = 10;
/// `mqtt.max_payload_bytes`: largest accepted gateway message (SPEC §9: 64 KiB).
pub const MQTT_MAX_PAYLOAD_BYTES: u32 = 65_536;
/// `mqtt.keepalive_min_secs`: lower end of the accepted CONNECT keep-alive (SPEC §9: 5 s).
pub const MQTT_KEEPALIVE_MIN_SECS: u16 = 5;
/// `mqtt.keepalive_max_secs`: upper end of the accepted CONNECT keep-alive (SPEC §9: 300 s).
pub const MQTT_KEEPALIVE_MAX_SECS: u16 = 300;
/// `mqtt.malformed_per_minute`: malformed messages per minute that disconnect a gateway (SPEC §9).
pub const MQTT_MALFORMED_PER_MINUTE: u32 = 50;

/// `turn.listen`: the standard STUN/TURN UDP port.
pub const TURN_LISTEN: SocketAddr = v4([0, 0, 0, 0], 3478);
/// `turn.realm`: realm announced in TURN authentication challenges.
pub const TURN_REALM: &str = "switchboard";
/// `turn.credential_ttl_secs`: lifetime of issued TURN credentials (SPEC §10: one hour).
pub const TURN_CREDENTIAL_TTL_SECS: u32 = 3_600;
/// `turn.relay_port_min`: lowest UDP port used for relayed transport addresses (RFC 8656).
pub const TURN_RELAY_PORT_MIN: u16 = 49_152;
/// `turn.relay_port_max`: highest UDP port used for relayed transport addresses (RFC 8656).
pub const TURN_RELAY_PORT_MAX: u16 = 65_535;
/// `turn.max_allocations_per_connection`: concurrent relay allocations for one connection.
pub const TURN_MAX_ALLOCATIONS_PER_CONNECTION: u32 = 10;

/// `lockout.max_failures`: failed CONNECTs from one connection id or IP that lock it out (SPEC §9).
pub const LOCKOUT_MAX_FAILURES: u32 = 10;
/// `lockout.window_secs`: window over which failed authentications are counted.
pub const LOCKOUT_WINDOW_SECS: u32 = 60;
/// `lockout.duration_secs`: how long a locked-out client is refused.
pub const LOCKOUT_DURATION_SECS: u32 = 300;

/// `rate_limits.secret_views`: secret views per connection within the window (SPEC §7).
pub const RATE_SECRET_VIEWS: u32 = 5;
/// `rate_limits.secret_views_window_secs`: window for `rate_limits.secret_views`.
pub const RATE_SECRET_VIEWS_WINDOW_SECS: u32 = 60;
/// `rate_limits.secret_rotations`: secret rotations per connection within the window (SPEC §7).
pub const RATE_SECRET_ROTATIONS: u32 = 5;
/// `rate_limits.secret_rotations_window_secs`: window for `rate_limits.secret_rotations`.
pub const RATE_SECRET_ROTATIONS_WINDOW_SECS: u32 = 300;
/// `rate_limits.offers_per_minute`: signaling `offer` messages per connection per minute (SPEC §9).
pub const RATE_OFFERS_PER_MINUTE: u32 = 20;
/// `rate_limits.signaling_messages_per_minute`: signaling messages per connection per minute.
pub const RATE_SIGNALING_MESSAGES_PER_MINUTE: u32 = 600;
/// `rate_limits.enroll_attempts_per_ip_per_minute`: gateway enrollment attempts per IP per minute.
pub const RATE_ENROLL_ATTEMPTS_PER_IP_PER_MINUTE: u32 = 10;

/// `timeouts.admin_offer_ttl_secs`: an unanswered Admin RW offer expires after 7 days.
pub const TIMEOUT_ADMIN_OFFER_TTL_SECS: u32 = 604_800;
/// `timeouts.session_timeout_secs`: a session not tunnel-connected by then ends (SPEC §9).
pub const TIMEOUT_SESSION_SECS: u32 = 30;
/// `timeouts.actor_idle_secs`: an entity actor with no messages for this long is passivated.
pub const TIMEOUT_ACTOR_IDLE_SECS: u32 = 300;
/// `timeouts.shutdown_grace_secs`: time given to in-flight work after SIGINT/SIGTERM.
pub const TIMEOUT_SHUTDOWN_GRACE_SECS: u32 = 10;

/// `[tiers.free]` (SPEC §3): 2 servers, 2 peers, 5 channels per server, no Admin RW or rotation.
pub const TIER_FREE: TierLimitsConfig = TierLimitsConfig {
    servers: Some(2),
    peers: Some(2),
    channels_per_server: Some(5),
    admin_rw: false,
    secret_rotation: false,
};
/// `[tiers.standard]` (SPEC §3): 20 servers, 25 peers, 50 channels per server, all features.
pub const TIER_STANDARD: TierLimitsConfig = TierLimitsConfig {
    servers: Some(20),
    peers: Some(25),
    channels_per_server: Some(50),
    admin_rw: true,
    secret_rotation: true,
};
/// `[tiers.enterprise]` (SPEC §3): no limits, all features.
pub const TIER_ENTERPRISE: TierLimitsConfig = TierLimitsConfig {
    servers: None,
    peers: None,
    channels_per_server: None,
    admin_rw: true,
    secret_rotation: true,
};

/// `log.format`: human-readable text.
pub const LOG_FORMAT: LogFormat = LogFormat::Text;
/// `log.level`: `tracing_subscriber::EnvFilter` directive.
pub const LOG_LEVEL: &str = "info";

/// Directory under `data_dir` where the development certificate is generated.
pub const DEV_TLS_DIR: &str = "tls";
/// File name of the generated development certificate (PEM), inside [`DEV_TLS_DIR`].
pub const DEV_CERT_FILE: &str = "dev-cert.pem";
/// File name of the generated development private key (PEM), inside [`DEV_TLS_DIR`].
pub const DEV_KEY_FILE: &str = "dev-key.pem";
/// Directory under `data_dir` holding the master key when `secrets.key_file` is empty.
pub const MASTER_KEY_DIR: &str = "keys";
/// File name of the master key inside [`MASTER_KEY_DIR`].
pub const MASTER_KEY_FILE: &str = "master.key";

const fn v4(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
        port,
    ))
}
