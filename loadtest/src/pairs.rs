//! The `pairs` run: connect every client (bounded concurrency), sample the idle server, set
//! up one signaling session per pair (switchboard mode), ping-pong at the rate for the
//! duration, drain, and report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttc::QoS;
use switchboard_protocol::topics;
use tokio::sync::Semaphore;

use crate::cli::{Mode, PairsArgs};
use crate::client::{self, ClientSpec, Pacing, Role, Running};
use crate::endpoint::Endpoint;
use crate::pairs_file;
use crate::procstat::{Sample, Target, Usage};
use crate::report::{self, ConnectPhase, LoadPhase, PairsReport, ServerReport, SetupPhase};
use crate::run_state::{Phase, RunState};

/// Pause after the setup so the tunnel reports are committed before pings start.
const SETTLE: Duration = Duration::from_secs(1);

/// Time given to clients to send DISCONNECT at the end.
const DISCONNECT_GRACE: Duration = Duration::from_millis(500);

/// Runs `pairs` and prints (and optionally writes) the report.
pub async fn run(args: PairsArgs) -> anyhow::Result<()> {
    if args.pairs == 0 || args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--pairs and --rate must be positive");
    }
    if args.warmup >= args.duration {
        bail!("--warmup must be shorter than --duration");
    }
    let b = &args.broker;
    let endpoint = Endpoint::new(b.broker.clone(), b.ca.as_deref(), b.keep_alive)?;
    let specs = client_specs(&args)?;
    let qos = if args.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let run = Arc::new(RunState::new(args.kind, args.payload_bytes)?);
    let server = args.server_pid.map(Target::Pid);
    let c = &run.counters;
    let total = specs.len() * 2;

    let before = sample(server)?;
    let connect_start = run.now_ns();
    let semaphore = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let mut clients: Vec<Running> = Vec::with_capacity(total);
    for (i, (source, target)) in specs.into_iter().enumerate() {
        let pacing = Pacing {
            period,
            offset: period.mul_f64(i as f64 / args.pairs as f64),
        };
        for spec in [source, target] {
            let permit = semaphore.clone().acquire_owned().await?;
            clients.push(client::spawn(
                run.clone(),
                &endpoint,
                spec,
                qos,
                pacing,
                permit,
            ));
        }
    }
    wait_for(&run, args.phase_timeout, || {
        get(&c.ready) + get(&c.connect_failed) >= total as u64
    })
    .await;
    let connected_at = sample(server)?;
    let connack_wall =
        Duration::from_nanos(get(&run.last_connack_ns).saturating_sub(connect_start));
    tokio::time::sleep(args.idle).await;
    let idle = sample(server)?;

    let setup = if b.mode == Mode::Switchboard {
        let started = Instant::now();
        run.phase.send_replace(Phase::Setup);
        // A pair with a client that never got ready cannot set up its session.
        let possible = (args.pairs as u64).saturating_sub(get(&c.connect_failed));
        wait_for(&run, args.phase_timeout, || get(&c.established) >= possible).await;
        let wall = started.elapsed();
        tokio::time::sleep(SETTLE).await;
        Some(SetupPhase {
            established: get(&c.established),
            wall_s: wall.as_secs_f64(),
            offer_answer: run.setup_rtt.summary(),
        })
    } else {
        None
    };

    let load_start = run.now_ns();
    run.record_from_ns
        .store(load_start + nanos(args.warmup), Ordering::Relaxed);
    let load_before = sample(server)?;
    let harness_before = Target::Myself.sample()?;
    run.phase.send_replace(Phase::Load {
        until_ns: load_start + nanos(args.duration),
    });
    tokio::time::sleep(args.duration).await;
    let load_after = sample(server)?;
    let harness_after = Target::Myself.sample()?;
    run.phase.send_replace(Phase::Drain);
    wait_for(&run, args.drain, || {
        get(&c.pings_received) >= get(&c.pings_sent) && get(&c.pongs_received) >= get(&c.pongs_sent)
    })
    .await;

    run.stopping.store(true, Ordering::Relaxed);
    for client in &clients {
        let _ = client.client.try_disconnect();
    }
    tokio::time::sleep(DISCONNECT_GRACE).await;
    for client in &clients {
        for task in &client.tasks {
            task.abort();
        }
    }

    let sent = get(&c.pings_sent) + get(&c.pongs_sent);
    let received = get(&c.pings_received) + get(&c.pongs_received);
    let report = PairsReport {
        mode: b.mode,
        broker: format!(
            "{}://{}:{}",
            if endpoint.url().tls { "mqtts" } else { "mqtt" },
            endpoint.url().host,
            endpoint.url().port
        ),
        kind: args.kind,
        qos: args.qos,
        pairs: args.pairs,
        rate_per_pair: args.rate,
        duration_s: args.duration.as_secs_f64(),
        warmup_s: args.warmup.as_secs_f64(),
        payload_bytes: args.payload_bytes,
        connect: ConnectPhase {
            clients: total,
            connected: get(&c.connected),
            ready: get(&c.ready),
            failed: get(&c.connect_failed),
            wall_s: connack_wall.as_secs_f64(),
            per_second: per_second(get(&c.connected), connack_wall),
            connack: run.connack.summary(),
        },
        setup,
        load: LoadPhase {
            pings_sent: get(&c.pings_sent),
            pings_received: get(&c.pings_received),
            pongs_sent: get(&c.pongs_sent),
            pongs_received: get(&c.pongs_received),
            lost: sent.saturating_sub(received),
            send_failed: get(&c.send_failed),
            disconnects: get(&c.disconnects),
            byes: get(&c.byes),
            unexpected: get(&c.unexpected),
            round_trips_per_s: per_second(get(&c.pongs_received), args.duration),
            rtt: run.rtt.summary(),
            one_way: run.one_way.summary(),
            ping_one_way: run.ping_one_way.summary(),
        },
        errors: run.errors(),
        problems: run.samples(),
        server: match (
            args.server_pid,
            before,
            connected_at,
            idle,
            load_before,
            load_after,
        ) {
            (Some(pid), Some(before), Some(connected_at), Some(idle), Some(lb), Some(la)) => {
                let ready = get(&c.ready).max(1) as f64;
                Some(ServerReport {
                    pid,
                    rss_before_mib: before.rss_kib as f64 / 1024.0,
                    rss_idle_mib: idle.rss_kib as f64 / 1024.0,
                    rss_load_end_mib: la.rss_kib as f64 / 1024.0,
                    idle_kib_per_client: (idle.rss_kib as f64 - before.rss_kib as f64) / ready,
                    cpu_cores_connect: Usage::between(&before, &connected_at).cpu_cores,
                    cpu_cores_load: Usage::between(&lb, &la).cpu_cores,
                })
            }
            _ => None,
        },
        harness_cpu_cores: Usage::between(&harness_before, &harness_after).cpu_cores,
    };
    report.print();
    if let Some(path) = &args.json {
        report::write_json(path, &report)?;
    }
    Ok(())
}

/// The two clients of every pair.
fn client_specs(args: &PairsArgs) -> anyhow::Result<Vec<(ClientSpec, ClientSpec)>> {
    match args.broker.mode {
        Mode::Plain => Ok((0..args.pairs)
            .map(|i| {
                let side = |me: &str, peer: &str, role| ClientSpec {
                    client_id: format!("bench-{i}-{me}"),
                    login: None,
                    rx: format!("bench/{i}/{me}"),
                    tx: format!("bench/{i}/{peer}"),
                    role,
                    switchboard: false,
                };
                (side("a", "b", Role::Source), side("b", "a", Role::Target))
            })
            .collect()),
        Mode::Switchboard => {
            let path = args
                .broker
                .pairs_file
                .as_deref()
                .context("switchboard mode needs --pairs-file (from `provision`)")?;
            let pairs = pairs_file::read(path)?;
            if pairs.len() < args.pairs {
                bail!(
                    "{} lists {} connections; --pairs {} needs that many",
                    path.display(),
                    pairs.len(),
                    args.pairs
                );
            }
            Ok(pairs
                .into_iter()
                .take(args.pairs)
                .map(|p| {
                    let side = |side: &str, role| ClientSpec {
                        client_id: topics::client_id(&p.connection_id, side),
                        login: Some((p.connection_id.clone(), p.secret.clone())),
                        rx: topics::rx(&p.connection_id, side),
                        tx: topics::tx(&p.connection_id, side),
                        role,
                        switchboard: true,
                    };
                    (side("source", Role::Source), side("target", Role::Target))
                })
                .collect())
        }
    }
}

/// Waits until `done()` holds or `timeout` passes, re-checking whenever a counter moves (and
/// at least every 100 ms).
async fn wait_for(run: &RunState, timeout: Duration, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() && tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), run.progress.notified()).await;
    }
}

fn sample(target: Option<Target>) -> anyhow::Result<Option<Sample>> {
    target.map(Target::sample).transpose()
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn per_second(count: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}
