//! Back-pressure through a real tunnel: a local service on the target side that stops
//! reading must not make the gateways buffer what the source's client keeps writing. Its own
//! test binary, so the process's memory is this test's alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use support::*;
use switchboard_gateway::{Forward, Options, Report, SecretSource, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_service_that_stops_reading_stalls_the_writer_instead_of_growing_memory() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (conn, secret, _owner) = self_connection(&server);
    let secret_file = dir.path().join("gateway-secret");
    std::fs::write(&secret_file, &secret).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The target's service: accepts, then reads nothing until told to.
        let service = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service_addr = service.local_addr().unwrap();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let reader = tokio::spawn(async move {
            let (mut s, _) = service.accept().await.unwrap();
            let _ = go_rx.await;
            let mut total = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    return total;
                }
                total += n;
            }
        });
        let gateway = |side: Side, forward: Forward| {
            let ca = std::fs::read(dir.path().join("tls/dev-ca.pem")).unwrap();
            let broker = format!(
                "mqtts://localhost:{}",
                listener(dir.path(), "mqtt_tls").port()
            );
            let mut o = Options::new(
                broker,
                ca,
                conn.clone(),
                side,
                SecretSource::File(secret_file.clone()),
            );
            o.forward = forward;
            o.udp_bind = "127.0.0.1:0".parse().unwrap();
            let (tx, rx) = mpsc::unbounded_channel();
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(switchboard_gateway::run(
                o,
                async {
                    let _ = stopped.await;
                },
                Some(tx),
            ));
            (rx, stop)
        };
        let (_target_reports, _stop_target) =
            gateway(Side::Target, Forward::Connect(service_addr.to_string()));
        let (mut reports, _stop_source) = gateway(
            Side::Source,
            Forward::Listen("127.0.0.1:0".parse().unwrap()),
        );
        let mut at = None;
        loop {
            match tokio::time::timeout(Duration::from_secs(15), reports.recv())
                .await
                .unwrap()
                .unwrap()
            {
                Report::Listening(a) => at = Some(a),
                Report::Connected { .. } => break,
                _ => {}
            }
        }
        let before = rss_kib();
        // Write as fast as the tunnel takes it, for 3 s, into a service that reads nothing.
        let mut client = TcpStream::connect(at.unwrap()).await.unwrap();
        let chunk = vec![0x5au8; 64 * 1024];
        let mut written = 0usize;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while let Ok(Ok(())) = tokio::time::timeout_at(deadline, client.write_all(&chunk)).await {
            written += chunk.len();
        }
        let grown = rss_kib().saturating_sub(before);
        eprintln!("stalled: {written} bytes accepted, memory grew {grown} KiB");
        assert!(
            written < 64 << 20,
            "{written} bytes were accepted by a tunnel whose far end reads nothing"
        );
        assert!(
            grown < 48 * 1024,
            "memory grew by {grown} KiB while stalled"
        );
        // Once the service reads, everything written arrives.
        go_tx.send(()).unwrap();
        client.shutdown().await.unwrap();
        drop(client);
        let got = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .unwrap()
            .unwrap();
        assert!(got >= written, "got {got} of {written} bytes");
    });
    server.terminate();
}
