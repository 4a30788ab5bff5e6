//! The command line: `provision`, `pairs` and `connect`, and their options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::endpoint::BrokerUrl;
use crate::payload::ProbeKind;

/// Load-test harness for Switchboard's MQTT broker (and reference brokers in plain mode).
#[derive(Debug, Parser)]
#[command(name = "switchboard-loadtest", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create N active p2p connections through the HTTP API and write their secrets.
    Provision(ProvisionArgs),
    /// Drive N client pairs: connect, (set up a session,) ping-pong at a rate, report.
    Pairs(PairsArgs),
    /// Sequential connect + CONNACK latency (TLS included for mqtts://).
    Connect(ConnectArgs),
}

/// Topics and login the clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Switchboard's gateway protocol: `C.source`/`C.target`, secret login, `sb/v1/c/C/S/rx|tx`.
    Switchboard,
    /// Any MQTT broker, no login: pair i uses `bench/{i}/a` and `bench/{i}/b`.
    Plain,
}

/// `provision` options.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// HTTP API base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// File holding the platform admin's token (`<data_dir>/admin-token`).
    #[arg(long)]
    pub token_file: PathBuf,
    /// Connections to create.
    #[arg(long)]
    pub pairs: usize,
    /// Where to write `[{connection_id, secret}]` (mode 0600).
    #[arg(long, default_value = "pairs.json")]
    pub out: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// Broker and client options shared by `pairs` and `connect`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// `mqtt://host:port` or `mqtts://host:port`.
    #[arg(long)]
    pub broker: BrokerUrl,
    /// CA certificate (PEM) for mqtts://.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Switchboard's gateway protocol, or plain MQTT for reference brokers.
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Connections and secrets from `provision` (switchboard mode).
    #[arg(long)]
    pub pairs_file: Option<PathBuf>,
    /// MQTT keep-alive.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub keep_alive: Duration,
}

/// `pairs` options.
#[derive(Debug, Args)]
pub struct PairsArgs {
    /// Broker and login.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Client pairs (2 connections each).
    #[arg(long, default_value_t = 1)]
    pub pairs: usize,
    /// Pings per second per pair (each answered by a pong).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Load phase length, warm-up included.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Start of the load phase whose latencies are not recorded.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Size of every ping and pong payload, bytes.
    #[arg(long, default_value_t = 300)]
    pub payload_bytes: usize,
    /// Gateway message used as ping/pong.
    #[arg(long, value_enum, default_value_t = ProbeKind::Candidate)]
    pub kind: ProbeKind,
    /// QoS of subscriptions and publishes (0 or 1).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,
    /// Connects in progress at once.
    #[arg(long, default_value_t = 100)]
    pub connect_concurrency: usize,
    /// Wait after all clients are connected before the idle memory sample.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub idle: Duration,
    /// Longest wait for late messages after the load phase.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub drain: Duration,
    /// Longest wait for all clients to connect, and for all sessions to be set up.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub phase_timeout: Duration,
    /// Server process to sample (RSS, CPU).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the report as JSON to this file (`-` = stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `connect` options.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Broker and login.
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Connects to make, one after the other.
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Also write the report as JSON to this file (`-` = stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `30s`, `500ms`, `2m`, or plain seconds (`30`, `0.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{s:?}: unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "switchboard-loadtest",
            "pairs",
            "--broker",
            "mqtt://127.0.0.1:1883",
            "--mode",
            "plain",
            "--pairs",
            "3",
        ])
        .unwrap();
        let Command::Pairs(p) = cli.command else {
            panic!("not pairs")
        };
        assert_eq!(p.pairs, 3);
        assert_eq!(p.duration, Duration::from_secs(30));
        assert_eq!(p.kind, ProbeKind::Candidate);
    }
}
