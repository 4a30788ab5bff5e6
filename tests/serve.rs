//! End to end: the real binary starts on embedded defaults, answers health checks, keeps its
//! admin token and data across SIGKILL, shuts down cleanly on SIGTERM/SIGINT, and refuses bad
//! configuration, data dirs, key files and stores with clear errors, overwriting nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use support::{Server, run};
use switchboard_storage::Reader;

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn starts_answers_health_and_survives_sigkill_with_the_same_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    assert_eq!(
        server.get("/healthz"),
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(server.get("/readyz").0, 200);
    let (status, body) = server.get("/nope");
    assert_eq!(status, 404);
    assert!(body.contains(r#""code":"not_found""#));
    assert_eq!(support::http(server.http, "POST", "/healthz").0, 405);

    let token_file = data.join("admin-token");
    let token = fs::read_to_string(&token_file).unwrap();
    assert!(token.starts_with("sbt_"), "{token}");
    assert_eq!(mode(&token_file), 0o600);
    assert_eq!(mode(&data.join("keys/master.key")), 0o600);
    assert_eq!(mode(&data.join("tls/dev-key.pem")), 0o600);
    let listeners: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(data.join("listeners.json")).unwrap()).unwrap();
    assert!(listeners["http"].is_string() && listeners.get("mqtt_tls").is_some());
    assert!(listeners["mqtt_wss"].is_string(), "{listeners}");
    let cert_before = fs::read(data.join("tls/dev-cert.pem")).unwrap();

    server.kill();
    let server = Server::start(&data);
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(
        fs::read_to_string(&token_file).unwrap(),
        token,
        "the admin token survives a restart"
    );
    assert_eq!(
        fs::read(data.join("tls/dev-cert.pem")).unwrap(),
        cert_before,
        "the dev certificate is reused"
    );
    let (status, stderr) = server.terminate();
    assert!(status.success(), "{stderr}");

    // The token in the file is the one the store knows.
    let key = switchboard_storage::MasterKey::load(&data.join("keys/master.key")).unwrap();
    let store = switchboard_storage::Store::open(&data.join("switchboard.redb"), key).unwrap();
    let record = store
        .read()
        .unwrap()
        .lookup_api_token(token.trim())
        .unwrap()
        .expect("token known to the store");
    let admin = store
        .read()
        .unwrap()
        .get_user(&record.user_id)
        .unwrap()
        .unwrap();
    assert!(admin.platform_admin);
}

#[test]
fn sigterm_and_sigint_shut_down_cleanly() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path());
        server.signal(signal);
        let (status, stderr) = server.terminate_after_signal();
        assert!(status.success(), "{signal}: {stderr}");
        assert!(stderr.contains("shutdown complete"), "{stderr}");
        assert!(!stderr.contains("sbt_"), "no token in logs");
    }
}

#[test]
fn all_configuration_errors_are_reported_at_once_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("switchboard.toml");
    fs::write(
        &file,
        "[http]\nlisten = \"nowhere\"\nbogus = 1\n[tiers.free]\nservers = 0\n",
    )
    .unwrap();
    let (status, _, stderr) = run(
        &data,
        &["serve", "--config", file.to_str().unwrap()],
        &[
            ("SWITCHBOARD_MQTT_MAX_CONNECTIONS", "many"),
            ("SWITCHBOARD_NOPE", "1"),
        ],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    for key in [
        "http.listen",
        "http.bogus",
        "tiers.free.servers",
        "SWITCHBOARD_MQTT_MAX_CONNECTIONS",
        "SWITCHBOARD_NOPE",
    ] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
    assert!(
        !data.exists(),
        "nothing is created when the configuration is invalid"
    );

    fs::write(&file, "[http\nlisten = 1").unwrap();
    let (status, _, stderr) = run(&data, &["serve", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("line"), "{stderr}");
    let (status, _, stderr) = run(
        &data,
        &[
            "serve",
            "--config",
            dir.path().join("missing.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn a_data_dir_that_is_a_file_or_cannot_be_created_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, "keep me").unwrap();
    let (status, _, stderr) = run(&file, &["serve"], &[]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("not a directory"), "{stderr}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
    let (status, _, stderr) = run(&file.join("below"), &["serve"], &[]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("cannot create data dir"), "{stderr}");
}

#[test]
fn bad_key_files_and_stores_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    Server::start(&data).terminate();
    let key = data.join("keys/master.key");
    let store = data.join("switchboard.redb");

    // A key file readable by others.
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let (status, _, stderr) = run(&data, &["serve"], &[]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("master.key") && stderr.contains("0644") || stderr.contains("644"),
        "{stderr}"
    );
    assert_eq!(mode(&key), 0o644, "not silently fixed");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();

    // A missing key with an existing store: never regenerate (the secrets would be lost).
    let key_bytes = fs::read(&key).unwrap();
    fs::remove_file(&key).unwrap();
    let (status, _, stderr) = run(&data, &["serve"], &[]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("master.key"), "{stderr}");
    assert!(!key.exists(), "no new key was made");
    fs::write(&key, &key_bytes).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();

    // A truncated store.
    let original = fs::read(&store).unwrap();
    fs::write(&store, &original[..original.len() / 3]).unwrap();
    let (status, _, stderr) = run(&data, &["serve"], &[]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("switchboard.redb"), "{stderr}");
    assert_eq!(
        fs::read(&store).unwrap().len(),
        original.len() / 3,
        "nothing overwritten"
    );

    // Garbage in place of the store.
    fs::write(&store, vec![0xAB; original.len()]).unwrap();
    let (status, _, stderr) = run(&data, &["serve"], &[]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(fs::read(&store).unwrap(), vec![0xAB; original.len()]);

    // The original store comes back to life.
    fs::write(&store, &original).unwrap();
    let server = Server::start(&data);
    assert_eq!(server.get("/readyz").0, 200);
    server.terminate();
}

#[test]
fn a_configured_certificate_that_is_not_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    fs::write(&cert, "not a certificate").unwrap();
    fs::write(&key, "not a key").unwrap();
    let env = [
        ("SWITCHBOARD_TLS_CERT", cert.to_str().unwrap()),
        ("SWITCHBOARD_TLS_KEY", key.to_str().unwrap()),
    ];
    let (status, _, stderr) = run(&dir.path().join("data"), &["serve"], &env);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cert.pem") && stderr.contains("no certificate"),
        "{stderr}"
    );
}

#[test]
fn help_and_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stdout, _) = run(dir.path(), &["--help"], &[]);
    assert!(status.success());
    assert!(stdout.contains("serve") && stdout.contains("config"));
    let (status, stdout, _) = run(dir.path(), &["serve", "--help"], &[]);
    assert!(status.success());
    assert!(
        stdout.contains("admin-token")
            && stdout.contains("listeners.json")
            && stdout.contains("--data-dir")
    );
    let (status, stdout, _) = run(dir.path(), &["config", "default"], &[]);
    assert!(status.success());
    let file = dir.path().join("default.toml");
    fs::write(&file, stdout).unwrap();
    let (status, stdout, stderr) = run(
        dir.path(),
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
    );
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("configuration OK"));
}
