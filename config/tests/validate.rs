//! Cross-field validation: TLS pairs and files, ranges, listener clashes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

use switchboard_config::{Config, ConfigErrors};

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    Config::load(
        None,
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    )
}

fn keys(errors: &ConfigErrors) -> Vec<&str> {
    errors.iter().map(|e| e.key.as_str()).collect()
}

#[test]
fn cert_and_key_must_come_together() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "pem").unwrap();
    let cert = cert.to_str().unwrap();

    let errors = load(&[("SWITCHBOARD_TLS_CERT", cert)]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "tls.key: must be set when tls.cert is set"
    );

    let errors = load(&[("SWITCHBOARD_TLS_KEY", cert)]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "tls.cert: must be set when tls.key is set"
    );
}

#[test]
fn readable_cert_and_key_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, "pem").unwrap();
    std::fs::write(&key, "pem").unwrap();
    let config = load(&[
        ("SWITCHBOARD_TLS_CERT", cert.to_str().unwrap()),
        ("SWITCHBOARD_TLS_KEY", key.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(config.tls_paths(), Some((cert, key)));
}

#[test]
fn missing_or_unreadable_cert_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    // A directory stands in for an unreadable file: permission bits do not stop root.
    let not_a_file = dir.path();
    let errors = load(&[
        ("SWITCHBOARD_TLS_CERT", missing.to_str().unwrap()),
        ("SWITCHBOARD_TLS_KEY", not_a_file.to_str().unwrap()),
    ])
    .unwrap_err();
    assert_eq!(keys(&errors), ["tls.cert", "tls.key"], "{errors}");
    assert!(
        errors.0[0]
            .problem
            .starts_with(&format!("cannot read {}:", missing.display())),
        "{errors}"
    );
    assert_eq!(
        errors.0[1].problem,
        format!("{} is not a regular file", not_a_file.display())
    );
}

#[test]
fn ranges_must_be_ordered() {
    let errors = load(&[
        ("SWITCHBOARD_MQTT_KEEPALIVE_MIN_SECS", "301"),
        ("SWITCHBOARD_TURN_RELAY_PORT_MIN", "50000"),
        ("SWITCHBOARD_TURN_RELAY_PORT_MAX", "49999"),
    ])
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "mqtt.keepalive_min_secs: must not be greater than mqtt.keepalive_max_secs (301 > 300)\n\
         turn.relay_port_min: must not be greater than turn.relay_port_max (50000 > 49999)"
    );
    let equal = load(&[
        ("SWITCHBOARD_TURN_RELAY_PORT_MIN", "50000"),
        ("SWITCHBOARD_TURN_RELAY_PORT_MAX", "50000"),
    ]);
    assert!(equal.is_ok());
}

#[test]
fn rules_on_keys_that_failed_to_parse_are_skipped() {
    // keepalive_min stays at its default (5) after failing; comparing 5 > 3 would be noise.
    let errors = load(&[
        ("SWITCHBOARD_MQTT_KEEPALIVE_MIN_SECS", "abc"),
        ("SWITCHBOARD_MQTT_KEEPALIVE_MAX_SECS", "3"),
        ("SWITCHBOARD_MQTT_WSS_LISTEN", "not-an-address"),
    ])
    .unwrap_err();
    assert_eq!(
        keys(&errors),
        [
            "SWITCHBOARD_MQTT_WSS_LISTEN",
            "SWITCHBOARD_MQTT_KEEPALIVE_MIN_SECS"
        ]
    );
}

#[test]
fn listeners_on_the_same_port_clash() {
    let errors = load(&[
        ("SWITCHBOARD_MQTT_WSS_LISTEN", "127.0.0.1:8080"),
        ("SWITCHBOARD_MQTT_TCP_LISTEN", "[::]:8883"),
    ])
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        "mqtt.wss_listen: 127.0.0.1:8080 uses the same port as http.listen; listeners need \
         distinct ports\n\
         mqtt.tcp_listen: [::]:8883 uses the same port as mqtt.tls_listen; listeners need \
         distinct ports"
    );
}

#[test]
fn listeners_that_do_not_overlap_are_fine() {
    let config = load(&[
        // Port 0 is ephemeral: each bind gets its own port.
        ("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:0"),
        ("SWITCHBOARD_MQTT_TLS_LISTEN", "127.0.0.1:0"),
        ("SWITCHBOARD_MQTT_WSS_LISTEN", "127.0.0.2:8443"),
        ("SWITCHBOARD_MQTT_TCP_LISTEN", "[::1]:8443"),
        // TURN is UDP and may reuse a TCP port number.
        ("SWITCHBOARD_TURN_LISTEN", "0.0.0.0:8443"),
    ]);
    assert!(config.is_ok(), "{config:?}");
}

#[test]
fn validate_checks_configs_built_in_code() {
    let mut config = Config::default();
    config.tls.cert = Some("/nonexistent/cert.pem".into());
    let errors = config.validate().unwrap_err();
    assert_eq!(keys(&errors), ["tls.key", "tls.cert"]);
}
