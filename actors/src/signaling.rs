//! The signaling relay of one connection (SPEC §9), run by its [`ConnectionActor`]: roles
//! (the source offers, the target answers), the current session, its timeout, the rate
//! limits, the status rule for offers, relaying `offer`/`answer`/`candidate`/`bye` unchanged
//! to the peer's `rx`, an `error` back for every refusal, and `tunnel` reports written into
//! the connection's connectivity.
//!
//! The broker's session task has already parsed and checked each message
//! ([`ToServer::parse`]), so the actor only applies the rules; delivery goes through the
//! [`EffectSink`](crate::EffectSink) to the live gateway sessions.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use switchboard_domain::entities::{ConnectionStatus, OverallConnectivity, Side, TunnelPath};
use switchboard_protocol::{ErrorCode, ToGateway, ToServer, TunnelPath as WirePath, TunnelState};
use switchboard_storage::Reader;

use crate::core::ActorSettings;
use crate::entity_actors::ConnectionActor;
use crate::window::StrictWindow;

/// The window both signaling rate limits count over.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// One gateway message for the connection's actor.
#[derive(Debug)]
pub struct Signal {
    /// Which side sent it (proven by the topic it arrived on).
    pub side: Side,
    /// The parsed message.
    pub message: ToServer,
    /// The payload as sent, relayed unchanged.
    pub raw: Bytes,
}

impl Message for Signal {
    type Result = ();
}

/// The relay state of one connection.
pub struct Signaling {
    current: Option<Current>,
    serial: u64,
    offers: StrictWindow,
    messages: DefaultDirectRateLimiter,
}

struct Current {
    id: String,
    serial: u64,
    connected: bool,
    timer: Option<SpawnHandle>,
}

impl Signaling {
    /// Fresh state under `settings`' limits.
    pub fn new(settings: &ActorSettings) -> Self {
        let per_minute =
            NonZeroU32::new(settings.signaling_messages_per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(RATE_WINDOW / per_minute.get())
            .unwrap_or_else(|| Quota::per_minute(per_minute))
            .allow_burst(per_minute);
        Signaling {
            current: None,
            serial: 0,
            offers: StrictWindow::new(settings.offers_per_minute, RATE_WINDOW),
            messages: RateLimiter::direct(quota),
        }
    }

    /// Whether a session is in progress (waiting for its tunnel, or with its tunnel up): the
    /// actor then stays alive, so its timeout fires and a later `bye` or `tunnel closed`
    /// still finds the session.
    pub fn in_session(&self) -> bool {
        self.current.is_some()
    }
}

impl Handler<Signal> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Signal, ctx: &mut Self::Context) {
        self.live.last_active = Instant::now();
        let Signal { side, message, raw } = msg;
        if self.signaling.messages.check().is_err() {
            let limit = self.core.settings.signaling_messages_per_minute;
            self.refuse(
                side,
                &message,
                ErrorCode::RateLimited,
                format!("more than {limit} signaling messages per minute on this connection"),
            );
            return;
        }
        metrics::counter!("switchboard_signaling_messages_total", "type" => message.kind())
            .increment(1);
        match &message {
            ToServer::Offer { session, .. } => {
                let session = session.clone();
                self.offer(ctx, side, &message, session, raw);
            }
            ToServer::Answer { .. } if side != Side::Target => self.refuse(
                side,
                &message,
                ErrorCode::NotOfferer,
                "only the answerer (target side) sends answer".into(),
            ),
            ToServer::Answer { .. } | ToServer::Candidate { .. } => {
                if self.is_current(side, &message) && !self.relay(side, raw) {
                    self.refuse_offline(side, &message);
                }
            }
            ToServer::Bye { .. } => {
                if self.is_current(side, &message) {
                    // A `bye` ends a tunnel that was up as `tunnel closed` would.
                    let was_connected =
                        self.signaling.current.as_ref().is_some_and(|c| c.connected);
                    if was_connected {
                        self.tunnel(ctx, TunnelState::Closed, None);
                    } else {
                        self.end_session(ctx);
                    }
                    self.relay(side, raw);
                }
            }
            ToServer::Tunnel {
                session,
                state,
                path,
                ..
            } => {
                let known = match &self.signaling.current {
                    Some(c) => c.id == *session,
                    None => true,
                };
                if !known {
                    self.refuse(
                        side,
                        &message,
                        ErrorCode::StaleSession,
                        format!("session {session:?} is not the current session"),
                    );
                    return;
                }
                self.tunnel(ctx, *state, *path);
            }
            ToServer::IceRefresh {} => {
                let ice_servers = self.core.ice_servers(&self.id, side);
                let reply = ToGateway::Ice { ice_servers };
                self.core
                    .sink
                    .deliver(&self.id, side, Bytes::from(reply.to_payload()));
            }
        }
    }
}

impl ConnectionActor {
    fn offer(
        &mut self,
        ctx: &mut Context<Self>,
        side: Side,
        message: &ToServer,
        session: String,
        raw: Bytes,
    ) {
        if side != Side::Source {
            return self.refuse(
                side,
                message,
                ErrorCode::NotOfferer,
                "only the offerer (source side) sends offer".into(),
            );
        }
        if let Err(wait) = self.signaling.offers.admit(self.core.clock.now()) {
            let limit = self.core.settings.offers_per_minute;
            return self.refuse(
                side,
                message,
                ErrorCode::RateLimited,
                format!(
                    "more than {limit} offers per minute on this connection; retry in {} s",
                    wait.as_secs().max(1)
                ),
            );
        }
        match self.status() {
            Some(ConnectionStatus::Active) => {}
            Some(status) => {
                return self.refuse(
                    side,
                    message,
                    ErrorCode::NotActive,
                    format!("the connection is {}, not active", status.as_str()),
                );
            }
            None => {
                return self.refuse(
                    side,
                    message,
                    ErrorCode::NotActive,
                    "the connection's status cannot be read right now".into(),
                );
            }
        }
        if !self.relay(side, raw) {
            return self.refuse_offline(side, message);
        }
        // A new offer replaces any session in progress (ICE restart / renegotiation).
        self.end_session(ctx);
        self.signaling.serial += 1;
        let serial = self.signaling.serial;
        let timeout = self.core.settings.session_timeout;
        let timer = ctx.run_later(timeout, move |act, _ctx| act.session_timed_out(serial));
        self.signaling.current = Some(Current {
            id: session,
            serial,
            connected: false,
            timer: Some(timer),
        });
    }

    /// The session was not tunnel-connected in time: `bye {reason: "timeout"}` to both sides.
    fn session_timed_out(&mut self, serial: u64) {
        let Some(current) = self.signaling.current.take_if(|c| c.serial == serial) else {
            return;
        };
        if current.connected {
            self.signaling.current = Some(current);
            return;
        }
        metrics::counter!("switchboard_signaling_sessions_timed_out_total").increment(1);
        let bye = ToGateway::Bye {
            session: current.id,
            reason: Some("timeout".into()),
        };
        let payload = Bytes::from(bye.to_payload());
        for side in [Side::Source, Side::Target] {
            self.core.sink.deliver(&self.id, side, payload.clone());
        }
    }

    fn end_session(&mut self, ctx: &mut Context<Self>) {
        if let Some(Current {
            timer: Some(timer), ..
        }) = self.signaling.current.take()
        {
            ctx.cancel_future(timer);
        }
    }

    /// Whether the message is for the current session; if not, answers `stale_session`.
    fn is_current(&self, side: Side, message: &ToServer) -> bool {
        let session = message.session().unwrap_or_default();
        match &self.signaling.current {
            Some(c) if c.id == session => true,
            Some(_) => {
                self.refuse(
                    side,
                    message,
                    ErrorCode::StaleSession,
                    format!("session {session:?} is not the current session"),
                );
                false
            }
            None => {
                self.refuse(
                    side,
                    message,
                    ErrorCode::StaleSession,
                    format!("there is no session in progress (not {session:?}); the offerer starts one with offer"),
                );
                false
            }
        }
    }

    fn tunnel(&mut self, ctx: &mut Context<Self>, state: TunnelState, path: Option<WirePath>) {
        let connected = state == TunnelState::Connected;
        if let Some(current) = self.signaling.current.as_mut() {
            current.connected = connected;
            if connected && let Some(timer) = current.timer.take() {
                ctx.cancel_future(timer);
            }
        }
        if state == TunnelState::Closed {
            self.end_session(ctx);
        }
        let path = path.map(|p| match p {
            WirePath::Direct => TunnelPath::Direct,
            WirePath::Relay => TunnelPath::Relay,
        });
        metrics::counter!("switchboard_tunnel_reports_total",
            "state" => match state { TunnelState::Connected => "connected", TunnelState::Failed => "failed", TunnelState::Closed => "closed" },
            "path" => match path { Some(TunnelPath::Direct) => "direct", Some(TunnelPath::Relay) => "relay", None => "unknown" })
        .increment(1);
        let (store, id, now) = (
            self.core.store.clone(),
            self.id.clone(),
            self.core.clock.now(),
        );
        // Later messages wait for this commit, so connectivity follows the reports' order.
        ctx.wait(
            async move {
                store
                    .write(move |tx| {
                        let Some(mut conn) = tx.get_connection(&id)? else {
                            return Ok(());
                        };
                        let c = &mut conn.connectivity;
                        if connected {
                            c.state = OverallConnectivity::Connected;
                            c.last_connected_at = Some(now);
                            c.last_path = path;
                        } else if c.state == OverallConnectivity::Connected {
                            c.state = OverallConnectivity::Disconnected;
                        } else {
                            return Ok(());
                        }
                        tx.put_connection(&conn)?;
                        Ok(())
                    })
                    .await
            }
            .into_actor(self)
            .map(|written, act, _| {
                if let Err(e) = written {
                    tracing::warn!(connection = %act.id, error = %e, "could not record a tunnel report");
                }
            }),
        );
    }

    /// Queues `raw` for the other side; `false` if it is not online.
    fn relay(&self, from: Side, raw: Bytes) -> bool {
        let delivered = self.core.sink.deliver(&self.id, from.other(), raw);
        if delivered {
            metrics::counter!("switchboard_signaling_relayed_total").increment(1);
        }
        delivered
    }

    fn refuse_offline(&self, side: Side, message: &ToServer) {
        self.refuse(
            side,
            message,
            ErrorCode::PeerOffline,
            format!("the {} gateway is not online", side.other().as_str()),
        );
    }

    /// Sends `error` to the sender.
    fn refuse(&self, side: Side, message: &ToServer, code: ErrorCode, text: String) {
        metrics::counter!("switchboard_signaling_refusals_total", "code" => code.as_str())
            .increment(1);
        let error = ToGateway::Error {
            code,
            message: text,
            reference: Some(message.kind().to_owned()),
            session: message.session().map(str::to_owned),
        };
        self.core
            .sink
            .deliver(&self.id, side, Bytes::from(error.to_payload()));
    }

    /// The connection's status, read from a snapshot (a few microseconds; offers are rare).
    fn status(&self) -> Option<ConnectionStatus> {
        let read = self.core.store.store().read().ok()?;
        read.get_connection(&self.id)
            .ok()
            .flatten()
            .map(|c| c.status)
    }
}
