//! `tunnel`: real tunnels through real servers. Two reference gateways (the
//! `switchboard-gateway` library, in this process) on one connection per server negotiate a
//! WebRTC DataChannel through the broker, directly or through a TURN relay (`--relay-only`:
//! the embedded one, or whichever the server advertises, e.g. coturn). Every run starts a
//! fresh pair and stops it, then waits until the broker shows both offline. With several
//! `--server`s the runs alternate server by server, so a drifting machine affects all alike,
//! and the first server is compared with each other one.
//!
//! - `setup`: the later `Online` → the later `Connected` (DataChannel open on both sides).
//! - `throughput`: `--bytes` written into the source's listener, carried by the tunnel, read
//!   by a sink the target forwards to; from the TCP connect to the sink holding every byte.
//! - `idle-cpu`: utime + stime of this process (the two gateways; the harness sleeps) over
//!   `--idle` with one tunnel up and nothing sent, as % of one core per gateway.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::cli::{Measure, TunnelArgs};
use crate::gateways::{self, Pair, Server, Sink, Tuning};
use crate::netstat;
use crate::procstat::{Sample, Target, Usage};
use crate::report;
use crate::samples::{self, Spread};

/// Distinct failure texts kept per server.
const PROBLEMS_KEPT: usize = 5;

/// Gateways measured by `idle-cpu` (both in this process).
const GATEWAYS: usize = 2;

/// What one run measured; the fields of the other measures are absent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Run {
    /// Round (0-based; warm-up runs are numbered before the recorded ones).
    pub round: usize,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Path the tunnel took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Start of the gateways → both online, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_to_online_ms: Option<f64>,
    /// Both online → DataChannel open on both, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_ms: Option<f64>,
    /// Throughput, MB/s (10⁶ bytes per second).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mb_per_s: Option<f64>,
    /// Transfer time, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_s: Option<f64>,
    /// This process's CPU during the transfer or the idle period, in cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_cores: Option<f64>,
    /// The relay process's CPU (`--relay-pid`) during the transfer or the idle period, cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_cores: Option<f64>,
    /// UDP datagrams the machine dropped for full receive buffers during the transfer or the
    /// idle period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_rcvbuf_drops: Option<u64>,
    /// Idle CPU per gateway, % of one core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_percent_per_gateway: Option<f64>,
}

/// One server's runs and their summary.
#[derive(Debug, Serialize)]
pub struct ServerResult {
    /// The `--server` label.
    pub label: String,
    /// Its broker URL.
    pub broker: String,
    /// The connection used.
    pub connection_id: String,
    /// Recorded runs that succeeded.
    pub ok: usize,
    /// Recorded runs that failed.
    pub failed: usize,
    /// Paths the successful recorded runs took.
    pub paths: BTreeMap<String, usize>,
    /// The measure's figure over the successful recorded runs (ms, MB/s or % of a core).
    pub summary: Spread,
    /// Start → both online (setup and throughput runs), ms.
    pub start_to_online: Spread,
    /// This process's CPU during the transfers or idle periods, cores.
    pub process_cores: Spread,
    /// The relay process's CPU during the transfers or idle periods, cores.
    pub relay_cores: Spread,
    /// UDP receive-buffer drops per transfer or idle period.
    pub udp_rcvbuf_drops: Spread,
    /// The first distinct failures.
    pub problems: Vec<String>,
    /// The warm-up runs.
    pub warmup: Vec<Run>,
    /// The recorded runs.
    pub runs: Vec<Run>,
}

/// The first server against another one.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// `first ÷ other`.
    pub pair: String,
    /// Ratio of the two p50s.
    pub p50_ratio: Option<f64>,
    /// Median of the round-by-round ratios.
    pub median_round_ratio: Option<f64>,
    /// Every round's ratio.
    pub round_ratios: Vec<f64>,
}

/// Everything a `tunnel` run measured.
#[derive(Debug, Serialize)]
pub struct TunnelReport {
    /// What was measured.
    pub measure: Measure,
    /// Unit of `summary`.
    pub unit: &'static str,
    /// ICE transport policy `relay`.
    pub relay_only: bool,
    /// Kicker period, ms (0 = off).
    pub kicker_ms: u64,
    /// ICE check interval, ms, if not the gateway's default.
    pub ice_check_ms: Option<u64>,
    /// Bytes per throughput run.
    pub bytes: Option<u64>,
    /// Idle period, seconds.
    pub idle_s: Option<f64>,
    /// Per server.
    pub servers: Vec<ServerResult>,
    /// The first server against each other one.
    pub comparisons: Vec<Comparison>,
}

/// Runs `tunnel` and prints (and optionally writes) the report.
pub async fn run(args: TunnelArgs) -> anyhow::Result<()> {
    if args.runs == 0 {
        bail!("--runs must be positive");
    }
    if let Some(p) = args
        .relay_pids
        .iter()
        .find(|p| !args.servers.iter().any(|s| s.label == p.label))
    {
        bail!(
            "--relay-pid {}={}: no --server has that label",
            p.label,
            p.pid
        );
    }
    for (i, spec) in args.servers.iter().enumerate() {
        if args.servers[..i].iter().any(|s| s.label == spec.label) {
            bail!("--server label {:?} is given twice", spec.label);
        }
    }
    let mut servers = Vec::new();
    for spec in &args.servers {
        let server = Server::open(spec)
            .await
            .with_context(|| format!("server {:?} ({})", spec.label, spec.data_dir.display()))?;
        server.wait_offline().await?;
        servers.push(server);
    }
    let tuning = Tuning {
        relay_only: args.relay_only,
        kicker: Duration::from_millis(args.kicker_ms),
        ice_check: args.ice_check_ms.map(|ms| Duration::from_millis(ms.max(1))),
    };
    eprintln!(
        "tunnel: {:?}, {}, kicker {} ms, {} warm-up + {} runs on {}",
        args.measure,
        if args.relay_only {
            "relay-only"
        } else {
            "direct"
        },
        args.kicker_ms,
        args.warmup,
        args.runs,
        servers
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut runs: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
    for round in 0..args.warmup + args.runs {
        for (server, done) in servers.iter().zip(&mut runs) {
            let relay = args
                .relay_pids
                .iter()
                .find(|p| p.label == server.label)
                .map(|p| Target::Pid(p.pid));
            let mut r = match one_run(&args, server, tuning, relay).await {
                Ok(r) => r,
                Err(e) => Run {
                    error: Some(format!("{e:#}")),
                    ..Run::default()
                },
            };
            r.round = round;
            eprintln!("  {} #{round}: {}", server.label, describe(&r));
            done.push(r);
            server
                .wait_offline()
                .await
                .with_context(|| format!("server {:?} after round {round}", server.label))?;
        }
    }
    let results: Vec<ServerResult> = servers
        .iter()
        .zip(runs)
        .map(|(server, mut runs)| {
            let recorded = runs.split_off(args.warmup.min(runs.len()));
            let id = (
                server.label.as_str(),
                server.broker.as_str(),
                server.connection.connection_id.as_str(),
            );
            summarize(args.measure, id, runs, recorded)
        })
        .collect();
    let comparisons = results
        .iter()
        .skip(1)
        .map(|other| compare(args.measure, &results[0], other))
        .collect();
    let report = TunnelReport {
        measure: args.measure,
        unit: unit(args.measure),
        relay_only: args.relay_only,
        kicker_ms: args.kicker_ms,
        ice_check_ms: args.ice_check_ms,
        bytes: (args.measure == Measure::Throughput).then_some(args.bytes),
        idle_s: (args.measure == Measure::IdleCpu).then_some(args.idle.as_secs_f64()),
        servers: results,
        comparisons,
    };
    print(&report);
    if let Some(path) = &args.json {
        report::write_json(path, &report)?;
    }
    Ok(())
}

/// One fresh pair on `server`: up, measured, stopped.
async fn one_run(
    args: &TunnelArgs,
    server: &Server,
    tuning: Tuning,
    relay: Option<Target>,
) -> anyhow::Result<Run> {
    let sink = match args.measure {
        Measure::Throughput => Some(Sink::bind(args.bytes).await?),
        _ => None,
    };
    let mut pair = Pair::start(server, tuning, sink.as_ref().map(|s| s.addr));
    let measured = measure(args, &mut pair, sink, relay).await;
    let stopped = pair.stop().await;
    let run = measured?;
    stopped?;
    Ok(run)
}

async fn measure(
    args: &TunnelArgs,
    pair: &mut Pair,
    sink: Option<Sink>,
    relay: Option<Target>,
) -> anyhow::Result<Run> {
    let setup = pair.connected(args.run_timeout).await?;
    let mut run = Run {
        path: Some(setup.path.clone()),
        start_to_online_ms: Some(samples::millis(setup.start_to_online)),
        setup_ms: Some(samples::millis(setup.online_to_connected)),
        ..Run::default()
    };
    match (args.measure, sink) {
        (Measure::Setup, _) => {}
        (Measure::Throughput, Some(sink)) => {
            let at = pair
                .listening()
                .context("the source reported no listener")?;
            let meter = Meter::start(relay)?;
            let started = Instant::now();
            let sender = tokio::spawn(gateways::send_bulk(at, args.bytes));
            let (finished, received) = tokio::time::timeout(args.transfer_timeout, sink.done)
                .await
                .with_context(|| format!("transfer not done within {:?}", args.transfer_timeout))?
                .context("the sink ended without a result")?;
            let metered = meter.stop()?;
            sender.await.context("the sender panicked")??;
            if received < args.bytes {
                bail!("the sink got {received} of {} bytes", args.bytes);
            }
            let elapsed = finished.saturating_duration_since(started);
            run.mb_per_s = Some(samples::megabytes_per_second(args.bytes, elapsed));
            run.transfer_s = Some(elapsed.as_secs_f64());
            metered.record(&mut run);
        }
        (Measure::Throughput, None) => bail!("no sink for a throughput run"),
        (Measure::IdleCpu, _) => {
            tokio::time::sleep(args.settle).await;
            let meter = Meter::start(relay)?;
            tokio::time::sleep(args.idle).await;
            let metered = meter.stop()?;
            if pair.went_down() {
                bail!("the tunnel went down while idle");
            }
            run.idle_percent_per_gateway = Some(samples::percent_of_core_each(
                metered.process_cpu_secs,
                metered.wall_secs,
                GATEWAYS,
            ));
            metered.record(&mut run);
        }
    }
    Ok(run)
}

/// CPU of this process and of the relay, and the machine's UDP drops, from `start` to `stop`.
struct Meter {
    process: Sample,
    relay: Option<(Target, Sample)>,
    drops: u64,
}

/// What a [`Meter`] saw.
struct Metered {
    wall_secs: f64,
    process_cpu_secs: f64,
    process_cores: f64,
    relay_cores: Option<f64>,
    drops: u64,
}

impl Meter {
    fn start(relay: Option<Target>) -> anyhow::Result<Meter> {
        let relay = match relay {
            Some(t) => Some((t, t.sample().context("sampling the relay process")?)),
            None => None,
        };
        Ok(Meter {
            process: Target::Myself.sample()?,
            relay,
            drops: netstat::udp_rcvbuf_errors()?,
        })
    }

    fn stop(self) -> anyhow::Result<Metered> {
        let process = Target::Myself.sample()?;
        let relay_cores = match self.relay {
            Some((t, before)) => {
                let after = t.sample().context("sampling the relay process")?;
                Some(Usage::between(&before, &after).cpu_cores)
            }
            None => None,
        };
        Ok(Metered {
            wall_secs: process.at.duration_since(self.process.at).as_secs_f64(),
            process_cpu_secs: process.cpu_secs - self.process.cpu_secs,
            process_cores: Usage::between(&self.process, &process).cpu_cores,
            relay_cores,
            drops: netstat::udp_rcvbuf_errors()?.saturating_sub(self.drops),
        })
    }
}

impl Metered {
    fn record(&self, run: &mut Run) {
        run.process_cores = Some(self.process_cores);
        run.relay_cores = self.relay_cores;
        run.udp_rcvbuf_drops = Some(self.drops);
    }
}

/// The figure a measure reports for one run.
fn figure(measure: Measure, run: &Run) -> Option<f64> {
    if run.error.is_some() {
        return None;
    }
    match measure {
        Measure::Setup => run.setup_ms,
        Measure::Throughput => run.mb_per_s,
        Measure::IdleCpu => run.idle_percent_per_gateway,
    }
}

fn unit(measure: Measure) -> &'static str {
    match measure {
        Measure::Setup => "ms",
        Measure::Throughput => "MB/s",
        Measure::IdleCpu => "% of a core per gateway",
    }
}

fn summarize(
    measure: Measure,
    server: (&str, &str, &str),
    warmup: Vec<Run>,
    runs: Vec<Run>,
) -> ServerResult {
    let (label, broker, connection_id) = server;
    let ok: Vec<&Run> = runs.iter().filter(|r| r.error.is_none()).collect();
    let mut paths = BTreeMap::new();
    for r in &ok {
        if let Some(p) = &r.path {
            *paths.entry(p.clone()).or_insert(0) += 1;
        }
    }
    let collect =
        |f: fn(&Run) -> Option<f64>| -> Vec<f64> { ok.iter().filter_map(|r| f(r)).collect() };
    let mut problems: Vec<String> = Vec::new();
    for e in runs.iter().chain(&warmup).filter_map(|r| r.error.as_ref()) {
        if problems.len() < PROBLEMS_KEPT && !problems.contains(e) {
            problems.push(e.clone());
        }
    }
    let figures: Vec<f64> = ok.iter().filter_map(|r| figure(measure, r)).collect();
    ServerResult {
        label: label.to_owned(),
        broker: broker.to_owned(),
        connection_id: connection_id.to_owned(),
        ok: ok.len(),
        failed: runs.len() - ok.len(),
        paths,
        summary: Spread::of(&figures),
        start_to_online: Spread::of(&collect(|r| r.start_to_online_ms)),
        process_cores: Spread::of(&collect(|r| r.process_cores)),
        relay_cores: Spread::of(&collect(|r| r.relay_cores)),
        udp_rcvbuf_drops: Spread::of(&collect(|r| r.udp_rcvbuf_drops.map(|d| d as f64))),
        problems,
        warmup,
        runs,
    }
}

fn compare(measure: Measure, first: &ServerResult, other: &ServerResult) -> Comparison {
    let per_round = |s: &ServerResult| -> Vec<Option<f64>> {
        s.runs.iter().map(|r| figure(measure, r)).collect()
    };
    let (round_ratios, median_round_ratio) =
        samples::round_ratios(&per_round(first), &per_round(other));
    let p50_ratio =
        (first.summary.count > 0 && other.summary.count > 0 && other.summary.p50 != 0.0)
            .then(|| first.summary.p50 / other.summary.p50);
    Comparison {
        pair: format!("{} ÷ {}", first.label, other.label),
        p50_ratio,
        median_round_ratio,
        round_ratios,
    }
}

/// One run in a line, for progress on stderr.
fn describe(r: &Run) -> String {
    if let Some(e) = &r.error {
        return format!("FAILED: {e}");
    }
    let mut parts = vec![format!("path {}", r.path.as_deref().unwrap_or("?"))];
    if let Some(ms) = r.setup_ms {
        parts.push(format!("setup {ms:.1} ms"));
    }
    if let Some(v) = r.mb_per_s {
        parts.push(format!("{v:.1} MB/s"));
    }
    if let Some(v) = r.idle_percent_per_gateway {
        parts.push(format!("{v:.2} % of a core per gateway"));
    }
    if let Some(v) = r.process_cores {
        parts.push(format!("gateways' process {v:.3} cores"));
    }
    if let Some(v) = r.relay_cores {
        parts.push(format!("relay {v:.3} cores"));
    }
    if let Some(v) = r.udp_rcvbuf_drops {
        parts.push(format!("{v} UDP drops"));
    }
    parts.join(", ")
}

fn print(report: &TunnelReport) {
    println!(
        "tunnel {:?}, {}, kicker {} ms{}",
        report.measure,
        if report.relay_only {
            "relay-only"
        } else {
            "direct"
        },
        report.kicker_ms,
        report
            .bytes
            .map(|b| format!(", {b} bytes per run"))
            .unwrap_or_default()
    );
    for s in &report.servers {
        let line = match report.measure {
            Measure::Setup => s.summary.p95_line(report.unit),
            Measure::Throughput => s.summary.range_line(report.unit, 1),
            Measure::IdleCpu => s.summary.range_line(report.unit, 2),
        };
        println!(
            "  {}: {line}; {} ok, {} failed, paths {:?}",
            s.label, s.ok, s.failed, s.paths
        );
        if report.measure == Measure::Setup {
            println!(
                "    start → both online {}",
                s.start_to_online.p95_line("ms")
            );
        } else {
            println!(
                "    gateways' process CPU {}",
                s.process_cores.range_line("cores", 3)
            );
            if s.relay_cores.count > 0 {
                println!("    relay CPU {}", s.relay_cores.range_line("cores", 3));
            }
            println!(
                "    UDP receive-buffer drops {}",
                s.udp_rcvbuf_drops.range_line("per run", 0)
            );
        }
        for p in &s.problems {
            println!("    problem: {p}");
        }
    }
    for c in &report.comparisons {
        let f = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"));
        println!(
            "  {}: p50 ratio {}, median of round ratios {}",
            c.pair,
            f(c.p50_ratio),
            f(c.median_round_ratio)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throughput(round: usize, mb_per_s: Option<f64>) -> Run {
        Run {
            round,
            error: mb_per_s.is_none().then(|| "transfer not done".to_owned()),
            path: mb_per_s.map(|_| "relay".to_owned()),
            mb_per_s,
            start_to_online_ms: Some(5.0),
            ..Run::default()
        }
    }

    fn server(label: &str, figures: &[Option<f64>]) -> ServerResult {
        let runs = figures
            .iter()
            .enumerate()
            .map(|(i, f)| throughput(i + 1, *f))
            .collect();
        summarize(
            Measure::Throughput,
            (label, "mqtts://localhost:1", "conn_X"),
            vec![throughput(0, Some(1.0))],
            runs,
        )
    }

    #[test]
    fn summaries_count_only_recorded_successful_runs() {
        let s = server(
            "embedded",
            &[Some(10.0), None, Some(30.0), Some(20.0), None],
        );
        assert_eq!((s.ok, s.failed), (3, 2));
        assert_eq!(s.paths.get("relay"), Some(&3));
        assert_eq!(
            (s.summary.p50, s.summary.min, s.summary.max),
            (20.0, 10.0, 30.0)
        );
        assert_eq!(s.warmup.len(), 1, "the warm-up run is kept apart");
        assert_eq!(s.problems, vec!["transfer not done".to_owned()]);
        assert_eq!(s.start_to_online.count, 3);
    }

    #[test]
    fn comparisons_divide_the_first_server_by_the_other() {
        let a = server("embedded", &[Some(10.0), Some(30.0), Some(20.0)]);
        let b = server("coturn", &[Some(5.0), None, Some(40.0)]);
        let c = compare(Measure::Throughput, &a, &b);
        assert_eq!(c.pair, "embedded ÷ coturn");
        assert_eq!(c.round_ratios, vec![2.0, 0.5]);
        assert_eq!(c.median_round_ratio, Some(0.5));
        // p50s: 20 (of 10, 20, 30) and 5 (of 5, 40, nearest rank).
        assert_eq!(c.p50_ratio, Some(4.0));
        let none = server("none", &[None]);
        assert_eq!(compare(Measure::Throughput, &a, &none).p50_ratio, None);
    }

    #[test]
    fn each_measure_has_its_figure() {
        let run = Run {
            setup_ms: Some(12.0),
            mb_per_s: Some(30.0),
            idle_percent_per_gateway: Some(1.5),
            ..Run::default()
        };
        assert_eq!(figure(Measure::Setup, &run), Some(12.0));
        assert_eq!(figure(Measure::Throughput, &run), Some(30.0));
        assert_eq!(figure(Measure::IdleCpu, &run), Some(1.5));
        let failed = Run {
            error: Some("x".into()),
            ..run
        };
        assert_eq!(figure(Measure::Setup, &failed), None);
    }
}
