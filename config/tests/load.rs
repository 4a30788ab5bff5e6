//! Loading from a file and the environment: precedence, unknown keys and variables, bad values.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use switchboard_config::{Config, ConfigErrors, ENV_ALLOW_LIST, LogFormat};

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn load_file(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, text);
    Config::load(Some(&path), env(vars))
}

fn problem<'a>(errors: &'a ConfigErrors, key: &str) -> &'a str {
    errors
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.problem.as_str())
        .unwrap_or_else(|| panic!("no error for {key} in:\n{errors}"))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    let config = load_file(
        r#"
data_dir = "/srv/sb"
[http]
listen = "127.0.0.1:9000"
max_body_bytes = 2048
[mqtt]
tcp_listen = "127.0.0.1:1883"
[turn]
advertise = "turn.example.org:3478"
[tiers.free]
servers = 3
admin_rw = true
[log]
format = "json"
"#,
        &[
            ("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:9100"),
            ("SWITCHBOARD_TIERS_FREE_SERVERS", "4"),
            ("SWITCHBOARD_MQTT_KEEPALIVE_MAX_SECS", "600"),
            ("SWITCHBOARD_TLS_CERT", ""),
            ("PATH", "/usr/bin"),
        ],
    )
    .unwrap();
    let mut expected = Config::default();
    expected.data_dir = PathBuf::from("/srv/sb");
    expected.http.listen = addr("127.0.0.1:9100");
    expected.http.max_body_bytes = 2048;
    expected.mqtt.tcp_listen = Some(addr("127.0.0.1:1883"));
    expected.mqtt.keepalive_max_secs = 600;
    expected.turn.advertise = Some("turn.example.org:3478".to_owned());
    expected.tiers.free.servers = Some(4);
    expected.tiers.free.admin_rw = true;
    expected.log.format = LogFormat::Json;
    assert_eq!(config, expected);
}

#[test]
fn env_alone_sets_every_kind_of_value() {
    let config = Config::load(
        None,
        env(&[
            ("SWITCHBOARD_DATA_DIR", "/tmp/sb"),
            ("SWITCHBOARD_MQTT_TCP_LISTEN", "[::1]:1883"),
            ("SWITCHBOARD_TIERS_STANDARD_PEERS", "unlimited"),
            ("SWITCHBOARD_TIERS_ENTERPRISE_CHANNELS_PER_SERVER", "100"),
            ("SWITCHBOARD_TIERS_FREE_SECRET_ROTATION", "true"),
            ("SWITCHBOARD_TIERS_ENTERPRISE_ADMIN_RW", "false"),
            ("SWITCHBOARD_SECRETS_KEY_FILE", "/etc/sb/master.key"),
            ("SWITCHBOARD_LOG_LEVEL", "switchboard=debug,info"),
            ("SWITCHBOARD_TURN_ADVERTISE", "203.0.113.7:3478"),
        ]),
    )
    .unwrap();
    assert_eq!(config.data_dir, Path::new("/tmp/sb"));
    assert_eq!(config.mqtt.tcp_listen, Some(addr("[::1]:1883")));
    assert_eq!(config.tiers.standard.peers, None);
    assert_eq!(config.tiers.enterprise.channels_per_server, Some(100));
    assert!(config.tiers.free.secret_rotation);
    assert!(!config.tiers.enterprise.admin_rw);
    assert_eq!(config.key_file_path(), Path::new("/etc/sb/master.key"));
    assert_eq!(config.log.level, "switchboard=debug,info");
    assert_eq!(config.turn.advertise.as_deref(), Some("203.0.113.7:3478"));
}

#[test]
fn unlimited_tier_values_in_the_file() {
    let config = load_file(
        r#"
[tiers.free]
servers = "unlimited"
peers = 7
[tiers.enterprise]
servers = 1000
"#,
        &[],
    )
    .unwrap();
    assert_eq!(config.tiers.free.servers, None);
    assert_eq!(config.tiers.free.peers, Some(7));
    assert_eq!(config.tiers.enterprise.servers, Some(1000));
    assert_eq!(config.tiers.enterprise.peers, None);

    let errors = load_file(
        "[tiers.free]\nservers = \"lots\"\npeers = 0\nchannels_per_server = -1\n",
        &[],
    )
    .unwrap_err();
    assert!(problem(&errors, "tiers.free.servers").contains("\"unlimited\""));
    assert!(problem(&errors, "tiers.free.peers").contains("at least 1"));
    assert!(problem(&errors, "tiers.free.channels_per_server").contains("at least 1"));
    assert_eq!(errors.len(), 3, "{errors}");
}

#[test]
fn malformed_toml_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "[http]\nlisten = \"127.0.0.1:8080\"\nmax_body_bytes = = 3\n",
    );
    let errors = Config::load(Some(&path), Vec::new()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    let error = &errors.0[0];
    assert_eq!(error.key, path.display().to_string());
    assert!(
        error.problem.starts_with("invalid TOML at line 3, column"),
        "{error}"
    );
    assert!(
        !errors.to_string().contains('\n'),
        "one line per error: {errors}"
    );
}

#[test]
fn malformed_toml_still_reports_env_errors() {
    let errors = load_file("listen = ", &[("SWITCHBOARD_HTTP_LISTEN", "nope")]).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors}");
    assert!(problem(&errors, "SWITCHBOARD_HTTP_LISTEN").contains("\"nope\""));
}

#[test]
fn missing_config_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let errors = Config::load(Some(&path), Vec::new()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].key, path.display().to_string());
    assert!(
        errors.0[0].problem.starts_with("cannot read config file"),
        "{errors}"
    );
}

#[test]
fn unknown_keys_in_the_file_are_all_reported() {
    let errors = load_file(
        r#"
data_dri = "x"
[http]
listn = "127.0.0.1:1"
max_body_bytes = 10
[mqtt]
tls_listen = "0.0.0.0:8883"
colour = "blue"
[htpp]
listen = "127.0.0.1:2"
[tiers.gold]
servers = 1
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        problem(&errors, "data_dri"),
        "unknown key (did you mean data_dir?)"
    );
    assert_eq!(
        problem(&errors, "http.listn"),
        "unknown key (did you mean http.listen?)"
    );
    assert_eq!(problem(&errors, "mqtt.colour"), "unknown key");
    assert_eq!(problem(&errors, "htpp"), "unknown table");
    assert!(problem(&errors, "tiers.gold").starts_with("unknown table"));
    assert_eq!(errors.len(), 5, "{errors}");
}

#[test]
fn wrong_shapes_in_the_file_are_reported() {
    let errors = load_file(
        "http = 5\n\"mqtt.tls_listen\" = \"0.0.0.0:1\"\n[log]\nlevel = { a = 1 }\nformat = \"xml\"\n[turn]\nrealm = 7\n[lockout]\nmax_failures = \"10\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(problem(&errors, "http"), "expected a table, found integer");
    assert!(problem(&errors, "\"mqtt.tls_listen\"").starts_with("unknown key"));
    assert_eq!(
        problem(&errors, "log.level"),
        "expected a string, found a table"
    );
    assert!(problem(&errors, "log.format").contains("\"xml\""));
    assert_eq!(
        problem(&errors, "turn.realm"),
        "expected a string, found integer 7"
    );
    assert_eq!(
        problem(&errors, "lockout.max_failures"),
        "expected an integer, found string \"10\""
    );
    assert_eq!(errors.len(), 6, "{errors}");
}

#[test]
fn unknown_switchboard_env_vars_are_reported_and_allow_listed_ones_ignored() {
    let errors = Config::load(
        None,
        env(&[
            ("SWITCHBOARD_CONFIG", "/etc/switchboard.toml"),
            ("SWITCHBOARD_LOG", "debug"),
            ("SWITCHBOARD_HTTP_LISTN", "127.0.0.1:1"),
            ("SWITCHBOARD_FROBNICATE", "1"),
            ("HOME", "/root"),
            ("switchboard_http_listen", "lowercase is not ours"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        problem(&errors, "SWITCHBOARD_HTTP_LISTN"),
        "unknown configuration environment variable (did you mean SWITCHBOARD_HTTP_LISTEN?)"
    );
    assert_eq!(
        problem(&errors, "SWITCHBOARD_FROBNICATE"),
        "unknown configuration environment variable"
    );
    assert_eq!(errors.len(), 2, "{errors}");

    let allowed: Vec<_> = ENV_ALLOW_LIST
        .iter()
        .map(|name| (name.to_string(), "anything".to_string()))
        .collect();
    assert_eq!(Config::load(None, allowed), Ok(Config::default()));
}

#[test]
fn bad_env_values_are_all_reported_at_once() {
    let errors = Config::load(
        None,
        env(&[
            ("SWITCHBOARD_MQTT_TLS_LISTEN", "0.0.0.0"),
            ("SWITCHBOARD_HTTP_MAX_BODY_BYTES", "abc"),
            ("SWITCHBOARD_LOCKOUT_MAX_FAILURES", "0"),
            ("SWITCHBOARD_TIERS_FREE_ADMIN_RW", "maybe"),
            ("SWITCHBOARD_MQTT_KEEPALIVE_MAX_SECS", "70000"),
            ("SWITCHBOARD_TURN_ADVERTISE", "turn.example.org"),
            ("SWITCHBOARD_TURN_REALM", ""),
            ("SWITCHBOARD_LOG_FORMAT", "JSON"),
        ]),
    )
    .unwrap_err();
    let listen = problem(&errors, "SWITCHBOARD_MQTT_TLS_LISTEN");
    assert!(
        listen.starts_with("invalid socket address \"0.0.0.0\""),
        "{listen}"
    );
    assert_eq!(
        problem(&errors, "SWITCHBOARD_HTTP_MAX_BODY_BYTES"),
        "expected an integer, got \"abc\""
    );
    assert_eq!(
        problem(&errors, "SWITCHBOARD_LOCKOUT_MAX_FAILURES"),
        "must be at least 1 (got 0)"
    );
    assert_eq!(
        problem(&errors, "SWITCHBOARD_TIERS_FREE_ADMIN_RW"),
        "expected true or false, got \"maybe\""
    );
    assert_eq!(
        problem(&errors, "SWITCHBOARD_MQTT_KEEPALIVE_MAX_SECS"),
        "must be at most 65535 (got 70000)"
    );
    assert!(problem(&errors, "SWITCHBOARD_TURN_ADVERTISE").contains("host:port"));
    assert_eq!(
        problem(&errors, "SWITCHBOARD_TURN_REALM"),
        "must not be empty"
    );
    assert!(problem(&errors, "SWITCHBOARD_LOG_FORMAT").contains("\"JSON\""));
    assert_eq!(errors.len(), 8, "{errors}");
    assert_eq!(errors.to_string().lines().count(), 8);
}

#[test]
fn a_bad_file_value_is_reported_even_when_env_overrides_it() {
    let errors = load_file(
        "[http]\nrequest_timeout_secs = 0\n",
        &[("SWITCHBOARD_HTTP_REQUEST_TIMEOUT_SECS", "15")],
    )
    .unwrap_err();
    assert_eq!(
        problem(&errors, "http.request_timeout_secs"),
        "must be at least 1 (got 0)"
    );
    assert_eq!(errors.len(), 1, "{errors}");
}

#[test]
fn errors_display_one_key_problem_line_each() {
    let errors = Config::load(
        None,
        env(&[
            ("SWITCHBOARD_TIMEOUTS_ACTOR_IDLE_SECS", "0"),
            ("SWITCHBOARD_NOPE", "1"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "SWITCHBOARD_NOPE: unknown configuration environment variable\n\
         SWITCHBOARD_TIMEOUTS_ACTOR_IDLE_SECS: must be at least 1 (got 0)"
    );
}

/// The example in `docs/configuration.md` is real output.
#[test]
fn documented_error_example_is_accurate() {
    let errors = load_file(
        "[http]\nlistn = \"127.0.0.1:8080\"\n[lockout]\nmax_failures = \"10\"\n",
        &[
            ("SWITCHBOARD_FROBNICATE", "1"),
            ("SWITCHBOARD_MQTT_TLS_LISTEN", "0.0.0.0"),
            ("SWITCHBOARD_HTTP_MAX_BODY_BYTES", "abc"),
            ("SWITCHBOARD_LOCKOUT_MAX_FAILURES", "0"),
            ("SWITCHBOARD_TIERS_FREE_ADMIN_RW", "maybe"),
            ("SWITCHBOARD_MQTT_KEEPALIVE_MIN_SECS", "301"),
        ],
    )
    .unwrap_err();
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/configuration.md"
    ))
    .unwrap();
    let block = format!("```text\n{errors}\n```\n");
    assert!(docs.contains(&block), "docs must show:\n{block}");
    assert_eq!(errors.len(), 8);
}
