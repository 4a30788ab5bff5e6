//! The registry of every configuration key: its dotted path, documentation, how to parse a
//! value into [`Config`] and how to render the current value back to TOML.
//!
//! File loading, environment overlay, unknown-key detection, `default_toml()` and the key table
//! in `docs/configuration.md` are all driven by this one list, so adding a key here is the whole
//! job (plus its default in `defaults.rs` and its field in `model.rs`).

use crate::model::Config;
use crate::parse::{self, MAX_U64_SETTING, Raw, ToToml};

/// Prefix of every environment variable that configures Switchboard.
pub const ENV_PREFIX: &str = "SWITCHBOARD_";

/// Environment variable holding the config file path; read by the binary, not a key.
pub const ENV_CONFIG_FILE: &str = "SWITCHBOARD_CONFIG";

/// Environment variable holding a log filter; read by the binary, not a key.
pub const ENV_LOG: &str = "SWITCHBOARD_LOG";

/// `SWITCHBOARD_*` variables that are not configuration keys but are not errors either,
/// because the binary reads them itself.
pub const ENV_ALLOW_LIST: &[&str] = &[ENV_CONFIG_FILE, ENV_LOG];

/// The environment variable for a dotted key: `mqtt.tls_listen` → `SWITCHBOARD_MQTT_TLS_LISTEN`.
pub fn env_var_name(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.to_ascii_uppercase().replace('.', "_")
    )
}

/// One configuration key.
pub(crate) struct Key {
    /// Dotted TOML path, e.g. `mqtt.tls_listen`.
    pub path: &'static str,
    /// What the key does, for the default file and the docs.
    pub doc: &'static str,
    /// The key's current value as TOML.
    pub get: fn(&Config) -> toml::Value,
    /// Parses a value and stores it in the config, or returns the problem.
    pub set: fn(&mut Config, Raw<'_>) -> Result<(), String>,
}

impl Key {
    /// The table the key lives in (`tiers.free` for `tiers.free.servers`), `None` at top level.
    pub fn table(&self) -> Option<&'static str> {
        self.path.rsplit_once('.').map(|(table, _)| table)
    }

    /// The key's name inside its table.
    pub fn name(&self) -> &'static str {
        self.path
            .rsplit_once('.')
            .map_or(self.path, |(_, name)| name)
    }
}

/// Every key, grouped by table in rendering order (top-level keys first).
pub(crate) fn all() -> impl Iterator<Item = &'static Key> {
    GROUPS.iter().flat_map(|group| group.iter())
}

/// Looks a key up by dotted path.
pub(crate) fn find(path: &str) -> Option<&'static Key> {
    all().find(|key| key.path == path)
}

/// Documentation of every table, in rendering order.
pub(crate) const TABLES: &[(&str, &str)] = &[
    ("http", "HTTP API (SPEC §8)."),
    (
        "mqtt",
        "Embedded MQTT broker that gateways connect to (MQTT 3.1.1 and 5).",
    ),
    (
        "tls",
        "Certificate for the MQTT TLS and WSS listeners, as PEM file paths. Leave both empty to \
         use a development certificate generated in <data_dir>/tls/ (dev-cert.pem and \
         dev-key.pem, valid for localhost and 127.0.0.1).",
    ),
    (
        "turn",
        "Embedded TURN relay (UDP) for gateways whose direct path fails.",
    ),
    ("secrets", "Encryption of connection secrets at rest."),
    (
        "lockout",
        "Lockout of a connection id or IP address after repeated failed gateway CONNECTs.",
    ),
    ("rate_limits", "Rate limits on secrets and signaling."),
    ("timeouts", "Expiry and idle timeouts."),
    ("tiers.free", "Free tier (SPEC §3)."),
    ("tiers.standard", "Standard tier (SPEC §3)."),
    ("tiers.enterprise", "Enterprise tier (SPEC §3)."),
    ("log", "Log output."),
];

macro_rules! key {
    ($path:expr, $($field:ident).+, $parse:expr, $doc:literal $(,)?) => {
        Key {
            path: $path,
            doc: $doc,
            get: |config| config.$($field).+.to_toml(),
            set: |config, raw| {
                config.$($field).+ = ($parse)(raw)?;
                Ok(())
            },
        }
    };
}

macro_rules! tier_keys {
    ($table:literal, $tier:ident) => {
        [
            key!(
                concat!("tiers.", $table, ".servers"),
                tiers.$tier.servers,
                parse::tier_limit,
                "Servers an organization may register (an integer, or \"unlimited\")."
            ),
            key!(
                concat!("tiers.", $table, ".peers"),
                tiers.$tier.peers,
                parse::tier_limit,
                "Active agreements with other organizations, self-agreements not counted (an \
                 integer, or \"unlimited\")."
            ),
            key!(
                concat!("tiers.", $table, ".channels_per_server"),
                tiers.$tier.channels_per_server,
                parse::tier_limit,
                "Channels per server (an integer, or \"unlimited\")."
            ),
            key!(
                concat!("tiers.", $table, ".admin_rw"),
                tiers.$tier.admin_rw,
                parse::boolean,
                "Whether Admin read-write connections may be offered."
            ),
            key!(
                concat!("tiers.", $table, ".secret_rotation"),
                tiers.$tier.secret_rotation,
                parse::boolean,
                "Whether organization members may rotate secrets (platform admins always can)."
            ),
        ]
    };
}

static GROUPS: &[&[Key]] = &[
    &[key!(
        "data_dir",
        data_dir,
        parse::path,
        "Directory holding the database, the master key and the development certificate. \
         The --data-dir command-line option overrides it."
    )],
    &[
        key!(
            "http.listen",
            http.listen,
            parse::socket_addr,
            "Address the HTTP API listens on (ip:port; port 0 binds an ephemeral port)."
        ),
        key!(
            "http.max_body_bytes",
            http.max_body_bytes,
            |raw| parse::at_least_one(raw, MAX_U64_SETTING),
            "Largest request body accepted, in bytes; larger bodies get 413 too_large."
        ),
        key!(
            "http.request_timeout_secs",
            http.request_timeout_secs,
            count,
            "Seconds allowed to read a request and produce its response."
        ),
    ],
    &[
        key!(
            "mqtt.tls_listen",
            mqtt.tls_listen,
            parse::socket_addr,
            "Address of the MQTT over TLS listener."
        ),
        key!(
            "mqtt.wss_listen",
            mqtt.wss_listen,
            parse::socket_addr,
            "Address of the MQTT over secure WebSocket listener (path /mqtt)."
        ),
        key!(
            "mqtt.tcp_listen",
            mqtt.tcp_listen,
            parse::optional_socket_addr,
            "Address of a plain (unencrypted) MQTT listener for development and benchmarks; \
             empty = off."
        ),
        key!(
            "mqtt.advertise_host",
            mqtt.advertise_host,
            parse::optional_host,
            "Host name or IP put in the broker URLs of connector configurations; empty = the \
             listen address (localhost when it is 0.0.0.0)."
        ),
        key!(
            "mqtt.max_connections",
            mqtt.max_connections,
            count,
            "Maximum concurrent gateway sessions across all MQTT listeners."
        ),
        key!(
            "mqtt.connect_attempts_per_ip_per_minute",
            mqtt.connect_attempts_per_ip_per_minute,
            count,
            "CONNECT attempts accepted from one IP address per minute."
        ),
        key!(
            "mqtt.handshake_timeout_secs",
            mqtt.handshake_timeout_secs,
            count,
            "Seconds from accepting a socket to a completed CONNECT."
        ),
        key!(
            "mqtt.max_payload_bytes",
            mqtt.max_payload_bytes,
            |raw| parse::at_least_one(raw, MQTT_MAX_PACKET_BYTES),
            "Largest gateway message accepted, in bytes."
        ),
        key!(
            "mqtt.keepalive_min_secs",
            mqtt.keepalive_min_secs,
            |raw| parse::at_least_one(raw, u16::MAX),
            "Lowest CONNECT keep-alive accepted, in seconds."
        ),
        key!(
            "mqtt.keepalive_max_secs",
            mqtt.keepalive_max_secs,
            |raw| parse::at_least_one(raw, u16::MAX),
            "Highest CONNECT keep-alive accepted, in seconds."
        ),
        key!(
            "mqtt.malformed_per_minute",
            mqtt.malformed_per_minute,
            count,
            "Malformed messages per minute after which a gateway is disconnected."
        ),
    ],
    &[
        key!(
            "tls.cert",
            tls.cert,
            parse::optional_path,
            "PEM certificate chain file; set together with tls.key."
        ),
        key!(
            "tls.key",
            tls.key,
            parse::optional_path,
            "PEM private key file; set together with tls.cert."
        ),
    ],
    &[
        key!(
            "turn.listen",
            turn.listen,
            parse::socket_addr,
            "UDP address the TURN relay listens on."
        ),
        key!(
            "turn.advertise",
            turn.advertise,
            parse::optional_host_port,
            "host:port or ip:port put in the TURN URLs given to gateways; empty = the listen \
             address."
        ),
        key!(
            "turn.realm",
            turn.realm,
            parse::non_empty,
            "Realm announced in TURN authentication challenges."
        ),
        key!(
            "turn.credential_ttl_secs",
            turn.credential_ttl_secs,
            count,
            "Lifetime of issued TURN credentials, in seconds."
        ),
        key!(
            "turn.relay_port_min",
            turn.relay_port_min,
            |raw| parse::at_least_one(raw, u16::MAX),
            "Lowest UDP port used for relayed addresses."
        ),
        key!(
            "turn.relay_port_max",
            turn.relay_port_max,
            |raw| parse::at_least_one(raw, u16::MAX),
            "Highest UDP port used for relayed addresses."
        ),
        key!(
            "turn.max_allocations_per_connection",
            turn.max_allocations_per_connection,
            count,
            "Concurrent relay allocations allowed for one connection."
        ),
    ],
    &[key!(
        "secrets.key_file",
        secrets.key_file,
        parse::optional_path,
        "Master key file used to encrypt secrets at rest; empty = <data_dir>/keys/master.key, \
         created on first start."
    )],
    &[
        key!(
            "lockout.max_failures",
            lockout.max_failures,
            count,
            "Failed CONNECTs within the window that lock a connection id or IP address out."
        ),
        key!(
            "lockout.window_secs",
            lockout.window_secs,
            count,
            "Window over which failed CONNECTs are counted, in seconds."
        ),
        key!(
            "lockout.duration_secs",
            lockout.duration_secs,
            count,
            "How long a lockout lasts, in seconds."
        ),
    ],
    &[
        key!(
            "rate_limits.secret_views",
            rate_limits.secret_views,
            count,
            "Secret views per connection within secret_views_window_secs."
        ),
        key!(
            "rate_limits.secret_views_window_secs",
            rate_limits.secret_views_window_secs,
            count,
            "Window for secret_views, in seconds."
        ),
        key!(
            "rate_limits.secret_rotations",
            rate_limits.secret_rotations,
            count,
            "Secret rotations per connection within secret_rotations_window_secs."
        ),
        key!(
            "rate_limits.secret_rotations_window_secs",
            rate_limits.secret_rotations_window_secs,
            count,
            "Window for secret_rotations, in seconds."
        ),
        key!(
            "rate_limits.offers_per_minute",
            rate_limits.offers_per_minute,
            count,
            "Signaling offer messages per connection per minute."
        ),
        key!(
            "rate_limits.signaling_messages_per_minute",
            rate_limits.signaling_messages_per_minute,
            count,
            "Signaling messages of any type per connection per minute."
        ),
        key!(
            "rate_limits.enroll_attempts_per_ip_per_minute",
            rate_limits.enroll_attempts_per_ip_per_minute,
            count,
            "Gateway enrollment attempts per IP address per minute."
        ),
    ],
    &[
        key!(
            "timeouts.admin_offer_ttl_secs",
            timeouts.admin_offer_ttl_secs,
            count,
            "Seconds after which an unanswered Admin connection offer expires (7 days)."
        ),
        key!(
            "timeouts.session_timeout_secs",
            timeouts.session_timeout_secs,
            count,
            "Seconds a signaling session may take to become tunnel-connected before it is \
             ended."
        ),
        key!(
            "timeouts.actor_idle_secs",
            timeouts.actor_idle_secs,
            count,
            "Seconds without messages after which an in-memory entity actor is stopped."
        ),
        key!(
            "timeouts.shutdown_grace_secs",
            timeouts.shutdown_grace_secs,
            count,
            "Seconds in-flight work gets to finish after SIGINT/SIGTERM."
        ),
    ],
    &tier_keys!("free", free),
    &tier_keys!("standard", standard),
    &tier_keys!("enterprise", enterprise),
    &[
        key!(
            "log.format",
            log.format,
            parse::log_format,
            "Log output format: \"text\" or \"json\"."
        ),
        key!(
            "log.level",
            log.level,
            parse::non_empty,
            "Log filter in tracing EnvFilter syntax, e.g. \"info\" or \
             \"switchboard=debug,info\"."
        ),
    ],
];

/// Largest MQTT packet the protocol can express (the variable-length remaining length).
const MQTT_MAX_PACKET_BYTES: u32 = 268_435_455;

/// Counts, limits and durations held in `u32`.
fn count(raw: Raw<'_>) -> Result<u32, String> {
    parse::at_least_one(raw, u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn paths_and_env_names_are_unique() {
        let paths: HashSet<_> = all().map(|key| key.path).collect();
        let names: HashSet<_> = all().map(|key| env_var_name(key.path)).collect();
        assert_eq!(paths.len(), all().count());
        assert_eq!(names.len(), all().count());
        for name in ENV_ALLOW_LIST {
            assert!(
                !names.contains(*name),
                "{name} is both a key and allow-listed"
            );
        }
    }

    #[test]
    fn env_name_rule() {
        assert_eq!(
            env_var_name("mqtt.tls_listen"),
            "SWITCHBOARD_MQTT_TLS_LISTEN"
        );
        assert_eq!(
            env_var_name("tiers.free.servers"),
            "SWITCHBOARD_TIERS_FREE_SERVERS"
        );
        assert_eq!(env_var_name("data_dir"), "SWITCHBOARD_DATA_DIR");
    }

    #[test]
    fn top_level_keys_come_first_and_tables_are_contiguous() {
        let mut seen = Vec::new();
        for key in all() {
            let table = key.table();
            if seen.last() != Some(&table) {
                assert!(!seen.contains(&table), "{} is not with its table", key.path);
                seen.push(table);
            }
        }
        assert_eq!(seen.iter().position(Option::is_none), Some(0));
    }

    /// Every key parses its own default written the way an operator would export it.
    #[test]
    fn every_default_parses_back_from_the_environment() {
        let defaults = Config::default();
        for key in all() {
            let text = match (key.get)(&defaults) {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            let mut config = Config::default();
            assert_eq!(
                (key.set)(&mut config, Raw::Env(&text)),
                Ok(()),
                "{}",
                key.path
            );
            assert_eq!(config, defaults, "{}", key.path);
        }
    }
}
