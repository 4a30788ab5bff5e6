//! What every client task of a pairs run shares: the clock, the phase, the counters and the
//! histograms.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::payload::ProbeKind;
use crate::stats::SharedLatency;

/// Distinct error messages kept for the report.
const ERROR_SAMPLES: usize = 8;

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Clients connect and subscribe.
    Connect,
    /// Sources offer, targets answer, sources report the tunnel (switchboard mode).
    Setup,
    /// Sources ping at the rate until the instant given (ns since the run's start).
    Load {
        /// When pings stop.
        until_ns: u64,
    },
    /// Pings stopped; late pongs are still counted.
    Drain,
}

/// Message counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Clients whose CONNACK accepted them.
    pub connected: AtomicU64,
    /// Clients ready to signal (subscribed; welcomed in switchboard mode).
    pub ready: AtomicU64,
    /// Clients that failed or gave up before being ready.
    pub connect_failed: AtomicU64,
    /// Pairs whose session is set up (answer received and tunnel reported).
    pub established: AtomicU64,
    /// Pings published by sources.
    pub pings_sent: AtomicU64,
    /// Pings received by targets.
    pub pings_received: AtomicU64,
    /// Pongs published by targets.
    pub pongs_sent: AtomicU64,
    /// Pongs received by sources.
    pub pongs_received: AtomicU64,
    /// Publishes that could not be queued (client request channel full or closed).
    pub send_failed: AtomicU64,
    /// Connections lost after being ready.
    pub disconnects: AtomicU64,
    /// Payloads that were neither probes nor expected protocol messages.
    pub unexpected: AtomicU64,
    /// `bye` messages received (session timeouts).
    pub byes: AtomicU64,
}

/// The shared state of one run.
pub struct RunState {
    /// Time zero of every timestamp in the payloads.
    pub start: Instant,
    /// Probe message type.
    pub kind: ProbeKind,
    /// Probe payload size.
    pub payload_bytes: usize,
    /// Probes sent before this instant (ns) are counted but not timed.
    pub record_from_ns: AtomicU64,
    /// When the last CONNACK arrived (ns since the run's start), for the connect rate.
    pub last_connack_ns: AtomicU64,
    /// Set before the clients are disconnected on purpose, so that is not counted as a loss.
    pub stopping: AtomicBool,
    /// Current phase; client tasks watch it.
    pub phase: watch::Sender<Phase>,
    /// Woken whenever a counter the controller waits on moves.
    pub progress: Notify,
    /// Counters.
    pub counters: Counters,
    /// CONNECT → CONNACK, TLS included.
    pub connack: SharedLatency,
    /// Setup offer sent → answer received (two relay passes plus the target's turnaround).
    pub setup_rtt: SharedLatency,
    /// Ping sent → pong received.
    pub rtt: SharedLatency,
    /// Publish → delivery to the peer, pings and pongs together.
    pub one_way: SharedLatency,
    /// Publish → delivery of pings only (source → target; with `--kind offer`, the offer relay).
    pub ping_one_way: SharedLatency,
    /// `error` messages by code.
    errors: Mutex<BTreeMap<String, u64>>,
    /// The first distinct error texts (code: message [ref]) and connection failures.
    samples: Mutex<Vec<String>>,
}

impl RunState {
    /// A run starting now.
    pub fn new(kind: ProbeKind, payload_bytes: usize) -> anyhow::Result<Self> {
        Ok(RunState {
            start: Instant::now(),
            kind,
            payload_bytes,
            record_from_ns: AtomicU64::new(u64::MAX),
            last_connack_ns: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            phase: watch::Sender::new(Phase::Connect),
            progress: Notify::new(),
            counters: Counters::default(),
            connack: SharedLatency::new()?,
            setup_rtt: SharedLatency::new()?,
            rtt: SharedLatency::new()?,
            one_way: SharedLatency::new()?,
            ping_one_way: SharedLatency::new()?,
            errors: Mutex::new(BTreeMap::new()),
            samples: Mutex::new(Vec::new()),
        })
    }

    /// Nanoseconds since the run's start.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a probe sent at `sent_ns` is past the warm-up.
    pub fn timed(&self, sent_ns: u64) -> bool {
        sent_ns >= self.record_from_ns.load(Ordering::Relaxed)
    }

    /// The latency of something sent at `sent_ns`, now.
    pub fn since(&self, sent_ns: u64) -> Duration {
        Duration::from_nanos(self.now_ns().saturating_sub(sent_ns))
    }

    /// Adds one to a counter and wakes the controller.
    pub fn bump(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
        self.progress.notify_waiters();
    }

    /// Counts an `error` message from the broker.
    pub fn error(&self, code: &str, text: String) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(code.to_owned())
            .or_default() += 1;
        self.sample(text);
    }

    /// Keeps a problem's text for the report (the first few distinct ones).
    pub fn sample(&self, text: String) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() < ERROR_SAMPLES && !samples.contains(&text) {
            samples.push(text);
        }
    }

    /// `error` counts by code.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The problem texts kept.
    pub fn samples(&self) -> Vec<String> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
