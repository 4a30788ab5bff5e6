//! Real tunnels: the real `switchboard` binary, two reference gateways (the
//! `switchboard-gateway` library, in this process) over MQTT/TLS, WebRTC DataChannels on
//! loopback UDP, direct and through the embedded TURN relay, carrying TCP to a local echo
//! service. Also: connectivity in the API, pause, secret rotation and termination.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;
use switchboard_gateway::{Exit, Forward, Options, Report, SecretSource, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

const WAIT: Duration = Duration::from_secs(15);

/// A running gateway: its reports, a way to stop it, and how it ended.
struct Gw {
    reports: mpsc::UnboundedReceiver<Report>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Exit>,
    listening: Option<SocketAddr>,
}

impl Gw {
    async fn next(&mut self) -> Report {
        tokio::time::timeout(WAIT, self.reports.recv())
            .await
            .expect("a report in time")
            .expect("the gateway is running")
    }

    /// Waits for `Connected`; returns its path.
    async fn connected(&mut self) -> String {
        loop {
            match self.next().await {
                Report::Connected { path, .. } => return path,
                Report::Listening(a) => self.listening = Some(a),
                _ => {}
            }
        }
    }

    async fn stop(mut self) -> Exit {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.done)
            .await
            .unwrap()
            .unwrap()
    }
}

/// An echo service standing in for the target's HL7 listener.
async fn echo_service() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

fn start(
    data_dir: &Path,
    conn: &str,
    secret_file: &Path,
    side: Side,
    forward: Forward,
    relay_only: bool,
) -> Gw {
    let ca = std::fs::read(data_dir.join("tls/dev-ca.pem")).unwrap();
    // Relay-only targets come over MQTT/WSS, everything else over MQTT/TLS: both transports
    // carry real tunnels.
    let broker = if relay_only && side == Side::Target {
        format!(
            "wss://localhost:{}/mqtt",
            listener(data_dir, "mqtt_wss").port()
        )
    } else {
        format!(
            "mqtts://localhost:{}",
            listener(data_dir, "mqtt_tls").port()
        )
    };
    let mut o = Options::new(
        broker,
        ca,
        conn,
        side,
        SecretSource::File(secret_file.to_owned()),
    );
    o.forward = forward;
    o.relay_only = relay_only;
    o.udp_bind = "127.0.0.1:0".parse().unwrap();
    o.max_backoff = Duration::from_secs(2);
    let (tx, reports) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        switchboard_gateway::run(
            o,
            async {
                let _ = stopped.await;
            },
            Some(tx),
        )
        .await
        .unwrap()
    });
    Gw {
        reports,
        stop: Some(stop),
        done,
        listening: None,
    }
}

/// Source and target gateways for a self-peering connection, the target forwarding to an
/// echo service; returns them once both report the tunnel up, with the path.
async fn pair(
    data_dir: &Path,
    conn: &str,
    secret_file: &Path,
    relay_only: bool,
) -> (Gw, Gw, String) {
    let echo = echo_service().await;
    let listen = Forward::Listen("127.0.0.1:0".parse().unwrap());
    let mut target = start(
        data_dir,
        conn,
        secret_file,
        Side::Target,
        Forward::Connect(echo.to_string()),
        relay_only,
    );
    let mut source = start(
        data_dir,
        conn,
        secret_file,
        Side::Source,
        listen,
        relay_only,
    );
    let path = source.connected().await;
    // Each side reports its own view of the selected pair; with relay-only both are relayed.
    let target_path = target.connected().await;
    if relay_only {
        assert_eq!((path.as_str(), target_path.as_str()), ("relay", "relay"));
    }
    (source, target, path)
}

/// Writes `data` through the tunnel and reads the echo back.
async fn round_trip(at: SocketAddr, data: Vec<u8>) -> Vec<u8> {
    let tcp = TcpStream::connect(at).await.unwrap();
    let (mut r, mut w) = tcp.into_split();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut back))
        .await
        .expect("the echo in time")
        .unwrap();
    writer.await.unwrap();
    back
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Polls the connection until `f` holds (at most 5 s).
fn eventually(server: &Server, conn: &str, owner: &str, f: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let c = connectivity(server, conn, owner);
        if f(&c) {
            return c;
        }
        assert!(Instant::now() < until, "connectivity never matched: {c}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn setup() -> (
    tempfile::TempDir,
    Server,
    String,
    String,
    std::path::PathBuf,
) {
    setup_with_env(&[])
}

fn setup_with_env(
    env: &[(&str, &str)],
) -> (
    tempfile::TempDir,
    Server,
    String,
    String,
    std::path::PathBuf,
) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(dir.path(), env);
    let (conn, secret, owner) = self_connection(&server);
    let secret_file = dir.path().join("gateway-secret");
    std::fs::write(&secret_file, &secret).unwrap();
    (dir, server, conn, owner, secret_file)
}

#[test]
fn a_direct_tunnel_carries_hl7_a_10_mib_transfer_and_concurrent_connections() {
    let (dir, server, conn, owner, secret_file) = setup();
    let before = connectivity(&server, &conn, &owner);
    assert_eq!(before["state"], "never_connected", "{before}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (source, target, path) = pair(dir.path(), &conn, &secret_file, false).await;
        assert_eq!(path, "direct");
        let at = source.listening.expect("the source listens");
        // One HL7 v2 message in MLLP framing, and its echo.
        let hl7 = b"\x0bMSH|^~\\&|SEND|FAC|RECV|FAC|202612041200||ADT^A01|MSG0001|P|2.5\rPID|1||12345^^^H||DOE^JANE\r\x1c\r".to_vec();
        assert_eq!(round_trip(at, hl7.clone()).await, hl7);
        // 10 MiB with a checksum.
        let big = pattern(10 << 20, 7);
        let sum = |b: &[u8]| b.iter().fold(0u64, |h, x| h.wrapping_mul(31).wrapping_add(u64::from(*x)));
        let back = round_trip(at, big.clone()).await;
        assert_eq!(back.len(), big.len());
        assert_eq!(sum(&back), sum(&big));
        // Several TCP connections at once, each its own DataChannel.
        let many: Vec<_> = (0..6u64)
            .map(|i| {
                let data = pattern(256 * 1024, i + 100);
                tokio::spawn(async move { (round_trip(at, data.clone()).await, data) })
            })
            .collect();
        for h in many {
            let (back, sent) = h.await.unwrap();
            assert!(back == sent, "a concurrent connection was corrupted");
        }
        // Back to back, no pause: each TCP connection opens while the previous channel may
        // still be closing on the far side.
        for i in 0..30u64 {
            let data = pattern(2048, i + 1000);
            assert!(round_trip(at, data.clone()).await == data, "connection {i}");
        }
        let c = eventually(&server, &conn, &owner, |c| c["state"] == "connected");
        assert_eq!(c["last_path"], "direct", "{c}");
        let (_, d) = call(
            server.http,
            "GET",
            &format!("/v1/connections/{conn}/diagnostics"),
            Some(&owner),
            None,
        );
        assert_eq!(d["summary"], "a tunnel is up", "{d}");
        assert!(c["last_connected_at"].is_string(), "{c}");
        assert_eq!(source.stop().await, Exit::Shutdown);
        assert_eq!(target.stop().await, Exit::Shutdown);
        let c = eventually(&server, &conn, &owner, |c| {
            c["state"] == "disconnected"
                && c["source"]["online"] == false
                && c["target"]["online"] == false
        });
        assert!(c["last_connected_at"].is_string(), "{c}");
        // Diagnostics explain it: the tunnel was direct, both gateways are offline now.
        let (s, d) = call(
            server.http,
            "GET",
            &format!("/v1/connections/{conn}/diagnostics"),
            Some(&owner),
            None,
        );
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["connectivity"], "disconnected", "{d}");
        assert_eq!(d["last_path"], "direct", "{d}");
        assert!(
            d["summary"].as_str().unwrap().contains("not online"),
            "{d}"
        );
    });
    server.terminate();
}

#[test]
fn a_relay_only_tunnel_goes_through_the_embedded_turn_server() {
    let (dir, server, conn, _owner, secret_file) = setup();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (source, target, path) = pair(dir.path(), &conn, &secret_file, true).await;
        assert_eq!(path, "relay");
        let at = source.listening.unwrap();
        let data = pattern(2 << 20, 3);
        assert!(round_trip(at, data.clone()).await == data);
        // The relay's accounting reads the allocations every few seconds.
        let until = Instant::now() + Duration::from_secs(20);
        let (relayed, metrics) = loop {
            let (s, metrics) = server.get("/metrics");
            assert_eq!(s, 200);
            let relayed: f64 = metrics
                .lines()
                .filter(|l| l.starts_with("switchboard_relay_bytes_total") && l.contains(&conn))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            if relayed >= (2 << 20) as f64 || Instant::now() > until {
                break (relayed, metrics);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let relay_lines: Vec<_> = metrics.lines().filter(|l| l.contains("relay")).collect();
        let allocations = relay_lines
            .iter()
            .find(|l| {
                l.starts_with("switchboard_relay_connection_allocations") && l.contains(&conn)
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
        assert_eq!(
            allocations,
            Some(2.0),
            "one allocation per gateway: {relay_lines:?}"
        );
        assert!(
            relayed >= (2 << 20) as f64,
            "relayed bytes in metrics: {relayed}; {relay_lines:?}"
        );
        source.stop().await;
        target.stop().await;
    });
    server.terminate();
}

#[test]
fn pause_rotation_and_termination_act_on_the_gateways() {
    let (dir, server, conn, owner, secret_file) = setup();
    let action = |what: &str| {
        let (s, v) = call(
            server.http,
            "POST",
            &format!("/v1/connections/{conn}/{what}"),
            Some(&owner),
            None,
        );
        assert_eq!(s, 200, "{what}: {v}");
        v
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (source, mut target, _) = pair(dir.path(), &conn, &secret_file, false).await;
        // Paused: the tunnel stays, but a new source cannot start a session.
        action("pause");
        assert_eq!(source.stop().await, Exit::Shutdown);
        let mut source = start(
            dir.path(),
            &conn,
            &secret_file,
            Side::Source,
            Forward::None,
            false,
        );
        let quiet = tokio::time::timeout(Duration::from_secs(2), source.connected()).await;
        assert!(quiet.is_err(), "a session started while paused");
        action("resume");
        source.connected().await;
        target.connected().await;
        // Rotation: both are disconnected, refused with the old secret, and come back
        // with the new one once it is written where they read it.
        action("secret/rotate");
        for gw in [&mut source, &mut target] {
            loop {
                if gw.next().await == Report::BadSecret {
                    break;
                }
            }
        }
        let new = action("secret/view")["secret"].as_str().unwrap().to_owned();
        std::fs::write(&secret_file, new).unwrap();
        source.connected().await;
        target.connected().await;
        // Termination: both gateways end, and say why.
        action("terminate");
        for gw in [source, target] {
            let exit = tokio::time::timeout(WAIT, gw.done).await.unwrap().unwrap();
            assert_eq!(exit, Exit::Terminated("terminated".into()));
        }
    });
    server.terminate();
}

/// TURN credentials that expire in 8 s: both gateways ask for fresh ones before then, and a
/// relay-only session started after the first ones expired still opens with the target's
/// refreshed credentials (the restarted source brings a fresh `welcome` of its own).
#[test]
fn turn_credentials_are_refreshed_before_they_expire() {
    let (dir, server, conn, _owner, secret_file) =
        setup_with_env(&[("SWITCHBOARD_TURN_CREDENTIAL_TTL_SECS", "8")]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (source, mut target, path) = pair(dir.path(), &conn, &secret_file, true).await;
        assert_eq!(path, "relay");
        assert_eq!(source.stop().await, Exit::Shutdown);
        loop {
            if target.next().await == Report::IceRefreshed {
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await; // the first credentials are dead
        let mut source = start(
            dir.path(),
            &conn,
            &secret_file,
            Side::Source,
            Forward::None,
            true,
        );
        assert_eq!(source.connected().await, "relay");
        assert_eq!(target.connected().await, "relay");
        source.stop().await;
        target.stop().await;
    });
    server.terminate();
}
