//! `connect`: one client connects, is accepted and disconnects, again and again, one at a
//! time. Each connect is timed from the start of the TCP connect to the CONNACK, so over
//! mqtts:// it includes a full TLS handshake (every connect builds a fresh TLS config, so no
//! session resumption) and, against Switchboard, the secret check.

use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::{Event, Outgoing, Packet};
use serde::Serialize;
use switchboard_protocol::topics;

use crate::cli::{ConnectArgs, Mode};
use crate::endpoint::Endpoint;
use crate::pairs_file;
use crate::report;
use crate::stats::{Latency, Summary};

/// Longest wait for one CONNACK.
const CONNACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for the DISCONNECT to go out before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Distinct failure texts kept for the report.
const PROBLEMS_KEPT: usize = 5;

/// What a connect run measured.
#[derive(Debug, Serialize)]
pub struct ConnectReport {
    /// Switchboard or plain.
    pub mode: Mode,
    /// The broker URL.
    pub broker: String,
    /// Connects tried.
    pub count: usize,
    /// Connects accepted.
    pub accepted: usize,
    /// Connects refused or timed out.
    pub failed: usize,
    /// Wall time of the whole run, seconds.
    pub wall_s: f64,
    /// Start of TCP connect → CONNACK.
    pub connack: Summary,
    /// The first distinct failures.
    pub problems: Vec<String>,
}

/// Runs `connect` and prints (and optionally writes) the report.
pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let b = &args.broker;
    let endpoint = Endpoint::new(b.broker.clone(), b.ca.as_deref(), b.keep_alive)?;
    let (client_id, login) = match b.mode {
        Mode::Plain => ("bench-connect".to_owned(), None),
        Mode::Switchboard => {
            let path = b
                .pairs_file
                .as_deref()
                .context("switchboard mode needs --pairs-file (from `provision`)")?;
            let pair = pairs_file::read(path)?.swap_remove(0);
            (
                topics::client_id(&pair.connection_id, "source"),
                Some((pair.connection_id, pair.secret)),
            )
        }
    };
    let login = login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let mut latency = Latency::new()?;
    let mut problems: Vec<String> = Vec::new();
    let mut failed = 0;
    let started = Instant::now();
    for _ in 0..args.count {
        let (client, mut eventloop) = endpoint.client(&client_id, login, 4);
        let t0 = Instant::now();
        let outcome = tokio::time::timeout(CONNACK_TIMEOUT, async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .await
        .unwrap_or_else(|_| Err("no CONNACK within 10 s".into()));
        match outcome {
            Ok(()) => latency.record(t0.elapsed()),
            Err(problem) => {
                failed += 1;
                if problems.len() < PROBLEMS_KEPT && !problems.contains(&problem) {
                    problems.push(problem);
                }
                continue;
            }
        }
        let _ = client.try_disconnect();
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Ok(event) = eventloop.poll().await {
                if let Event::Outgoing(Outgoing::Disconnect) = event {
                    break;
                }
            }
        })
        .await;
    }
    let url = endpoint.url();
    let report = ConnectReport {
        mode: b.mode,
        broker: format!(
            "{}://{}:{}",
            if url.tls { "mqtts" } else { "mqtt" },
            url.host,
            url.port
        ),
        count: args.count,
        accepted: args.count - failed,
        failed,
        wall_s: started.elapsed().as_secs_f64(),
        connack: latency.summary(),
        problems,
    };
    println!(
        "{:?} mode, {} sequential connects to {}: {} accepted, {} failed in {:.2} s",
        report.mode, report.count, report.broker, report.accepted, report.failed, report.wall_s
    );
    println!("  connect→CONNACK  {}", report.connack.line());
    for p in &report.problems {
        println!("  problem: {p}");
    }
    if let Some(path) = &args.json {
        report::write_json(path, &report)?;
    }
    Ok(())
}
