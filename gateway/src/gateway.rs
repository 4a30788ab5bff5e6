//! The gateway's life: connect to the broker (re-reading the secret each time), follow
//! `welcome` / `peer` / `status`, negotiate one session at a time (the source offers, the
//! target answers), report `tunnel` states, refresh TURN credentials, and forward TCP once
//! the tunnel is up. Decisions (see `docs/gateway.md`):
//! - The tunnel outlives the MQTT link: losing the broker does not cut an established tunnel.
//! - A failed tunnel, a `bye` or a refused offer ends the session; the source offers a new
//!   one (a new offer is an ICE restart in SPEC §9's sense) after a jittered backoff.
//! - `status terminated` (or any status that is neither active nor paused) tears everything
//!   down and ends the gateway: its credentials are dead. A refused secret (rc 4) tears the
//!   tunnel down too (the secret was rotated) and waits until the secret source changes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use switchboard_protocol::{ErrorCode, IceServer, ToGateway, ToServer, TunnelState};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::{RTCPeerConnectionState, RTCSessionDescription};

use crate::options::{Forward, Options, Side};
use crate::peer::{self, CONTROL_LABEL, Peer, PeerEvent, TCP_LABEL};
use crate::signaling::{Link, LinkDown, LinkEvent};
use crate::tunnel;

/// How a gateway ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Asked to stop.
    Shutdown,
    /// The connection is no longer usable (`status` named in the string).
    Terminated(String),
}

/// Things a running gateway reports to whoever embeds it (tests, the load-test harness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Source: the local TCP listener is bound here.
    Listening(std::net::SocketAddr),
    /// `welcome` received.
    Online,
    /// The tunnel of `session` is up.
    Connected {
        /// The session.
        session: String,
        /// `direct` or `relay`.
        path: String,
    },
    /// The tunnel went down.
    Down,
    /// The broker refused the secret; waiting for a new one.
    BadSecret,
    /// Fresh ICE servers (TURN credentials) arrived in answer to `ice_refresh`.
    IceRefreshed,
}

/// One negotiation and, once it succeeds, the tunnel.
struct Session {
    id: String,
    peer: Peer,
    remote_set: bool,
    pending: Vec<webrtc::peer_connection::RTCIceCandidateInit>,
    connected: bool,
    /// `tcp` channels opened in this session (each keeps its stream id; see `tunnel.rs`).
    channels: u32,
    /// The media id of the local description's (only) m-line, put in trickled candidates
    /// that come without one.
    mid: String,
}

/// The first `a=mid:` of an SDP (`"0"` if none).
fn first_mid(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=mid:"))
        .unwrap_or("0")
        .to_owned()
}

/// Runs a gateway until `stop` resolves or its connection is terminated.
pub async fn run(
    opts: Options,
    stop: impl std::future::Future<Output = ()>,
    reports: Option<mpsc::UnboundedSender<Report>>,
) -> anyhow::Result<Exit> {
    let listener = match &opts.forward {
        Forward::Listen(addr) if opts.side == Side::Source => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("listening on {addr}: {e}"))?,
        ),
        _ => None,
    };
    if let (Some(l), Some(tx)) = (&listener, &reports)
        && let Ok(addr) = l.local_addr()
    {
        let _ = tx.send(Report::Listening(addr));
    }
    let mut g = Gateway::new(opts, reports);
    tokio::pin!(stop);
    let exit = g.main(listener, &mut stop).await;
    g.end_session("shutdown", true).await;
    if let Some(link) = &g.link {
        link.close(Duration::from_millis(500)).await;
        // Let the link task put the `bye` and the DISCONNECT on the wire before the runtime
        // goes away: it ends when the broker closes the socket.
        if let Some(events) = g.link_events.as_mut() {
            let drained = async {
                while let Some(event) = events.recv().await {
                    if matches!(event, LinkEvent::Down(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
        }
    }
    Ok(exit)
}

struct Gateway {
    opts: Options,
    reports: Option<mpsc::UnboundedSender<Report>>,
    link: Option<Link>,
    link_events: Option<mpsc::UnboundedReceiver<LinkEvent>>,
    online: bool,
    reconnect_at: Option<Instant>,
    reconnect_backoff: Duration,
    secret_refused: Option<String>,
    secret_in_use: Option<String>,
    status: String,
    peer_online: bool,
    ice_servers: Vec<IceServer>,
    refresh_at: Option<Instant>,
    session: Option<Session>,
    offer_at: Option<Instant>,
    offer_backoff: Duration,
    peer_tx: mpsc::UnboundedSender<(String, PeerEvent)>,
    peer_rx: mpsc::UnboundedReceiver<(String, PeerEvent)>,
    control_tx: mpsc::UnboundedSender<(String, bool)>,
    control_rx: mpsc::UnboundedReceiver<(String, bool)>,
}

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Tries at opening a `tcp` channel for one TCP connection.
const OPEN_ATTEMPTS: u32 = 4;
/// `tcp` channels a session opens before it is renewed: SCTP has 65,535 stream ids, half of
/// them the source's, and channels are not closed (see `tunnel.rs`).
const CHANNELS_PER_SESSION: u32 = 30_000;
/// How long a `tcp` channel may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(3);

fn jitter(base: Duration) -> Duration {
    base.mul_f64(rand::rng().random_range(0.5..1.5))
}

/// When to ask for fresh TURN credentials: after three quarters of the earliest one's
/// remaining lifetime (SPEC §10 usernames start with the expiry as Unix seconds), at least 5 s
/// from now; `None` without TURN credentials.
fn refresh_delay(servers: &[IceServer], now_unix: u64) -> Option<Duration> {
    let expiry = servers
        .iter()
        .filter_map(|s| s.username.as_deref())
        .filter_map(|u| u.split(':').next()?.parse::<u64>().ok())
        .min()?;
    let left = expiry.saturating_sub(now_unix);
    Some(Duration::from_secs((left * 3 / 4).max(5)))
}

async fn maybe(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn accept(listener: &Option<TcpListener>) -> std::io::Result<TcpStream> {
    match listener {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

async fn link_event(rx: &mut Option<mpsc::UnboundedReceiver<LinkEvent>>) -> LinkEvent {
    match rx {
        Some(rx) => rx
            .recv()
            .await
            .unwrap_or(LinkEvent::Down(LinkDown::Lost("link task ended".into()))),
        None => std::future::pending().await,
    }
}

impl Gateway {
    fn new(opts: Options, reports: Option<mpsc::UnboundedSender<Report>>) -> Gateway {
        let (peer_tx, peer_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        Gateway {
            opts,
            reports,
            link: None,
            link_events: None,
            online: false,
            reconnect_at: Some(Instant::now()),
            reconnect_backoff: FIRST_BACKOFF,
            secret_refused: None,
            secret_in_use: None,
            status: String::new(),
            peer_online: false,
            ice_servers: Vec::new(),
            refresh_at: None,
            session: None,
            offer_at: None,
            offer_backoff: FIRST_BACKOFF,
            peer_tx,
            peer_rx,
            control_tx,
            control_rx,
        }
    }

    fn report(&self, r: Report) {
        if let Some(tx) = &self.reports {
            let _ = tx.send(r);
        }
    }

    fn send(&self, m: &ToServer) {
        if let Some(link) = &self.link {
            link.send(m);
        }
    }

    async fn main(
        &mut self,
        listener: Option<TcpListener>,
        stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> Exit {
        loop {
            tokio::select! {
                () = stop.as_mut() => return Exit::Shutdown,
                () = maybe(self.reconnect_at) => self.reconnect(),
                event = link_event(&mut self.link_events) => {
                    if let Some(exit) = self.on_link(event).await {
                        return exit;
                    }
                }
                Some((session, event)) = self.peer_rx.recv() => self.on_peer(session, event).await,
                Some((session, open)) = self.control_rx.recv() => self.on_control(session, open).await,
                () = maybe(self.offer_at) => {
                    self.offer_at = None;
                    self.offer().await;
                }
                () = maybe(self.refresh_at) => {
                    self.refresh_at = None;
                    self.send(&ToServer::IceRefresh {});
                }
                accepted = accept(&listener) => match accepted {
                    Ok(tcp) => self.forward(tcp).await,
                    Err(e) => tracing::warn!(error = %e, "accept failed"),
                },
            }
        }
    }

    /// A new MQTT link, unless the secret was refused and has not changed since.
    fn reconnect(&mut self) {
        self.reconnect_at = None;
        let secret = match self.opts.secret.read() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the secret; retrying");
                self.reconnect_at = Some(Instant::now() + Duration::from_secs(2));
                return;
            }
        };
        if self.secret_refused.as_deref() == Some(secret.as_str()) {
            // Same refused secret: wait for a new one instead of walking into the lockout.
            self.reconnect_at = Some(Instant::now() + Duration::from_secs(1));
            return;
        }
        match Link::connect(&self.opts, &secret) {
            Ok((link, events)) => {
                self.link = Some(link);
                self.link_events = Some(events);
                self.secret_refused = None;
                self.secret_in_use = Some(secret);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot connect");
                self.schedule_reconnect();
            }
        }
    }

    fn schedule_reconnect(&mut self) {
        self.reconnect_at = Some(Instant::now() + jitter(self.reconnect_backoff));
        self.reconnect_backoff = (self.reconnect_backoff * 2).min(self.opts.max_backoff);
    }

    async fn on_link(&mut self, event: LinkEvent) -> Option<Exit> {
        match event {
            LinkEvent::Up => {
                tracing::info!("connected to the broker");
                self.reconnect_backoff = FIRST_BACKOFF;
                None
            }
            LinkEvent::Message(m) => self.on_message(m).await,
            LinkEvent::Down(down) => {
                self.link = None;
                self.link_events = None;
                self.online = false;
                self.offer_at = None;
                match down {
                    LinkDown::BadCredentials => {
                        tracing::error!(
                            "the broker refused the secret (rotated?); tunnel closed, waiting for a new secret"
                        );
                        self.secret_refused = self.secret_in_use.take();
                        self.end_session("secret refused", false).await;
                        self.report(Report::BadSecret);
                        self.reconnect_at = Some(Instant::now() + Duration::from_secs(1));
                    }
                    LinkDown::NotAuthorized => {
                        tracing::warn!(
                            "the broker refused the connection: not usable or locked out; retrying slowly"
                        );
                        self.reconnect_backoff = self.opts.max_backoff;
                        self.schedule_reconnect();
                    }
                    LinkDown::Refused(why) => {
                        tracing::error!(%why, "the broker refused the connection");
                        self.reconnect_backoff = self.opts.max_backoff;
                        self.schedule_reconnect();
                    }
                    LinkDown::Lost(why) => {
                        tracing::warn!(%why, "broker link lost; reconnecting");
                        self.schedule_reconnect();
                    }
                }
                None
            }
        }
    }

    async fn on_message(&mut self, m: ToGateway) -> Option<Exit> {
        match m {
            ToGateway::Welcome {
                status,
                peer_online,
                ice_servers,
                ..
            } => {
                self.online = true;
                self.peer_online = peer_online;
                self.set_ice_servers(ice_servers);
                self.report(Report::Online);
                return self.on_status(status, None).await;
            }
            ToGateway::Peer { online } => {
                self.peer_online = online;
                let negotiating = self.session.as_ref().is_some_and(|s| !s.connected);
                if online {
                    if negotiating {
                        self.end_session("peer came back", false).await;
                    }
                    self.offer_soon(Duration::ZERO);
                } else if negotiating {
                    self.end_session("peer offline", false).await;
                }
            }
            ToGateway::Status { status, reason } => return self.on_status(status, reason).await,
            ToGateway::Offer { session, sdp } => self.on_offer(session, sdp).await,
            ToGateway::Answer { session, sdp } => self.on_answer(session, sdp).await,
            ToGateway::Candidate { session, candidate } => {
                let s = self.session.as_mut().filter(|s| s.id == session)?;
                let c = candidate?;
                let init = peer::to_init(&c);
                if s.remote_set {
                    if let Err(e) = s.peer.pc.add_ice_candidate(init).await {
                        tracing::debug!(error = %e, "remote candidate not added");
                    }
                } else {
                    s.pending.push(init);
                }
            }
            ToGateway::Bye { session, reason } => {
                if self.session.as_ref().is_some_and(|s| s.id == session) {
                    tracing::info!(%session, reason = reason.as_deref().unwrap_or(""), "session ended by bye");
                    self.end_session("bye", false).await;
                    self.offer_later();
                }
            }
            ToGateway::Ice { ice_servers } => {
                self.set_ice_servers(ice_servers);
                self.report(Report::IceRefreshed);
            }
            ToGateway::Error {
                code,
                message,
                reference,
                session,
            } => {
                tracing::warn!(code = code.as_str(), %message, reference = reference.as_deref().unwrap_or(""), "refused by the broker");
                let ours =
                    session.is_some() && self.session.as_ref().map(|s| &s.id) == session.as_ref();
                let negotiating = self.session.as_ref().is_some_and(|s| !s.connected);
                if ours && negotiating {
                    match code {
                        ErrorCode::NotActive | ErrorCode::PeerOffline | ErrorCode::StaleSession => {
                            self.end_session("refused", false).await;
                        }
                        ErrorCode::RateLimited => {
                            self.end_session("rate limited", false).await;
                            self.offer_later();
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }

    async fn on_status(&mut self, status: String, reason: Option<String>) -> Option<Exit> {
        tracing::info!(%status, reason = reason.as_deref().unwrap_or(""), "connection status");
        self.status = status.clone();
        match status.as_str() {
            "active" => self.offer_soon(Duration::ZERO),
            "paused" => {} // established tunnels stay; no new sessions
            _ => {
                if reason.as_deref() == Some("shutdown") {
                    return None;
                }
                self.end_session("terminated", false).await;
                return Some(Exit::Terminated(status));
            }
        }
        None
    }

    fn set_ice_servers(&mut self, servers: Vec<IceServer>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.refresh_at = refresh_delay(&servers, now).map(|d| Instant::now() + d);
        self.ice_servers = servers;
    }

    /// The source offers after `delay` if it can (link up, active, peer online, no session).
    fn offer_soon(&mut self, delay: Duration) {
        if self.opts.side == Side::Source && self.session.is_none() {
            self.offer_at = Some(Instant::now() + delay);
        }
    }

    fn offer_later(&mut self) {
        let delay = jitter(self.offer_backoff);
        self.offer_backoff = (self.offer_backoff * 2).min(self.opts.max_backoff);
        self.offer_soon(delay);
    }

    async fn offer(&mut self) {
        if self.opts.side != Side::Source
            || !self.online
            || self.status != "active"
            || !self.peer_online
            || self.session.is_some()
        {
            return;
        }
        let id = format!("{:016x}", rand::rng().random::<u64>());
        match self.start_offer(&id).await {
            Ok(session) => self.session = Some(session),
            Err(e) => {
                tracing::warn!(error = %e, "could not make an offer");
                self.offer_later();
            }
        }
    }

    async fn start_offer(&mut self, id: &str) -> anyhow::Result<Session> {
        let peer = Peer::build(
            &self.opts,
            &self.ice_servers,
            id.to_owned(),
            self.peer_tx.clone(),
        )
        .await?;
        let control = peer.pc.create_data_channel(CONTROL_LABEL, None).await?;
        self.watch_control(id.to_owned(), control, true);
        let offer = peer.pc.create_offer(None).await?;
        peer.pc.set_local_description(offer.clone()).await?;
        let mid = first_mid(&offer.sdp);
        self.send(&ToServer::Offer {
            session: id.to_owned(),
            sdp: offer.sdp,
        });
        tracing::info!(session = %id, "offer sent");
        Ok(Session {
            id: id.to_owned(),
            peer,
            remote_set: false,
            pending: Vec::new(),
            connected: false,
            channels: 0,
            mid,
        })
    }

    async fn on_answer(&mut self, session: String, sdp: String) {
        let Some(s) = self.session.as_mut().filter(|s| s.id == session) else {
            return;
        };
        let result = async {
            s.peer
                .pc
                .set_remote_description(RTCSessionDescription::answer(sdp)?)
                .await?;
            s.remote_set = true;
            for c in s.pending.drain(..) {
                let _ = s.peer.pc.add_ice_candidate(c).await;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "bad answer");
            self.end_session("bad answer", true).await;
            self.offer_later();
        }
    }

    async fn on_offer(&mut self, session: String, sdp: String) {
        if self.opts.side != Side::Target {
            return;
        }
        if self.session.as_ref().is_some_and(|s| s.id != session) {
            self.end_session("replaced", false).await;
        }
        let result = async {
            if self.session.is_none() {
                let peer = Peer::build(
                    &self.opts,
                    &self.ice_servers,
                    session.clone(),
                    self.peer_tx.clone(),
                )
                .await?;
                self.session = Some(Session {
                    id: session.clone(),
                    peer,
                    remote_set: false,
                    pending: Vec::new(),
                    connected: false,
                    channels: 0,
                    mid: "0".to_owned(),
                });
            }
            let Some(s) = self.session.as_mut() else {
                anyhow::bail!("no session");
            };
            s.peer
                .pc
                .set_remote_description(RTCSessionDescription::offer(sdp)?)
                .await?;
            s.remote_set = true;
            for c in s.pending.drain(..) {
                let _ = s.peer.pc.add_ice_candidate(c).await;
            }
            let answer = s.peer.pc.create_answer(None).await?;
            s.peer.pc.set_local_description(answer.clone()).await?;
            s.mid = first_mid(&answer.sdp);
            anyhow::Ok(answer.sdp)
        }
        .await;
        match result {
            Ok(sdp) => {
                self.send(&ToServer::Answer {
                    session: session.clone(),
                    sdp,
                });
                tracing::info!(%session, "answer sent");
            }
            Err(e) => {
                tracing::warn!(error = %e, %session, "could not answer");
                self.end_session("bad offer", true).await;
            }
        }
    }

    async fn on_peer(&mut self, session: String, event: PeerEvent) {
        if self.session.as_ref().is_none_or(|s| s.id != session) {
            return;
        }
        match event {
            PeerEvent::Candidate(mut candidate) => {
                // webrtc 0.21 leaves sdpMid empty on gathered candidates; peers that look the
                // m-line up by mid (as W3C addIceCandidate does) need the real one.
                if let (Some(c), Some(s)) = (candidate.as_mut(), self.session.as_ref()) {
                    if c.sdp_mid.as_deref().is_none_or(str::is_empty) {
                        c.sdp_mid = Some(s.mid.clone());
                    }
                    c.sdp_m_line_index.get_or_insert(0);
                }
                self.send(&ToServer::Candidate { session, candidate });
            }
            PeerEvent::State(state) => {
                tracing::debug!(%session, ?state, "peer connection state");
                if matches!(
                    state,
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                ) {
                    let connected = self.session.as_ref().is_some_and(|s| s.connected);
                    if !connected {
                        self.send(&ToServer::Tunnel {
                            session: session.clone(),
                            state: TunnelState::Failed,
                            path: None,
                            local_type: None,
                            remote_type: None,
                        });
                    }
                    tracing::warn!(%session, ?state, "tunnel failed");
                    self.end_session("failed", true).await;
                    self.offer_later();
                }
            }
            PeerEvent::Channel(dc) => {
                let label = dc.label().await.unwrap_or_default();
                if label == CONTROL_LABEL {
                    self.watch_control(session, dc, false);
                } else if label == TCP_LABEL {
                    self.accept_channel(dc);
                } else {
                    let _ = dc.close().await;
                }
            }
        }
    }

    /// Reports the control channel's opening and closing for `session`.
    fn watch_control(&self, session: String, dc: Arc<dyn DataChannel>, wait_open: bool) {
        let tx = self.control_tx.clone();
        tokio::spawn(async move {
            if wait_open && !tunnel::opened(&dc).await {
                return;
            }
            let _ = tx.send((session.clone(), true));
            while let Some(event) = dc.poll().await {
                if matches!(event, webrtc::data_channel::DataChannelEvent::OnClose) {
                    break;
                }
            }
            let _ = tx.send((session, false));
        });
    }

    async fn on_control(&mut self, session: String, open: bool) {
        let Some(s) = self.session.as_mut().filter(|s| s.id == session) else {
            return;
        };
        if open && !s.connected {
            s.connected = true;
            let (path, local_type, remote_type) = s.peer.path().await;
            let setup_ms = s.peer.started.elapsed().as_millis();
            tracing::info!(%session, ?path, local = local_type.as_deref().unwrap_or("?"), remote = remote_type.as_deref().unwrap_or("?"), setup_ms, "tunnel connected");
            self.offer_backoff = FIRST_BACKOFF;
            self.send(&ToServer::Tunnel {
                session: session.clone(),
                state: TunnelState::Connected,
                path: Some(path),
                local_type,
                remote_type,
            });
            let path = match path {
                switchboard_protocol::TunnelPath::Direct => "direct",
                switchboard_protocol::TunnelPath::Relay => "relay",
            };
            self.report(Report::Connected {
                session,
                path: path.to_owned(),
            });
        } else if !open && s.connected {
            tracing::warn!(%session, "tunnel closed by the peer");
            self.end_session("closed", true).await;
            self.offer_later();
        }
    }

    /// Source: carries an accepted TCP connection through the tunnel, or refuses it. A channel
    /// that does not open (webrtc 0.21 can refuse a stream id whose previous channel is still
    /// closing on the far side) is retried with a fresh one, a few times.
    async fn forward(&mut self, tcp: TcpStream) {
        let Some(s) = self.session.as_mut().filter(|s| s.connected) else {
            tracing::warn!("TCP connection refused: the tunnel is not up");
            return;
        };
        s.channels += 1;
        if s.channels > CHANNELS_PER_SESSION {
            // The session's SCTP stream ids are nearly used up: start a fresh one.
            tracing::info!("renewing the session: its channel ids are used up");
            drop(tcp);
            self.end_session("renew", true).await;
            self.offer_soon(Duration::ZERO);
            return;
        }
        let pc = s.peer.pc.clone();
        tokio::spawn(async move {
            // Channels that failed to open are held until the end, so their stream ids are not
            // handed out again to the next attempt.
            let mut failed: Vec<Arc<dyn DataChannel>> = Vec::new();
            for attempt in 0..OPEN_ATTEMPTS {
                let dc = match pc.create_data_channel(TCP_LABEL, None).await {
                    Ok(dc) => dc,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not open a channel");
                        return;
                    }
                };
                match tokio::time::timeout(OPEN_TIMEOUT, tunnel::opened(&dc)).await {
                    Ok(true) => {
                        let carried = tunnel::splice(dc, tcp).await;
                        tracing::debug!(?carried, "TCP connection done");
                        for dc in failed {
                            let _ = dc.close().await;
                        }
                        return;
                    }
                    _ => {
                        tracing::debug!(attempt, "channel did not open; retrying");
                        failed.push(dc);
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                }
            }
            tracing::warn!("TCP connection dropped: no channel would open");
            for dc in failed {
                let _ = dc.close().await;
            }
        });
    }

    /// Target: connects a tunnelled TCP connection to the local service.
    fn accept_channel(&self, dc: Arc<dyn DataChannel>) {
        let Forward::Connect(addr) = self.opts.forward.clone() else {
            tokio::spawn(async move {
                let _ = dc.close().await;
            });
            return;
        };
        tokio::spawn(async move {
            match TcpStream::connect(&addr).await {
                Ok(tcp) => {
                    let carried = tunnel::splice(dc, tcp).await;
                    tracing::debug!(?carried, "TCP connection done");
                }
                Err(e) => {
                    tracing::warn!(error = %e, %addr, "local service unreachable");
                    let _ = dc.close().await;
                }
            }
        });
    }

    /// Ends the current session: `tunnel closed` if it was up, `bye` if asked.
    async fn end_session(&mut self, reason: &str, bye: bool) {
        let Some(s) = self.session.take() else {
            return;
        };
        // `bye` first: the broker relays it to the peer and ends the session; a `tunnel
        // closed` sent first would end the session and leave the `bye` stale (unrelayed).
        if bye {
            self.send(&ToServer::Bye {
                session: s.id.clone(),
                reason: Some(reason.to_owned()),
            });
        } else if s.connected {
            self.send(&ToServer::Tunnel {
                session: s.id.clone(),
                state: TunnelState::Closed,
                path: None,
                local_type: None,
                remote_type: None,
            });
        }
        if s.connected {
            self.report(Report::Down);
        }
        tracing::info!(session = %s.id, reason, "session ended");
        s.peer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(user: &str) -> IceServer {
        IceServer {
            urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
            username: Some(user.into()),
            credential: Some("x".into()),
        }
    }

    #[test]
    fn credentials_are_refreshed_at_three_quarters_of_their_life() {
        let now = 1_000_000;
        assert_eq!(
            refresh_delay(&[turn("1003600:conn_x.source")], now),
            Some(Duration::from_secs(2700))
        );
        // The earliest expiry wins; a nearly expired one still waits 5 s.
        assert_eq!(
            refresh_delay(&[turn("1003600:c.source"), turn("1000002:c.source")], now),
            Some(Duration::from_secs(5))
        );
        let stun = IceServer {
            urls: vec!["stun:example.org".into()],
            username: None,
            credential: None,
        };
        assert_eq!(refresh_delay(&[stun], now), None);
        assert_eq!(refresh_delay(&[turn("not-a-number:c")], now), None);
    }

    #[test]
    fn jitter_stays_within_half_to_one_and_a_half() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(2));
            assert!(
                d >= Duration::from_secs(1) && d < Duration::from_secs(3),
                "{d:?}"
            );
        }
    }
}
