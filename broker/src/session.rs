//! One gateway session, from the first byte after the TLS handshake to the close: read the
//! CONNECT, authenticate through the service and answer the CONNACK (refusals with their
//! SPEC §9 codes, then close), then serve SUBSCRIBE/PUBLISH under the ACL, keep-alive, pings,
//! presence, kicks and the messages queued for the gateway.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::QoS;
use switchboard_actors::Switchboard;
use switchboard_actors::service::types::{GatewayLogin, GatewayRefusal};
use switchboard_protocol::{BadMessage, ErrorCode, ToServer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::acl;
use crate::codec::{self, ConnackRefusal, Inbound, Outbound, Version};
use crate::error::SessionEnd;
use crate::messages;
use crate::registry::{self, LiveSessions, SessionHandle};
use crate::settings::BrokerSettings;

/// How long one write to a gateway may take before the session is dropped: a gateway that
/// stops reading must not hold its task forever.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Initial read buffer per session; it grows only up to one packet of the payload limit.
const READ_BUFFER_BYTES: usize = 4096;

/// What every session shares.
#[derive(Clone)]
pub struct Shared {
    /// The service (authentication and presence).
    pub service: Switchboard,
    /// Live sessions, for takeover and kicks.
    pub sessions: LiveSessions,
    /// Limits.
    pub settings: Arc<BrokerSettings>,
    /// Connection attempts per IP.
    pub admission: Arc<crate::admission::Admission>,
}

/// A CONNECT read off a fresh stream.
#[derive(Debug)]
pub struct Hello {
    version: Version,
    client_id: String,
    username: String,
    password: String,
    keep_alive: u16,
    /// Bytes after the CONNECT that arrived with it.
    rest: BytesMut,
}

/// Reads the CONNECT (the caller bounds this with the handshake timeout).
pub async fn read_connect<S>(stream: &mut S, max_packet: usize) -> Result<Hello, SessionEnd>
where
    S: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let version = loop {
        if let Some(v) = codec::sniff_version(&buf)? {
            break v;
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(SessionEnd::Closed);
        }
    };
    loop {
        match codec::read(&mut buf, version, max_packet)? {
            Some(Inbound::Connect {
                client_id,
                username,
                password,
                keep_alive,
            }) => {
                return Ok(Hello {
                    version,
                    client_id,
                    username,
                    password,
                    keep_alive,
                    rest: buf,
                });
            }
            Some(_) => return Err(SessionEnd::Protocol("the first packet is not a CONNECT")),
            None => {
                if stream.read_buf(&mut buf).await? == 0 {
                    return Err(SessionEnd::Closed);
                }
            }
        }
    }
}

/// Authenticates the CONNECT and, if accepted, serves the session until it ends.
pub async fn serve<S>(shared: Shared, mut stream: S, hello: Hello, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Hello {
        version,
        client_id,
        username,
        password,
        keep_alive,
        rest,
    } = hello;
    let login = match shared
        .service
        .authenticate_gateway(&client_id, &username, password.as_bytes(), peer.ip())
        .await
    {
        Ok(login) => login,
        Err(refusal) => {
            tracing::info!(%peer, client_id = %client_id.escape_debug(), %refusal, "gateway CONNECT refused");
            let _ = send(
                &mut stream,
                version,
                Outbound::ConnAckRefused(connack_code(refusal)),
            )
            .await;
            let _ = stream.shutdown().await;
            return;
        }
    };
    let s = &shared.settings;
    let effective = if keep_alive == 0 {
        s.keepalive_max
    } else {
        keep_alive.clamp(s.keepalive_min, s.keepalive_max)
    };
    let server_keep_alive = (effective != keep_alive).then_some(effective);
    let (handle, outbox) = shared.sessions.new_handle(login.status);
    let inherited = shared.sessions.register(&client_id, handle.clone());
    let mut session = Session {
        shared: shared.clone(),
        login,
        version,
        handle,
        inherited,
        keep_alive: Duration::from_secs(u64::from(effective)).mul_f32(s.keepalive_grace),
        peer,
        malformed: VecDeque::new(),
    };
    metrics::gauge!("switchboard_broker_sessions").increment(1.0);
    let end = match send(
        &mut stream,
        version,
        Outbound::ConnAckOk {
            server_keep_alive,
            max_packet_size: u32::try_from(shared.settings.max_packet()).unwrap_or(u32::MAX),
        },
    )
    .await
    {
        Ok(()) => session.run(&mut stream, rest, outbox).await,
        Err(e) => Err(e),
    };
    metrics::gauge!("switchboard_broker_sessions").decrement(1.0);
    match &end {
        Ok(()) | Err(SessionEnd::Closed) => {
            tracing::debug!(%peer, %client_id, "gateway session ended")
        }
        Err(e) => tracing::info!(%peer, %client_id, reason = %e, "gateway session closed"),
    }
    let _ = stream.shutdown().await;
    session.finish(&client_id).await;
}

/// The CONNACK refusal for a service refusal (SPEC §9).
pub fn connack_code(refusal: GatewayRefusal) -> ConnackRefusal {
    match refusal {
        GatewayRefusal::BadClientId => ConnackRefusal::ClientId,
        GatewayRefusal::UnknownConnection | GatewayRefusal::BadSecret => {
            ConnackRefusal::BadCredentials
        }
        GatewayRefusal::NotActive { .. }
        | GatewayRefusal::Terminated
        | GatewayRefusal::LockedOut => ConnackRefusal::NotAuthorized,
        GatewayRefusal::Unavailable => ConnackRefusal::Unavailable,
    }
}

struct Session {
    shared: Shared,
    login: GatewayLogin,
    version: Version,
    handle: SessionHandle,
    /// Whether the session this one took over was online (its presence passes to this one).
    inherited: bool,
    /// Silence allowed before the session is dropped: keep-alive × grace.
    keep_alive: Duration,
    peer: SocketAddr,
    /// When recent malformed messages arrived (at most the limit + 1 are kept).
    malformed: VecDeque<Instant>,
}

/// Whether to keep serving after a packet.
enum Flow {
    Continue,
    Close,
}

impl Session {
    async fn run<S>(
        &mut self,
        stream: &mut S,
        mut buf: BytesMut,
        mut outbox: tokio::sync::mpsc::Receiver<Bytes>,
    ) -> Result<(), SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let max = self.shared.settings.max_packet();
        let kick = self.handle.kick.clone();
        let mut deadline = Instant::now() + self.keep_alive;
        loop {
            while let Some(packet) = codec::read(&mut buf, self.version, max)? {
                if let Flow::Close = self.handle_packet(stream, packet).await? {
                    return Ok(());
                }
            }
            tokio::select! {
                biased;
                () = kick.notified() => {
                    while let Ok(payload) = outbox.try_recv() {
                        self.deliver(stream, payload).await?;
                    }
                    send(stream, self.version, Outbound::Disconnect).await?;
                    return Err(SessionEnd::Kicked);
                }
                Some(payload) = outbox.recv() => self.deliver(stream, payload).await?,
                read = stream.read_buf(&mut buf) => {
                    if read? == 0 {
                        return Err(SessionEnd::Closed);
                    }
                    deadline = Instant::now() + self.keep_alive;
                }
                () = tokio::time::sleep_until(deadline) => return Err(SessionEnd::KeepAlive),
            }
        }
    }

    async fn handle_packet<S>(
        &mut self,
        stream: &mut S,
        packet: Inbound,
    ) -> Result<Flow, SessionEnd>
    where
        S: AsyncWrite + Unpin,
    {
        let (conn, side) = (&self.login.connection_id, self.login.side);
        match packet {
            Inbound::Connect { .. } => return Err(SessionEnd::Protocol("a second CONNECT")),
            Inbound::PingReq => send(stream, self.version, Outbound::PingResp).await?,
            Inbound::Disconnect => return Ok(Flow::Close),
            Inbound::Other => {}
            Inbound::Subscribe { pkid, filters } => {
                let granted: Vec<bool> = filters
                    .iter()
                    .map(|f| acl::may_subscribe(f, conn, side))
                    .collect();
                let refused = granted.iter().filter(|ok| !**ok).count();
                if refused > 0 {
                    metrics::counter!("switchboard_broker_acl_refusals_total", "op" => "subscribe")
                        .increment(refused as u64);
                    tracing::info!(peer = %self.peer, connection = %conn, "SUBSCRIBE outside the ACL refused");
                }
                let newly = granted.contains(&true) && !self.handle.online.load(Ordering::Acquire);
                send(stream, self.version, Outbound::SubAck { pkid, granted }).await?;
                if newly {
                    self.presence(true).await;
                }
            }
            Inbound::Unsubscribe { pkid, filters } => {
                let count = filters.len();
                if filters.iter().any(|f| acl::may_subscribe(f, conn, side))
                    && self.handle.online.load(Ordering::Acquire)
                {
                    self.presence(false).await;
                }
                send(stream, self.version, Outbound::UnsubAck { pkid, count }).await?;
            }
            Inbound::Publish {
                topic,
                qos,
                pkid,
                payload,
            } => {
                if !acl::may_publish(&topic, conn, side) {
                    metrics::counter!("switchboard_broker_acl_refusals_total", "op" => "publish")
                        .increment(1);
                    return Err(SessionEnd::Acl);
                }
                match qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        send(stream, self.version, Outbound::PubAck { pkid }).await?
                    }
                    QoS::ExactlyOnce => return Err(SessionEnd::Protocol("QoS 2 is not supported")),
                }
                self.on_message(stream, payload).await?;
            }
        }
        Ok(Flow::Continue)
    }

    /// A gateway message on `tx`: checked here (size, JSON, fields), then handed to the
    /// connection's actor, which relays it or answers with an `error`. A bad message gets
    /// `error bad_message`; more than the allowed number per minute ends the session.
    async fn on_message<S>(&mut self, stream: &mut S, payload: Bytes) -> Result<(), SessionEnd>
    where
        S: AsyncWrite + Unpin,
    {
        let limit = self.shared.settings.max_payload;
        let parsed = if payload.len() > limit {
            Err(BadMessage {
                problem: format!(
                    "message of {} bytes is larger than the {limit}-byte limit",
                    payload.len()
                ),
                kind: None,
            })
        } else {
            ToServer::parse(&payload)
        };
        let message = match parsed {
            Ok(message) => message,
            Err(bad) => {
                metrics::counter!("switchboard_broker_bad_messages_total").increment(1);
                tracing::debug!(connection = %self.login.connection_id, problem = %bad.problem.escape_debug(), "bad gateway message");
                let error = messages::error(
                    ErrorCode::BadMessage,
                    &bad.problem,
                    bad.kind.as_deref(),
                    None,
                );
                self.deliver(stream, Bytes::from(error)).await?;
                return self.count_malformed();
            }
        };
        let (conn, side) = (&self.login.connection_id, self.login.side);
        let kind = message.kind();
        let session = message.session().map(str::to_owned);
        if self
            .shared
            .service
            .signal(conn, side, message, payload)
            .is_err()
        {
            let error = messages::error(
                ErrorCode::RateLimited,
                "the connection is handling too many messages; retry shortly",
                Some(kind),
                session.as_deref(),
            );
            self.deliver(stream, Bytes::from(error)).await?;
        }
        Ok(())
    }

    /// Counts a malformed message; `Err` once more than the limit arrived within a minute.
    fn count_malformed(&mut self) -> Result<(), SessionEnd> {
        let now = Instant::now();
        let window = std::time::Duration::from_secs(60);
        while self
            .malformed
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.malformed.pop_front();
        }
        self.malformed.push_back(now);
        if self.malformed.len() > self.shared.settings.malformed_per_minute as usize {
            metrics::counter!("switchboard_broker_malformed_disconnects_total").increment(1);
            return Err(SessionEnd::Malformed);
        }
        Ok(())
    }

    /// Publishes `payload` on the gateway's `rx` if it holds the subscription.
    async fn deliver<S>(&mut self, stream: &mut S, payload: Bytes) -> Result<(), SessionEnd>
    where
        S: AsyncWrite + Unpin,
    {
        if !self.handle.online.load(Ordering::Acquire) {
            return Ok(());
        }
        let topic = acl::rx_topic(&self.login.connection_id, self.login.side);
        send(stream, self.version, Outbound::Publish { topic, payload }).await
    }

    /// Records presence, queues `welcome` (coming online) and tells the peer
    /// (`peer {online}`, unless this session only took over a gateway that was already
    /// online). Both sides of a connection take these steps one at a time, so a `welcome`
    /// saying the peer is offline is never queued behind the `peer {online}` that followed it.
    async fn presence(&self, online: bool) {
        let (conn, side) = (&self.login.connection_id, self.login.side);
        let sessions = &self.shared.sessions;
        let _serial = sessions.presence_lock(conn).lock().await;
        if !online {
            self.handle.online.store(false, Ordering::Release);
        }
        let service = &self.shared.service;
        let peer_online = match service.gateway_presence(conn, side, online).await {
            Ok(peer_online) => peer_online,
            Err(e) => {
                tracing::warn!(error = %e, connection = %conn, "could not record gateway presence");
                false
            }
        };
        if online {
            let welcome = messages::welcome(
                &self.login,
                peer_online,
                service.ice_servers(conn, side),
                service.session_timeout().as_secs(),
            );
            registry::offer(&self.handle, Bytes::from(welcome));
            self.handle.online.store(true, Ordering::Release);
        }
        if !(online && self.inherited) {
            sessions.deliver(conn, side.other(), Bytes::from(messages::peer(online)));
        }
    }

    /// Leaves the registry; if this session was still the registered one and the gateway was
    /// online through it, records the gateway offline. A session taken over leaves presence
    /// to its successor.
    async fn finish(&mut self, client_id: &str) {
        let was_online = self.handle.online.load(Ordering::Acquire) || self.inherited;
        if self
            .shared
            .sessions
            .unregister(client_id, self.handle.serial)
            && was_online
        {
            self.presence(false).await;
        }
    }
}

/// Writes one packet, bounded by [`WRITE_TIMEOUT`].
async fn send<S>(stream: &mut S, version: Version, packet: Outbound) -> Result<(), SessionEnd>
where
    S: AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    codec::write(packet, version, &mut out)?;
    if out.is_empty() {
        return Ok(());
    }
    tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&out).await?;
        stream.flush().await
    })
    .await
    .map_err(|_| SessionEnd::WriteTimeout)??;
    Ok(())
}
