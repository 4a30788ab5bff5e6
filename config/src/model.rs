//! The typed configuration: [`Config`] and one struct per TOML table.
//!
//! Values here are already parsed and validated by [`Config::load`]; durations are stored as
//! whole seconds (the unit operators write) with [`Duration`] accessors for code that waits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::defaults as d;

/// The complete Switchboard configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Directory holding the database, generated keys and the development certificate.
    pub data_dir: PathBuf,
    /// The HTTP API (`[http]`).
    pub http: HttpConfig,
    /// The embedded MQTT broker (`[mqtt]`).
    pub mqtt: MqttConfig,
    /// Certificate used by the MQTT TLS and WSS listeners (`[tls]`).
    pub tls: TlsConfig,
    /// The embedded TURN relay (`[turn]`).
    pub turn: TurnConfig,
    /// Encryption of secrets at rest (`[secrets]`).
    pub secrets: SecretsConfig,
    /// Lockout after repeated failed gateway authentications (`[lockout]`).
    pub lockout: LockoutConfig,
    /// Rate limits on secrets and signaling (`[rate_limits]`).
    pub rate_limits: RateLimits,
    /// Expiry and idle timeouts (`[timeouts]`).
    pub timeouts: Timeouts,
    /// Per-tier limits and features (`[tiers.*]`).
    pub tiers: TiersConfig,
    /// Log output (`[log]`).
    pub log: LogConfig,
}

/// `[http]`: the operator-facing HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// Address the API listens on; port 0 binds an ephemeral port.
    pub listen: SocketAddr,
    /// Largest request body accepted; larger bodies get `413 too_large`.
    pub max_body_bytes: u64,
    /// Time allowed to read a request and produce its response.
    pub request_timeout_secs: u32,
}

/// `[mqtt]`: the embedded broker gateways connect to.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    /// MQTT over TLS listener.
    pub tls_listen: SocketAddr,
    /// MQTT over secure WebSocket listener (path `/mqtt`).
    pub wss_listen: SocketAddr,
    /// Plain MQTT listener for development and benchmarks; `None` = off.
    pub tcp_listen: Option<SocketAddr>,
    /// Host name (or IP) put in the broker URLs of connector configurations; `None` = the
    /// listen address, or `localhost` when that is unspecified (`0.0.0.0`).
    pub advertise_host: Option<String>,
    /// Caps concurrent sessions so a connection flood cannot exhaust memory or descriptors.
    pub max_connections: u32,
    /// Caps CONNECT attempts from one IP address per minute, slowing secret guessing.
    pub connect_attempts_per_ip_per_minute: u32,
    /// Time from accepting a socket to a completed CONNECT; idle sockets are dropped after it.
    pub handshake_timeout_secs: u32,
    /// Largest accepted gateway message, in bytes.
    pub max_payload_bytes: u32,
    /// Lower end of the accepted CONNECT keep-alive.
    pub keepalive_min_secs: u16,
    /// Upper end of the accepted CONNECT keep-alive.
    pub keepalive_max_secs: u16,
    /// Malformed messages per minute after which a gateway is disconnected.
    pub malformed_per_minute: u32,
}

/// `[tls]`: the certificate served by the MQTT TLS and WSS listeners.
///
/// Both paths are set or both are `None` (checked by validation); `None` means a development
/// certificate is generated under `<data_dir>/tls/`.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key matching `cert`.
    pub key: Option<PathBuf>,
}

/// `[turn]`: the embedded TURN relay.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnConfig {
    /// UDP address the relay listens on.
    pub listen: SocketAddr,
    /// `host:port` put in TURN URLs given to gateways; `None` = the listen address.
    pub advertise: Option<String>,
    /// Realm announced in TURN authentication challenges.
    pub realm: String,
    /// Lifetime of issued TURN credentials.
    pub credential_ttl_secs: u32,
    /// Lowest UDP port for relayed transport addresses.
    pub relay_port_min: u16,
    /// Highest UDP port for relayed transport addresses.
    pub relay_port_max: u16,
    /// Caps relay allocations per connection so one connection cannot take the port range.
    pub max_allocations_per_connection: u32,
}

/// `[secrets]`: encryption of connection secrets at rest.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretsConfig {
    /// Master key file; `None` = `<data_dir>/keys/master.key`, created on first start.
    pub key_file: Option<PathBuf>,
}

/// `[lockout]`: refusing a connection id or IP after repeated failed CONNECTs.
#[derive(Debug, Clone, PartialEq)]
pub struct LockoutConfig {
    /// Failures within `window_secs` that trigger a lockout.
    pub max_failures: u32,
    /// Window over which failures are counted.
    pub window_secs: u32,
    /// How long a lockout lasts.
    pub duration_secs: u32,
}

/// `[rate_limits]`: limits on sensitive or chatty operations.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Secret views per connection within `secret_views_window_secs`.
    pub secret_views: u32,
    /// Window for `secret_views`.
    pub secret_views_window_secs: u32,
    /// Secret rotations per connection within `secret_rotations_window_secs`.
    pub secret_rotations: u32,
    /// Window for `secret_rotations`.
    pub secret_rotations_window_secs: u32,
    /// Signaling `offer` messages per connection per minute.
    pub offers_per_minute: u32,
    /// Signaling messages of any type per connection per minute.
    pub signaling_messages_per_minute: u32,
    /// Gateway enrollment attempts per IP address per minute.
    pub enroll_attempts_per_ip_per_minute: u32,
}

/// `[timeouts]`: expiry and idle timeouts.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeouts {
    /// An Admin RW/RO offer not accepted within this becomes `expired`.
    pub admin_offer_ttl_secs: u32,
    /// A signaling session not tunnel-connected within this is ended with `bye timeout`.
    pub session_timeout_secs: u32,
    /// An entity actor idle this long is stopped; its state stays in storage.
    pub actor_idle_secs: u32,
    /// Time in-flight work gets to finish after SIGINT/SIGTERM before the process exits.
    pub shutdown_grace_secs: u32,
}

/// Limits and features of one tier (SPEC §3); `None` limits mean unlimited.
#[derive(Debug, Clone, PartialEq)]
pub struct TierLimitsConfig {
    /// Servers an organization may register.
    pub servers: Option<u32>,
    /// Active agreements with other organizations.
    pub peers: Option<u32>,
    /// Channels per server.
    pub channels_per_server: Option<u32>,
    /// Whether Admin read-write connections may be offered.
    pub admin_rw: bool,
    /// Whether organization members may rotate secrets.
    pub secret_rotation: bool,
}

/// `[tiers.*]`: the three subscription tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct TiersConfig {
    /// `[tiers.free]`.
    pub free: TierLimitsConfig,
    /// `[tiers.standard]`.
    pub standard: TierLimitsConfig,
    /// `[tiers.enterprise]`.
    pub enterprise: TierLimitsConfig,
}

/// `[log]`: log output; the binary installs the subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Output format.
    pub format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directive, e.g. `info` or `switchboard=debug,info`.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`"text"`).
    Text,
    /// One JSON object per line (`"json"`).
    Json,
}

impl LogFormat {
    /// The configuration spelling: `"text"` or `"json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(d::DATA_DIR),
            http: HttpConfig {
                listen: d::HTTP_LISTEN,
                max_body_bytes: d::HTTP_MAX_BODY_BYTES,
                request_timeout_secs: d::HTTP_REQUEST_TIMEOUT_SECS,
            },
            mqtt: MqttConfig {
                tls_listen: d::MQTT_TLS_LISTEN,
                wss_listen: d::MQTT_WSS_LISTEN,
                tcp_listen: d::MQTT_TCP_LISTEN,
                advertise_host: None,
                max_connections: d::MQTT_MAX_CONNECTIONS,
                connect_attempts_per_ip_per_minute: d::MQTT_CONNECT_ATTEMPTS_PER_IP_PER_MINUTE,
                handshake_timeout_secs: d::MQTT_HANDSHAKE_TIMEOUT_SECS,
                max_payload_bytes: d::MQTT_MAX_PAYLOAD_BYTES,
                keepalive_min_secs: d::MQTT_KEEPALIVE_MIN_SECS,
                keepalive_max_secs: d::MQTT_KEEPALIVE_MAX_SECS,
                malformed_per_minute: d::MQTT_MALFORMED_PER_MINUTE,
            },
            tls: TlsConfig {
                cert: None,
                key: None,
            },
            turn: TurnConfig {
                listen: d::TURN_LISTEN,
                advertise: None,
                realm: d::TURN_REALM.to_owned(),
                credential_ttl_secs: d::TURN_CREDENTIAL_TTL_SECS,
                relay_port_min: d::TURN_RELAY_PORT_MIN,
                relay_port_max: d::TURN_RELAY_PORT_MAX,
                max_allocations_per_connection: d::TURN_MAX_ALLOCATIONS_PER_CONNECTION,
            },
            secrets: SecretsConfig { key_file: None },
            lockout: LockoutConfig {
                max_failures: d::LOCKOUT_MAX_FAILURES,
                window_secs: d::LOCKOUT_WINDOW_SECS,
                duration_secs: d::LOCKOUT_DURATION_SECS,
            },
            rate_limits: RateLimits {
                secret_views: d::RATE_SECRET_VIEWS,
                secret_views_window_secs: d::RATE_SECRET_VIEWS_WINDOW_SECS,
                secret_rotations: d::RATE_SECRET_ROTATIONS,
                secret_rotations_window_secs: d::RATE_SECRET_ROTATIONS_WINDOW_SECS,
                offers_per_minute: d::RATE_OFFERS_PER_MINUTE,
                signaling_messages_per_minute: d::RATE_SIGNALING_MESSAGES_PER_MINUTE,
                enroll_attempts_per_ip_per_minute: d::RATE_ENROLL_ATTEMPTS_PER_IP_PER_MINUTE,
            },
            timeouts: Timeouts {
                admin_offer_ttl_secs: d::TIMEOUT_ADMIN_OFFER_TTL_SECS,
                session_timeout_secs: d::TIMEOUT_SESSION_SECS,
                actor_idle_secs: d::TIMEOUT_ACTOR_IDLE_SECS,
                shutdown_grace_secs: d::TIMEOUT_SHUTDOWN_GRACE_SECS,
            },
            tiers: TiersConfig {
                free: d::TIER_FREE,
                standard: d::TIER_STANDARD,
                enterprise: d::TIER_ENTERPRISE,
            },
            log: LogConfig {
                format: d::LOG_FORMAT,
                level: d::LOG_LEVEL.to_owned(),
            },
        }
    }
}

impl Config {
    /// The master key file: `secrets.key_file`, or `<data_dir>/keys/master.key` when unset.
    pub fn key_file_path(&self) -> PathBuf {
        match &self.secrets.key_file {
            Some(path) => path.clone(),
            None => self
                .data_dir
                .join(d::MASTER_KEY_DIR)
                .join(d::MASTER_KEY_FILE),
        }
    }

    /// The configured `(cert, key)` PEM paths, or `None` when a development certificate
    /// should be generated (see [`Config::dev_tls_paths`]).
    pub fn tls_paths(&self) -> Option<(PathBuf, PathBuf)> {
        match (&self.tls.cert, &self.tls.key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            _ => None,
        }
    }

    /// Where the generated development `(cert, key)` live: `<data_dir>/tls/dev-cert.pem` and
    /// `<data_dir>/tls/dev-key.pem`.
    pub fn dev_tls_paths(&self) -> (PathBuf, PathBuf) {
        let dir = self.data_dir.join(d::DEV_TLS_DIR);
        (dir.join(d::DEV_CERT_FILE), dir.join(d::DEV_KEY_FILE))
    }
}

impl HttpConfig {
    /// `request_timeout_secs` as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        secs(self.request_timeout_secs)
    }
}

impl MqttConfig {
    /// `handshake_timeout_secs` as a [`Duration`].
    pub fn handshake_timeout(&self) -> Duration {
        secs(self.handshake_timeout_secs)
    }
}

impl TurnConfig {
    /// `credential_ttl_secs` as a [`Duration`].
    pub fn credential_ttl(&self) -> Duration {
        secs(self.credential_ttl_secs)
    }
}

impl LockoutConfig {
    /// `window_secs` as a [`Duration`].
    pub fn window(&self) -> Duration {
        secs(self.window_secs)
    }

    /// `duration_secs` as a [`Duration`].
    pub fn duration(&self) -> Duration {
        secs(self.duration_secs)
    }
}

impl RateLimits {
    /// `secret_views_window_secs` as a [`Duration`].
    pub fn secret_views_window(&self) -> Duration {
        secs(self.secret_views_window_secs)
    }

    /// `secret_rotations_window_secs` as a [`Duration`].
    pub fn secret_rotations_window(&self) -> Duration {
        secs(self.secret_rotations_window_secs)
    }
}

impl Timeouts {
    /// `admin_offer_ttl_secs` as a [`Duration`].
    pub fn admin_offer_ttl(&self) -> Duration {
        secs(self.admin_offer_ttl_secs)
    }

    /// `session_timeout_secs` as a [`Duration`].
    pub fn session_timeout(&self) -> Duration {
        secs(self.session_timeout_secs)
    }

    /// `actor_idle_secs` as a [`Duration`].
    pub fn actor_idle(&self) -> Duration {
        secs(self.actor_idle_secs)
    }

    /// `shutdown_grace_secs` as a [`Duration`].
    pub fn shutdown_grace(&self) -> Duration {
        secs(self.shutdown_grace_secs)
    }
}

fn secs(value: u32) -> Duration {
    Duration::from_secs(u64::from(value))
}
