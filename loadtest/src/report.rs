//! The results of a pairs run, as JSON and as a human summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::cli::Mode;
use crate::payload::ProbeKind;
use crate::stats::Summary;

/// Everything a pairs run measured.
#[derive(Debug, Serialize)]
pub struct PairsReport {
    /// Switchboard or plain.
    pub mode: Mode,
    /// The broker URL.
    pub broker: String,
    /// Probe message type.
    pub kind: ProbeKind,
    /// QoS used.
    pub qos: u8,
    /// Pairs.
    pub pairs: usize,
    /// Pings per second per pair.
    pub rate_per_pair: f64,
    /// Load phase, seconds (warm-up included).
    pub duration_s: f64,
    /// Warm-up, seconds.
    pub warmup_s: f64,
    /// Probe payload size.
    pub payload_bytes: usize,
    /// Connect phase.
    pub connect: ConnectPhase,
    /// Session setup (switchboard mode).
    pub setup: Option<SetupPhase>,
    /// Load phase.
    pub load: LoadPhase,
    /// `error` messages by code.
    pub errors: BTreeMap<String, u64>,
    /// The first distinct problems seen (errors, failures, unexpected messages).
    pub problems: Vec<String>,
    /// The server process, when `--server-pid` was given.
    pub server: Option<ServerReport>,
    /// The harness's own CPU during the load phase, in cores.
    pub harness_cpu_cores: f64,
}

/// Connecting every client.
#[derive(Debug, Serialize)]
pub struct ConnectPhase {
    /// Clients started.
    pub clients: usize,
    /// Clients accepted by CONNACK.
    pub connected: u64,
    /// Clients subscribed (and welcomed, in switchboard mode).
    pub ready: u64,
    /// Clients that failed to connect or subscribe.
    pub failed: u64,
    /// First connect to last CONNACK, seconds.
    pub wall_s: f64,
    /// CONNACKs per second over that time.
    pub per_second: f64,
    /// CONNECT → CONNACK per client, TCP (and TLS) included.
    pub connack: Summary,
}

/// Offer → answer → tunnel for every pair.
#[derive(Debug, Serialize)]
pub struct SetupPhase {
    /// Pairs that got their answer.
    pub established: u64,
    /// Seconds until all (or the timeout).
    pub wall_s: f64,
    /// Setup offer sent → answer received.
    pub offer_answer: Summary,
}

/// Ping-pong at the rate.
#[derive(Debug, Serialize)]
pub struct LoadPhase {
    /// Pings published.
    pub pings_sent: u64,
    /// Pings delivered to targets.
    pub pings_received: u64,
    /// Pongs published.
    pub pongs_sent: u64,
    /// Pongs delivered to sources.
    pub pongs_received: u64,
    /// Messages published but never delivered (after the drain).
    pub lost: u64,
    /// Publishes the client could not queue.
    pub send_failed: u64,
    /// Connections lost after being ready.
    pub disconnects: u64,
    /// `bye` messages received.
    pub byes: u64,
    /// Payloads that were neither probes nor expected messages.
    pub unexpected: u64,
    /// Pongs received per second of load.
    pub round_trips_per_s: f64,
    /// Ping → pong at the source.
    pub rtt: Summary,
    /// Publish → delivery, pings and pongs.
    pub one_way: Summary,
    /// Publish → delivery, pings only (source → target).
    pub ping_one_way: Summary,
}

/// The server process's memory and CPU.
#[derive(Debug, Serialize)]
pub struct ServerReport {
    /// Its pid.
    pub pid: u32,
    /// RSS before any client connected, MiB.
    pub rss_before_mib: f64,
    /// RSS with every client connected and idle, MiB.
    pub rss_idle_mib: f64,
    /// RSS at the end of the load phase, MiB.
    pub rss_load_end_mib: f64,
    /// (idle − before) / ready clients, KiB.
    pub idle_kib_per_client: f64,
    /// CPU while clients connected, cores.
    pub cpu_cores_connect: f64,
    /// CPU during the load phase, cores.
    pub cpu_cores_load: f64,
}

impl PairsReport {
    /// Prints the human summary.
    pub fn print(&self) {
        let c = &self.connect;
        println!(
            "{:?} mode, {} pairs against {}: {} {} B probes at {}/s per pair, QoS {}, {:.0} s ({:.0} s warm-up)",
            self.mode,
            self.pairs,
            self.broker,
            kind_name(self.kind),
            self.payload_bytes,
            self.rate_per_pair,
            self.qos,
            self.duration_s,
            self.warmup_s
        );
        println!(
            "connect: {}/{} connected, {} ready, {} failed in {:.2} s = {:.0} connects/s",
            c.connected, c.clients, c.ready, c.failed, c.wall_s, c.per_second
        );
        println!("  CONNECT→CONNACK  {}", c.connack.line());
        if let Some(s) = &self.setup {
            println!(
                "setup: {}/{} sessions in {:.2} s; offer→answer {}",
                s.established,
                self.pairs,
                s.wall_s,
                s.offer_answer.line()
            );
        }
        let l = &self.load;
        println!(
            "load: pings {}/{} delivered, pongs {}/{} delivered, lost {}, send failures {}, disconnects {}, byes {}, unexpected {}; {:.0} round trips/s",
            l.pings_received,
            l.pings_sent,
            l.pongs_received,
            l.pongs_sent,
            l.lost,
            l.send_failed,
            l.disconnects,
            l.byes,
            l.unexpected,
            l.round_trips_per_s
        );
        println!("  round trip       {}", l.rtt.line());
        println!("  one way          {}", l.one_way.line());
        println!("  one way, pings   {}", l.ping_one_way.line());
        if !self.errors.is_empty() {
            println!("errors by code: {:?}", self.errors);
        }
        for p in &self.problems {
            println!("  problem: {p}");
        }
        if let Some(s) = &self.server {
            println!(
                "server pid {}: RSS {:.1} MiB before, {:.1} MiB idle ({:.1} KiB per client), {:.1} MiB after load; CPU {:.2} cores connecting, {:.2} cores under load",
                s.pid,
                s.rss_before_mib,
                s.rss_idle_mib,
                s.idle_kib_per_client,
                s.rss_load_end_mib,
                s.cpu_cores_connect,
                s.cpu_cores_load
            );
        }
        println!(
            "harness CPU under load: {:.2} cores",
            self.harness_cpu_cores
        );
    }
}

/// Writes a report as JSON to a file, or to stdout for `-`.
pub fn write_json<T: Serialize>(path: &Path, report: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    if path == Path::new("-") {
        println!("{text}");
        return Ok(());
    }
    let mut f =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{text}")?;
    Ok(())
}

fn kind_name(kind: ProbeKind) -> &'static str {
    match kind {
        ProbeKind::Candidate => "candidate",
        ProbeKind::Offer => "offer/answer",
    }
}
