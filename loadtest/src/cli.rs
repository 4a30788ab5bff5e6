//! The command line: `provision`, `pairs`, `connect` and `tunnel`, and their options.

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
    /// Real tunnels between two reference gateways: setup time, throughput or idle CPU.
    Tunnel(TunnelArgs),
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

/// What a `tunnel` run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Both gateways online → DataChannel open on both, fresh gateways every run.
    Setup,
    /// `--bytes` one way through a fresh tunnel into a sink behind the target.
    Throughput,
    /// CPU the two gateways use while one tunnel sits idle for `--idle`.
    IdleCpu,
}

/// A server under test: `LABEL=DATA_DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Name in the report (`embedded`, `coturn`).
    pub label: String,
    /// The running server's data dir: `listeners.json`, `admin-token`, `tls/dev-ca.pem`.
    pub data_dir: PathBuf,
}

impl std::str::FromStr for ServerSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (label, dir) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected LABEL=DATA_DIR"))?;
        if label.is_empty() || dir.is_empty() {
            return Err(format!("{s:?}: expected LABEL=DATA_DIR, both non-empty"));
        }
        Ok(ServerSpec {
            label: label.to_owned(),
            data_dir: PathBuf::from(dir),
        })
    }
}

/// A process sampled for one server's runs: `LABEL=PID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledPid {
    /// The `--server` label it belongs to.
    pub label: String,
    /// The process.
    pub pid: u32,
}

impl std::str::FromStr for LabeledPid {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (label, pid) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected LABEL=PID"))?;
        let pid = pid
            .parse()
            .map_err(|_| format!("{s:?}: {pid:?} is not a process id"))?;
        if label.is_empty() {
            return Err(format!("{s:?}: expected LABEL=PID with a label"));
        }
        Ok(LabeledPid {
            label: label.to_owned(),
            pid,
        })
    }
}

/// `tunnel` options.
#[derive(Debug, Args)]
pub struct TunnelArgs {
    /// A running Switchboard server, as LABEL=DATA_DIR (its API, MQTT/TLS port, admin token
    /// and development CA are read from there; one connection is provisioned on it). Repeat
    /// to alternate servers run by run; the report compares the first with the others.
    #[arg(long = "server", required = true)]
    pub servers: Vec<ServerSpec>,
    /// The process relaying for a server's tunnels, as LABEL=PID (the Switchboard server for
    /// its embedded relay, coturn for coturn): its CPU is sampled over each transfer or idle
    /// period.
    #[arg(long = "relay-pid")]
    pub relay_pids: Vec<LabeledPid>,
    /// What to measure.
    #[arg(long, value_enum)]
    pub measure: Measure,
    /// ICE transport policy `relay` on both gateways: only TURN candidates.
    #[arg(long)]
    pub relay_only: bool,
    /// Recorded runs per server.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Runs per server before the recorded ones, reported apart (the first activates the
    /// connection's actor from the store and warms the caches).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Bytes sent one way per throughput run (`100MB` = 10⁸, `64MiB`, or plain bytes).
    #[arg(long, default_value = "100MB", value_parser = parse_bytes)]
    pub bytes: u64,
    /// How long the tunnel sits idle while its CPU is measured.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub idle: Duration,
    /// Wait after the tunnel is up before the idle measurement starts.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub settle: Duration,
    /// Driver kicker period of both gateways in milliseconds; 0 turns it off.
    #[arg(long, default_value_t = 2)]
    pub kicker_ms: u64,
    /// ICE connectivity-check interval in milliseconds (the gateway's default if not given).
    #[arg(long)]
    pub ice_check_ms: Option<u64>,
    /// Longest wait for a tunnel to come up.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub run_timeout: Duration,
    /// Longest wait for one throughput transfer.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub transfer_timeout: Duration,
    /// Also write the report as JSON to this file (`-` = stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `100MB` (10⁸), `64MiB` (2²⁶), `10KB`, `1GB`, or plain bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 100MB, 64MiB, 1000000)"))?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "{s:?}: unit must be B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    match value.checked_mul(scale) {
        Some(0) => Err(format!("{s:?}: must be at least one byte")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{s:?} is too large")),
    }
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
    fn sizes() {
        assert_eq!(parse_bytes("100MB"), Ok(100_000_000));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1500"), Ok(1500));
        assert_eq!(parse_bytes("2 KB"), Ok(2000));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert!(parse_bytes("0MB").is_err());
        assert!(parse_bytes("5TB").is_err());
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999999GB").is_err());
    }

    #[test]
    fn server_specs() {
        let s: ServerSpec = "coturn=/tmp/sb-b".parse().unwrap();
        assert_eq!(s.label, "coturn");
        assert_eq!(s.data_dir, PathBuf::from("/tmp/sb-b"));
        assert!("nolabel".parse::<ServerSpec>().is_err());
        assert!("=/tmp/x".parse::<ServerSpec>().is_err());
        assert!("x=".parse::<ServerSpec>().is_err());
        let p: LabeledPid = "coturn=4242".parse().unwrap();
        assert_eq!((p.label.as_str(), p.pid), ("coturn", 4242));
        assert!("coturn=x".parse::<LabeledPid>().is_err());
        assert!("=1".parse::<LabeledPid>().is_err());
        assert!("4242".parse::<LabeledPid>().is_err());
    }

    #[test]
    fn tunnel_defaults() {
        let cli = Cli::try_parse_from([
            "switchboard-loadtest",
            "tunnel",
            "--server",
            "embedded=/tmp/a",
            "--server",
            "coturn=/tmp/b",
            "--measure",
            "throughput",
            "--relay-only",
        ])
        .unwrap();
        let Command::Tunnel(t) = cli.command else {
            panic!("not tunnel")
        };
        assert_eq!(t.servers.len(), 2);
        assert_eq!(t.measure, Measure::Throughput);
        assert!(t.relay_only);
        assert_eq!(t.bytes, 100_000_000);
        assert_eq!(t.runs, 20);
        assert_eq!(t.kicker_ms, 2);
        assert_eq!(t.idle, Duration::from_secs(30));
        assert!(
            Cli::try_parse_from(["switchboard-loadtest", "tunnel", "--measure", "setup"]).is_err(),
            "a server is required"
        );
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
