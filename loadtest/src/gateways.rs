//! A server under test and a pair of reference gateways on it: the server's addresses and
//! credentials read from its data dir and one connection provisioned through its API; a
//! source and a target gateway (the `switchboard-gateway` library, in this process) started
//! fresh, watched through their reports and stopped; the sink service the target forwards
//! to; and the bulk writer that feeds the source's listener.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use switchboard_gateway::{Exit, Forward, Options, Report, SecretSource, Side};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::cli::ServerSpec;
use crate::pairs_file::PairCredentials;
use crate::provision::{self, Api};

/// Longest wait for a stopped gateway to end its session and close its MQTT link.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for the broker to see both stopped gateways offline.
const OFFLINE_TIMEOUT: Duration = Duration::from_secs(15);

/// How often the connection's presence is read while waiting for it to go offline.
const OFFLINE_POLL: Duration = Duration::from_millis(50);

/// Longest jittered wait between a gateway's reconnection or re-offer attempts; short, so a
/// failed attempt costs a run little.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Size of each write of the bulk sender.
const WRITE_CHUNK: usize = 64 * 1024;

/// A running Switchboard server with one active connection for the gateways.
pub struct Server {
    /// Name in the report.
    pub label: String,
    /// `mqtts://localhost:PORT`.
    pub broker: String,
    /// The development CA that signed the broker's certificate.
    ca_pem: Vec<u8>,
    /// The API, to watch the connection's presence.
    api: Api,
    /// The connection owner's token.
    owner_token: String,
    /// The connection and its secret.
    pub connection: PairCredentials,
}

impl Server {
    /// Reads the server's `listeners.json`, admin token and development CA from its data dir
    /// and provisions one connection through its API.
    pub async fn open(spec: &ServerSpec) -> anyhow::Result<Server> {
        let dir = &spec.data_dir;
        let listeners: Value = serde_json::from_str(&read(&dir.join("listeners.json"))?)
            .context("listeners.json is not JSON")?;
        let address = |key: &str| -> anyhow::Result<SocketAddr> {
            listeners[key]
                .as_str()
                .with_context(|| format!("no {key:?} in listeners.json"))?
                .parse()
                .with_context(|| format!("listeners.json: bad {key:?}"))
        };
        let http = address("http")?;
        let mqtt_tls = address("mqtt_tls")?;
        let admin = read(&dir.join("admin-token"))?;
        let ca_pem = std::fs::read(dir.join("tls/dev-ca.pem"))
            .with_context(|| format!("reading {}/tls/dev-ca.pem", dir.display()))?;
        let api = Api::new(&format!("http://{http}"))?;
        let mut made = provision::connections(&api, admin.trim(), 1, 1).await?;
        let connection = made
            .pairs
            .pop()
            .context("provisioning returned no connection")?;
        Ok(Server {
            label: spec.label.clone(),
            // The development certificate names localhost and 127.0.0.1.
            broker: format!("mqtts://localhost:{}", mqtt_tls.port()),
            ca_pem,
            api,
            owner_token: made.owner_token,
            connection,
        })
    }

    /// Waits until the broker shows neither side of the connection online, so the next
    /// gateways start from a clean slate (no session takeover, no stale presence).
    pub async fn wait_offline(&self) -> anyhow::Result<()> {
        let path = format!("/v1/connections/{}", self.connection.connection_id);
        let until = Instant::now() + OFFLINE_TIMEOUT;
        loop {
            let view = self.api.get(&path, &self.owner_token).await?;
            let online = |side: &str| view["connectivity"][side]["online"].as_bool();
            match (online("source"), online("target")) {
                (Some(false), Some(false)) => return Ok(()),
                (Some(_), Some(_)) => {}
                _ => bail!("GET {path}: no connectivity.source/target.online in {view}"),
            }
            if Instant::now() > until {
                bail!("the gateways still show online {OFFLINE_TIMEOUT:?} after they stopped");
            }
            tokio::time::sleep(OFFLINE_POLL).await;
        }
    }
}

/// How both gateways of a pair are tuned.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// ICE transport policy `relay`.
    pub relay_only: bool,
    /// Driver kicker period; zero = off.
    pub kicker: Duration,
    /// ICE check interval, when not the gateway's default.
    pub ice_check: Option<Duration>,
}

/// When a pair came up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Start of the gateways → the later of their `Online` reports.
    pub start_to_online: Duration,
    /// The later `Online` → the later `Connected`.
    pub online_to_connected: Duration,
    /// The path the source reported (`direct`, `relay`).
    pub path: String,
}

/// A source and a target gateway for one connection.
pub struct Pair {
    source: Gateway,
    target: Gateway,
    started: Instant,
}

impl Pair {
    /// Starts the target, then the source (the order a deployment usually has). The source
    /// listens on an ephemeral loopback port; the target forwards to `forward_to`, if given.
    pub fn start(server: &Server, tuning: Tuning, forward_to: Option<SocketAddr>) -> Pair {
        let started = Instant::now();
        let target_forward = match forward_to {
            Some(addr) => Forward::Connect(addr.to_string()),
            None => Forward::None,
        };
        let target = Gateway::start(server, Side::Target, target_forward, tuning);
        let source_forward = Forward::Listen(SocketAddr::from(([127, 0, 0, 1], 0)));
        let source = Gateway::start(server, Side::Source, source_forward, tuning);
        Pair {
            source,
            target,
            started,
        }
    }

    /// Waits until both gateways report the tunnel connected.
    pub async fn connected(&mut self, timeout: Duration) -> anyhow::Result<Setup> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.source.connected.is_none() || self.target.connected.is_none() {
            let next = tokio::time::timeout_at(deadline, self.next()).await;
            let (side, report, at) = match next {
                Ok(event) => event?,
                Err(_) => bail!(
                    "no tunnel within {timeout:?} (source: {}; target: {})",
                    self.source.state(),
                    self.target.state()
                ),
            };
            if report == Report::BadSecret {
                bail!("the broker refused the {} gateway's secret", side.as_str());
            }
            self.gateway(side).note(report, at);
        }
        let (Some(so), Some(to), Some((sc, path)), Some((tc, _))) = (
            self.source.online,
            self.target.online,
            self.source.connected.clone(),
            self.target.connected.clone(),
        ) else {
            bail!("a gateway reported Connected without Online");
        };
        let online = so.max(to);
        let connected = sc.max(tc);
        Ok(Setup {
            start_to_online: online.saturating_duration_since(self.started),
            online_to_connected: connected.saturating_duration_since(online),
            path,
        })
    }

    /// The source's local listener (known once it reported `Listening`, which comes first).
    pub fn listening(&self) -> Option<SocketAddr> {
        self.source.listening
    }

    /// Takes the reports that arrived since the last look; true if either gateway reported
    /// its tunnel down.
    pub fn went_down(&mut self) -> bool {
        for gw in [&mut self.source, &mut self.target] {
            while let Ok(report) = gw.reports.try_recv() {
                gw.note(report, Instant::now());
            }
        }
        self.source.downs > 0 || self.target.downs > 0
    }

    /// Stops both gateways (each ends its session with `bye` and closes its MQTT link) and
    /// waits for them to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let (source, target) = tokio::join!(self.source.stop(), self.target.stop());
        for (side, exit) in [("source", source), ("target", target)] {
            match exit.with_context(|| format!("stopping the {side}"))? {
                Exit::Shutdown => {}
                other => bail!("the {side} gateway ended with {other:?}, not a shutdown"),
            }
        }
        Ok(())
    }

    fn gateway(&mut self, side: Side) -> &mut Gateway {
        match side {
            Side::Source => &mut self.source,
            Side::Target => &mut self.target,
        }
    }

    /// The next report of either gateway, with when it was received.
    async fn next(&mut self) -> anyhow::Result<(Side, Report, Instant)> {
        let (side, report) = tokio::select! {
            r = self.source.reports.recv() => (Side::Source, r),
            r = self.target.reports.recv() => (Side::Target, r),
        };
        let at = Instant::now();
        match report {
            Some(report) => Ok((side, report, at)),
            None => Err(anyhow!("the {} gateway stopped by itself", side.as_str())),
        }
    }
}

/// One gateway running as a task, and what it reported so far.
struct Gateway {
    reports: mpsc::UnboundedReceiver<Report>,
    /// Resolving it asks the gateway to stop.
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<Exit>>,
    listening: Option<SocketAddr>,
    online: Option<Instant>,
    connected: Option<(Instant, String)>,
    downs: u32,
}

impl Gateway {
    fn start(server: &Server, side: Side, forward: Forward, tuning: Tuning) -> Gateway {
        let mut o = Options::new(
            server.broker.clone(),
            server.ca_pem.clone(),
            server.connection.connection_id.clone(),
            side,
            SecretSource::Value(server.connection.secret.clone()),
        );
        o.forward = forward;
        o.relay_only = tuning.relay_only;
        o.udp_bind = SocketAddr::from(([127, 0, 0, 1], 0));
        o.kicker = tuning.kicker;
        if let Some(interval) = tuning.ice_check {
            o.ice_check_interval = interval;
        }
        o.max_backoff = MAX_BACKOFF;
        let (tx, reports) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(switchboard_gateway::run(
            o,
            async {
                let _ = stopped.await;
            },
            Some(tx),
        ));
        Gateway {
            reports,
            stop: Some(stop),
            done,
            listening: None,
            online: None,
            connected: None,
            downs: 0,
        }
    }

    /// Keeps the first `Online` and `Connected`, the listener address, and counts `Down`s.
    fn note(&mut self, report: Report, at: Instant) {
        match report {
            Report::Listening(addr) => self.listening = Some(addr),
            Report::Online => {
                self.online.get_or_insert(at);
            }
            Report::Connected { path, .. } => {
                self.connected.get_or_insert((at, path));
            }
            Report::Down => self.downs += 1,
            _ => {}
        }
    }

    fn state(&self) -> &'static str {
        match (self.online, &self.connected) {
            (_, Some(_)) => "connected",
            (Some(_), None) => "online, no tunnel",
            (None, None) => "never online",
        }
    }

    async fn stop(mut self) -> anyhow::Result<Exit> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(STOP_TIMEOUT, &mut self.done).await {
            Ok(joined) => joined.context("the gateway task panicked")?,
            Err(_) => {
                self.done.abort();
                bail!("did not stop within {STOP_TIMEOUT:?}")
            }
        }
    }
}

/// A local service standing in for the target's integration engine: it accepts one TCP
/// connection and reads it to the end, noting when `expect` bytes have arrived.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    /// When the expected bytes were in (or the stream ended early), and how many arrived.
    pub done: oneshot::Receiver<(Instant, u64)>,
}

impl Sink {
    /// Binds an ephemeral loopback port and starts reading.
    pub async fn bind(expect: u64) -> anyhow::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, done) = oneshot::channel();
        tokio::spawn(async move {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; WRITE_CHUNK];
            let mut received = 0u64;
            let mut tx = Some(tx);
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        received += n as u64;
                        if received >= expect
                            && let Some(tx) = tx.take()
                        {
                            let _ = tx.send((Instant::now(), received));
                        }
                    }
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send((Instant::now(), received));
            }
        });
        Ok(Sink { addr, done })
    }
}

/// Connects to `at`, writes `bytes` bytes and half-closes; the socket is then read to its end
/// in the background so the tunnel's close handshake completes normally.
pub async fn send_bulk(at: SocketAddr, bytes: u64) -> anyhow::Result<()> {
    let tcp = TcpStream::connect(at)
        .await
        .with_context(|| format!("connecting to the source's listener {at}"))?;
    let (mut reader, mut writer) = tcp.into_split();
    let chunk: Vec<u8> = (0..WRITE_CHUNK).map(|i| (i % 251) as u8).collect();
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).map_or(WRITE_CHUNK, |l| l.min(WRITE_CHUNK));
        writer
            .write_all(&chunk[..n])
            .await
            .context("writing into the tunnel")?;
        left -= n as u64;
    }
    writer.shutdown().await.context("half-closing")?;
    tokio::spawn(async move {
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest).await;
        drop(writer);
    });
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
