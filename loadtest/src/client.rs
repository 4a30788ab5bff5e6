//! One simulated client of a pairs run: a task that polls its rumqttc event loop (connect,
//! subscribe, answer pings, read protocol messages) and, for a source, a second task that
//! sets up the session and sends pings at the run's rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS, SubscribeReasonCode};
use switchboard_protocol::ToGateway;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::endpoint::Endpoint;
use crate::payload::{self, Direction, Probe};
use crate::run_state::{Phase, RunState};

/// Requests a client may queue before `try_publish` fails (pongs) or `publish` waits (pings).
const REQUEST_CAPACITY: usize = 64;

/// Which end of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Offers and pings.
    Source,
    /// Answers and pongs.
    Target,
}

/// Who a client is and which topics it uses.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// MQTT client id.
    pub client_id: String,
    /// Username and password, if the broker wants them.
    pub login: Option<(String, String)>,
    /// The topic it subscribes to.
    pub rx: String,
    /// The topic it publishes to.
    pub tx: String,
    /// Source or target.
    pub role: Role,
    /// Whether the broker speaks Switchboard's protocol (welcome, peer, setup, errors).
    pub switchboard: bool,
}

/// How a source sends its pings.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Time between pings.
    pub period: Duration,
    /// Delay of the first ping after the load starts, so pairs do not ping in lockstep.
    pub offset: Duration,
}

/// A running client.
pub struct Running {
    /// To disconnect it at the end.
    pub client: AsyncClient,
    /// Its tasks.
    pub tasks: Vec<JoinHandle<()>>,
}

/// Starts a client; `permit` is released once it is ready (or has failed), which bounds the
/// connects in progress.
pub fn spawn(
    run: Arc<RunState>,
    endpoint: &Endpoint,
    spec: ClientSpec,
    qos: QoS,
    pacing: Pacing,
    permit: OwnedSemaphorePermit,
) -> Running {
    let login = spec.login.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
    let (client, eventloop) = endpoint.client(&spec.client_id, login, REQUEST_CAPACITY);
    let (peer_online, peer_rx) = watch::channel(false);
    let offer_ns = Arc::new(AtomicU64::new(0));
    let spec = Arc::new(spec);
    let mut tasks = Vec::with_capacity(2);
    if spec.role == Role::Source {
        tasks.push(tokio::spawn(drive(
            run.clone(),
            spec.clone(),
            client.clone(),
            qos,
            pacing,
            peer_rx,
            offer_ns.clone(),
        )));
    }
    let mut state = ClientTask {
        run,
        spec,
        client: client.clone(),
        qos,
        permit: Some(permit),
        ready: false,
        peer_online,
        offer_ns,
    };
    tasks.push(tokio::spawn(async move { state.poll(eventloop).await }));
    Running { client, tasks }
}

/// The event-loop side of a client.
struct ClientTask {
    run: Arc<RunState>,
    spec: Arc<ClientSpec>,
    client: AsyncClient,
    qos: QoS,
    /// Held while connecting; dropping it lets the next client connect.
    permit: Option<OwnedSemaphorePermit>,
    ready: bool,
    /// Tells the source's driver when the peer is online.
    peer_online: watch::Sender<bool>,
    /// When the source's driver sent the setup offer (ns since the run's start).
    offer_ns: Arc<AtomicU64>,
}

impl ClientTask {
    async fn poll(&mut self, mut eventloop: EventLoop) {
        let run = self.run.clone();
        let counters = &run.counters;
        if let Err(e) = self.client.try_subscribe(self.spec.rx.clone(), self.qos) {
            self.fail(format!("{}: subscribe: {e}", self.spec.client_id));
            return;
        }
        let started = Instant::now();
        loop {
            let event = match eventloop.poll().await {
                Ok(event) => event,
                Err(e) => {
                    if self.run.stopping.load(Ordering::Relaxed) {
                        return;
                    }
                    if self.ready {
                        self.run.bump(&counters.disconnects);
                        self.run
                            .sample(format!("{}: connection lost: {e}", self.spec.client_id));
                    } else {
                        self.fail(format!("{}: {e}", self.spec.client_id));
                    }
                    return;
                }
            };
            match event {
                Event::Incoming(Packet::ConnAck(_)) => {
                    self.run.connack.record(started.elapsed());
                    self.run
                        .last_connack_ns
                        .fetch_max(self.run.now_ns(), Ordering::Relaxed);
                    self.run.bump(&counters.connected);
                }
                Event::Incoming(Packet::SubAck(ack)) => {
                    if ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure))
                    {
                        self.fail(format!(
                            "{}: SUBACK refused {}",
                            self.spec.client_id, self.spec.rx
                        ));
                        return;
                    }
                    if !self.spec.switchboard {
                        self.set_ready();
                    }
                }
                Event::Incoming(Packet::Publish(p)) => self.on_payload(&p.payload),
                _ => {}
            }
        }
    }

    fn set_ready(&mut self) {
        if !self.ready {
            self.ready = true;
            self.permit = None;
            self.run.bump(&self.run.counters.ready);
        }
    }

    fn fail(&mut self, text: String) {
        self.permit = None;
        self.run.sample(text);
        self.run.bump(&self.run.counters.connect_failed);
    }

    fn publish(&self, payload: String) {
        let c = &self.run.counters;
        if self
            .client
            .try_publish(self.spec.tx.clone(), self.qos, false, payload)
            .is_err()
        {
            self.run.bump(&c.send_failed);
        }
    }

    fn on_payload(&mut self, payload: &Bytes) {
        let run = &*self.run;
        let c = &run.counters;
        if let Some(probe) = payload::decode(payload) {
            match (self.spec.role, probe.direction) {
                (Role::Target, Direction::Ping) => {
                    c.pings_received.fetch_add(1, Ordering::Relaxed);
                    if run.timed(probe.ping_ns) {
                        let latency = run.since(probe.ping_ns);
                        run.one_way.record(latency);
                        run.ping_one_way.record(latency);
                    }
                    let pong = Probe {
                        direction: Direction::Pong,
                        pong_ns: run.now_ns(),
                        ..probe
                    };
                    self.publish(payload::encode(run.kind, &pong, run.payload_bytes));
                    c.pongs_sent.fetch_add(1, Ordering::Relaxed);
                }
                (Role::Source, Direction::Pong) => {
                    if run.timed(probe.ping_ns) {
                        run.rtt.record(run.since(probe.ping_ns));
                        run.one_way.record(run.since(probe.pong_ns));
                    }
                    run.bump(&c.pongs_received);
                }
                _ => run.bump(&c.unexpected),
            }
            return;
        }
        if !self.spec.switchboard {
            run.bump(&c.unexpected);
            return;
        }
        match ToGateway::parse(payload) {
            Ok(ToGateway::Welcome { peer_online, .. }) => {
                self.peer_online.send_replace(peer_online);
                self.set_ready();
            }
            Ok(ToGateway::Peer { online }) => {
                self.peer_online.send_replace(online);
            }
            Ok(ToGateway::Offer { .. }) if self.spec.role == Role::Target => {
                self.publish(payload::setup_answer());
            }
            Ok(ToGateway::Answer { .. }) if self.spec.role == Role::Source => {
                run.setup_rtt
                    .record(run.since(self.offer_ns.load(Ordering::Relaxed)));
                self.publish(payload::tunnel_connected());
                run.bump(&c.established);
            }
            Ok(ToGateway::Error {
                code,
                message,
                reference,
                ..
            }) => run.error(
                code.as_str(),
                format!(
                    "error {}: {message} (ref {})",
                    code.as_str(),
                    reference.as_deref().unwrap_or("-")
                ),
            ),
            Ok(ToGateway::Bye { reason, .. }) => {
                run.bump(&c.byes);
                run.sample(format!("bye (reason {reason:?})"));
            }
            Ok(ToGateway::Status { status, reason }) => {
                run.sample(format!("status {status} (reason {reason:?})"));
            }
            Ok(other) => {
                run.bump(&c.unexpected);
                run.sample(format!("unexpected {other:?}"));
            }
            Err(e) => {
                run.bump(&c.unexpected);
                run.sample(format!("unparsable payload: {e}"));
            }
        }
    }
}

/// A source's driver: the setup offer (switchboard mode) once the peer is online, then pings
/// at the rate until the load phase ends.
async fn drive(
    run: Arc<RunState>,
    spec: Arc<ClientSpec>,
    client: AsyncClient,
    qos: QoS,
    pacing: Pacing,
    mut peer_online: watch::Receiver<bool>,
    offer_ns: Arc<AtomicU64>,
) {
    let mut phase = run.phase.subscribe();
    let c = &run.counters;
    if spec.switchboard {
        if phase
            .wait_for(|p| !matches!(p, Phase::Connect))
            .await
            .is_err()
            || peer_online.wait_for(|online| *online).await.is_err()
        {
            return;
        }
        if matches!(*phase.borrow(), Phase::Setup) {
            offer_ns.store(run.now_ns(), Ordering::Relaxed);
            if client
                .publish(spec.tx.clone(), qos, false, payload::setup_offer())
                .await
                .is_err()
            {
                run.bump(&c.send_failed);
            }
        }
    }
    let Ok(until_ns) = phase
        .wait_for(|p| matches!(p, Phase::Load { .. } | Phase::Drain))
        .await
        .map(|p| match *p {
            Phase::Load { until_ns } => until_ns,
            _ => 0,
        })
    else {
        return;
    };
    tokio::time::sleep(pacing.offset).await;
    let mut ticker = tokio::time::interval(pacing.period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    for seq in 0.. {
        ticker.tick().await;
        let now = run.now_ns();
        if now >= until_ns {
            break;
        }
        let ping = Probe {
            direction: Direction::Ping,
            seq,
            ping_ns: now,
            pong_ns: 0,
        };
        let text = payload::encode(run.kind, &ping, run.payload_bytes);
        match client.publish(spec.tx.clone(), qos, false, text).await {
            Ok(()) => c.pings_sent.fetch_add(1, Ordering::Relaxed),
            Err(_) => c.send_failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}
