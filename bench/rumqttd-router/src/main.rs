//! rumqttd 0.20's `Router` with its own `Server` on plain TCP (MQTT 3.1.1, no auth, no TLS),
//! configured like the "direct, tuned" setup of the broker prototype
//! (shared/notes/broker-prototype.md §5): 20,000 connections, 5,000 outgoing packets per
//! router pass, 64 KiB × 4 commit-log segments per filter, no delay between accepts. Clients
//! publish straight to each other's topics, so every message is one router pass.
//!
//! Usage: `rumqttd-router-bench [--listen 127.0.0.1:0] [--port-file FILE]
//! [--max-outgoing 5000] [--segment-size 65536] [--segment-count 4]`. rumqttd's `Server`
//! binds the address itself and does not report the port, so for port 0 this program
//! picks a free port first (bind, read, release) and prints
//! `listening on 127.0.0.1:PORT`. Warnings (e.g. "Read cursor start jumped", which means
//! messages were skipped) go to stderr; `RUST_LOG` changes the filter.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use rumqttd::protocol::v4::V4;
use rumqttd::{ConnectionSettings, LinkType, Router, RouterConfig, Server, ServerSettings};

struct Options {
    listen: SocketAddr,
    port_file: Option<String>,
    max_outgoing: u64,
    segment_size: usize,
    segment_count: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        port_file: None,
        max_outgoing: 5_000,
        segment_size: 64 * 1024,
        segment_count: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--listen" => o.listen = value.parse().map_err(|e| bad(&e))?,
            "--port-file" => o.port_file = Some(value),
            "--max-outgoing" => o.max_outgoing = value.parse().map_err(|e| bad(&e))?,
            "--segment-size" => o.segment_size = value.parse().map_err(|e| bad(&e))?,
            "--segment-count" => o.segment_count = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut o = options()?;
    if o.listen.port() == 0 {
        o.listen = TcpListener::bind(o.listen)?.local_addr()?;
    }
    let router_tx = Router::new(
        0,
        RouterConfig {
            max_connections: 20_000,
            max_outgoing_packet_count: o.max_outgoing,
            max_segment_size: o.segment_size,
            max_segment_count: o.segment_count,
            ..Default::default()
        },
    )
    .spawn();
    let settings = ServerSettings {
        name: "v4-tcp".into(),
        listen: o.listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 64 * 1024 + 1024,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let mut server = Server::new(settings, router_tx, V4);
    let serving = tokio::spawn(async move { server.start(LinkType::Remote).await });
    // Give the server a moment to bind before announcing the port.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!("listening on {}", o.listen);
    if let Some(path) = &o.port_file {
        std::fs::write(path, format!("{}\n", o.listen.port()))?;
    }
    tokio::select! {
        r = serving => match r? {
            Ok(()) => Ok(()),
            Err(e) => Err(format!("server: {e:?}").into()),
        },
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
