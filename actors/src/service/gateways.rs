//! Gateway authentication and presence for the embedded broker (SPEC §6, §9): a CONNECT's
//! client id, username and secret checked against the connection (the secret in constant
//! time), an in-memory lockout per connection id and per IP after repeated credential
//! failures, every refusal of a known connection recorded in its `last_auth_failure`, and the
//! per-side presence written through the connection's actor.

use std::collections::VecDeque;
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use dashmap::DashMap;
use switchboard_domain::ChangeSet;
use switchboard_domain::entities::{AuthFailure, AuthFailureReason, ConnectionStatus, Side};
use switchboard_domain::ids::ConnectionId;
use switchboard_storage::Reader;

use super::Switchboard;
use super::types::{GatewayLogin, GatewayRefusal};
use crate::core::ActorSettings;
use crate::entity_actors::ConnectionActor;
use crate::error::ServiceResult;
use crate::registry::Activate;
use crate::signaling::Signal;
use switchboard_protocol::ToServer;

/// Two refusals of the same reason for one side closer than this are recorded once, so a
/// gateway retrying in a tight loop does not turn into a stream of store commits.
pub const AUTH_FAILURE_RECORD_INTERVAL_MS: i64 = 1_000;

/// What a lockout counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LockKey {
    /// A connection id (from the client id).
    Connection(String),
    /// A peer address.
    Ip(IpAddr),
}

/// Recent failures of one key, and the end of its lockout if it is locked.
#[derive(Debug, Default)]
struct Failures {
    recent: VecDeque<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failed gateway CONNECTs per connection id and per IP (SPEC §9: by default 10 failures
/// within a minute lock the key out for 5 minutes). Kept in memory: a restart forgets it,
/// which only gives a guesser a fresh window, never access.
#[derive(Debug, Default)]
pub struct GatewayLockout {
    keys: DashMap<LockKey, Failures>,
}

impl GatewayLockout {
    fn locked(&self, key: &LockKey, now: DateTime<Utc>) -> bool {
        match self.keys.get(key) {
            Some(f) => f.locked_until.is_some_and(|until| until > now),
            None => false,
        }
    }

    fn record(&self, key: LockKey, now: DateTime<Utc>, s: &ActorSettings) {
        let window = to_chrono(s.lockout_window);
        let mut entry = self.keys.entry(key).or_default();
        if entry.locked_until.is_some_and(|until| until <= now) {
            entry.locked_until = None;
        }
        while entry.recent.front().is_some_and(|t| *t <= now - window) {
            entry.recent.pop_front();
        }
        entry.recent.push_back(now);
        if entry.recent.len() >= s.lockout_max_failures.max(1) as usize {
            entry.recent.clear();
            entry.locked_until = Some(now + to_chrono(s.lockout_duration));
        }
    }

    /// Forgets keys with neither a lockout in force nor a failure inside the window, so the
    /// map follows recent abuse rather than every address ever seen.
    fn prune(&self, now: DateTime<Utc>, s: &ActorSettings) {
        let window = to_chrono(s.lockout_window);
        self.keys.retain(|_, f| {
            f.locked_until.is_some_and(|until| until > now)
                || f.recent.back().is_some_and(|t| *t > now - window)
        });
    }
}

/// Keys kept before the lockout map is pruned of stale entries on the next failure.
pub const LOCKOUT_PRUNE_THRESHOLD: usize = 10_000;

impl Switchboard {
    /// Checks a gateway's CONNECT (SPEC §9): client id `{connection_id}.{side}`, username the
    /// connection id, password the shared secret, the connection `active` or `paused`, and
    /// neither the connection id nor the peer address locked out.
    pub async fn authenticate_gateway(
        &self,
        client_id: &str,
        username: &str,
        password: &[u8],
        peer_ip: IpAddr,
    ) -> Result<GatewayLogin, GatewayRefusal> {
        let now = self.now();
        let lockout = &self.core.gateway_lockout;
        let parsed = parse_client_id(client_id).filter(|(id, _)| id.as_str() == username);
        let ip_key = LockKey::Ip(peer_ip);
        let Some((id, side)) = parsed else {
            let locked = lockout.locked(&ip_key, now);
            if !locked {
                self.count_failure(vec![ip_key], now);
            }
            let refusal = if locked {
                GatewayRefusal::LockedOut
            } else {
                GatewayRefusal::BadClientId
            };
            count_refusal(&refusal);
            return Err(refusal);
        };
        let conn_key = LockKey::Connection(id.as_str().to_owned());
        if lockout.locked(&ip_key, now) || lockout.locked(&conn_key, now) {
            let refusal = GatewayRefusal::LockedOut;
            count_refusal(&refusal);
            self.record_auth_failure(&id, side, AuthFailureReason::LockedOut)
                .await;
            return Err(refusal);
        }
        let candidate = std::str::from_utf8(password).unwrap_or("").to_owned();
        let checked = {
            let id = id.clone();
            self.core
                .store
                .read(move |tx| {
                    let Some(conn) = tx.get_connection(&id)? else {
                        return Ok(None);
                    };
                    // Verified before the status is looked at, so a wrong secret never learns
                    // whether the connection is usable. The one exception: a terminal
                    // connection whose credentials were revoked has no secret left to match,
                    // and SPEC §9 answers it as "not usable" (rc 5), not "bad secret".
                    let revoked = conn.status.is_terminal() && tx.secret_generation(&id)?.is_none();
                    let ok =
                        revoked || (!candidate.is_empty() && tx.verify_secret(&id, &candidate)?);
                    Ok(Some((conn, ok)))
                })
                .await
        };
        let (conn, secret_ok) = match checked {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.count_failure(vec![ip_key, conn_key], now);
                let refusal = GatewayRefusal::UnknownConnection;
                count_refusal(&refusal);
                return Err(refusal);
            }
            Err(e) => {
                tracing::warn!(error = %e, connection = %id, "gateway authentication could not read the store");
                let refusal = GatewayRefusal::Unavailable;
                count_refusal(&refusal);
                return Err(refusal);
            }
        };
        let refusal = if !secret_ok {
            self.count_failure(vec![ip_key, conn_key], now);
            Some(GatewayRefusal::BadSecret)
        } else if conn.status == ConnectionStatus::Terminated {
            Some(GatewayRefusal::Terminated)
        } else if !conn.status.accepts_gateways() {
            Some(GatewayRefusal::NotActive {
                status: conn.status,
            })
        } else {
            None
        };
        if let Some(refusal) = refusal {
            count_refusal(&refusal);
            if let Some(reason) = refusal.reason() {
                self.record_auth_failure(&id, side, reason).await;
            }
            return Err(refusal);
        }
        Ok(GatewayLogin {
            connection_id: conn.id,
            side,
            kind: conn.kind,
            status: conn.status,
        })
    }

    /// Records a gateway coming online (its `rx` subscription made) or going away, through
    /// the connection's actor. Not a business change: no audit event. Returns whether the
    /// other side's gateway is online.
    pub async fn gateway_presence(
        &self,
        id: &ConnectionId,
        side: Side,
        online: bool,
    ) -> ServiceResult<bool> {
        let now = self.now();
        let id2 = id.clone();
        self.change(id, move |tx| {
            let Some(mut conn) = tx.get_connection(&id2)? else {
                return Ok((false, ChangeSet::default()));
            };
            let mine = conn.connectivity.side_mut(side);
            mine.online = online;
            if online {
                mine.last_connected_at = Some(now);
            } else {
                mine.last_disconnected_at = Some(now);
            }
            let peer_online = conn.connectivity.side(side.other()).online;
            tx.put_connection(&conn)?;
            Ok((peer_online, ChangeSet::default()))
        })
        .await
    }

    /// At start-up, before the broker listens: no gateway session survives a restart, so
    /// presence recorded by the previous run (a crash leaves it behind) is cleared. Only
    /// `active` and `paused` connections accept gateways, so only they are looked at; a
    /// terminal connection's sessions were kicked, and their end recorded, when it changed.
    /// One write transaction; returns how many sides were marked offline.
    pub async fn clear_stale_presence(&self) -> ServiceResult<usize> {
        let now = self.now();
        self.core
            .store
            .write(move |tx| {
                let mut cleared = 0;
                for status in [ConnectionStatus::Active, ConnectionStatus::Paused] {
                    for mut conn in tx.connections_with_status(status)? {
                        let mut changed = false;
                        for side in [Side::Source, Side::Target] {
                            let s = conn.connectivity.side_mut(side);
                            if s.online {
                                s.online = false;
                                s.last_disconnected_at = Some(now);
                                changed = true;
                                cleared += 1;
                            }
                        }
                        if changed {
                            tx.put_connection(&conn)?;
                        }
                    }
                }
                Ok(cleared)
            })
            .await
    }

    /// Hands a gateway's checked message to its connection's actor without waiting (the
    /// actor answers the gateways directly). `Err` when the actor's mailbox is full: the
    /// caller answers `error rate_limited`.
    pub fn signal(
        &self,
        id: &ConnectionId,
        side: Side,
        message: ToServer,
        raw: bytes::Bytes,
    ) -> Result<(), SignalBusy> {
        let mut signal = Signal { side, message, raw };
        for _ in 0..2 {
            let addr: actix::Addr<ConnectionActor> = Activate::activate(&self.core, id);
            match addr.try_send(signal) {
                Ok(()) => return Ok(()),
                Err(actix::dev::SendError::Full(_)) => {
                    metrics::counter!("switchboard_mailbox_full_total").increment(1);
                    return Err(SignalBusy);
                }
                // Passivated between lookup and delivery: start a fresh actor, once.
                Err(actix::dev::SendError::Closed(back)) => signal = back,
            }
        }
        Err(SignalBusy)
    }

    /// The ICE servers for one side's gateway (`welcome`).
    pub fn ice_servers(&self, id: &ConnectionId, side: Side) -> Vec<super::types::IceServer> {
        self.core.ice_servers(id, side)
    }

    /// How long a signaling session may take to become tunnel-connected.
    pub fn session_timeout(&self) -> std::time::Duration {
        self.core.settings.session_timeout
    }

    fn count_failure(&self, keys: Vec<LockKey>, now: DateTime<Utc>) {
        let lockout = &self.core.gateway_lockout;
        let settings = &self.core.settings;
        if lockout.keys.len() > LOCKOUT_PRUNE_THRESHOLD {
            lockout.prune(now, settings);
        }
        for key in keys {
            lockout.record(key, now, settings);
        }
    }

    /// Writes the refusal into the side's `last_auth_failure` (diagnostics, SPEC §6). A
    /// failure to write is logged: the refusal itself stands either way.
    async fn record_auth_failure(&self, id: &ConnectionId, side: Side, reason: AuthFailureReason) {
        let now = self.now();
        let id2 = id.clone();
        let written = self
            .change(id, move |tx| {
                let Some(mut conn) = tx.get_connection(&id2)? else {
                    return Ok(((), ChangeSet::default()));
                };
                let slot = &mut conn.connectivity.side_mut(side).last_auth_failure;
                let recent = slot.is_some_and(|f| {
                    f.reason == reason
                        && f.at > now - Duration::milliseconds(AUTH_FAILURE_RECORD_INTERVAL_MS)
                });
                if !recent {
                    *slot = Some(AuthFailure { at: now, reason });
                    tx.put_connection(&conn)?;
                }
                Ok(((), ChangeSet::default()))
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, connection = %id, "could not record a gateway auth failure");
        }
    }
}

/// The connection's actor cannot take another message right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalBusy;

/// `{connection_id}.{side}` → its parts; `None` if malformed.
pub fn parse_client_id(client_id: &str) -> Option<(ConnectionId, Side)> {
    let (id, side) = client_id.rsplit_once('.')?;
    let side = match side {
        "source" => Side::Source,
        "target" => Side::Target,
        _ => return None,
    };
    Some((id.parse().ok()?, side))
}

fn count_refusal(refusal: &GatewayRefusal) {
    metrics::counter!("switchboard_gateway_auth_failures_total", "reason" => refusal.metric_reason())
        .increment(1);
}

fn to_chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        let id = ConnectionId::generate();
        assert_eq!(
            parse_client_id(&format!("{id}.source")),
            Some((id.clone(), Side::Source))
        );
        assert_eq!(
            parse_client_id(&format!("{id}.target")),
            Some((id.clone(), Side::Target))
        );
        for bad in [
            format!("{id}.both"),
            format!("{id}"),
            "x.source".to_owned(),
            String::new(),
            ".source".to_owned(),
        ] {
            assert_eq!(parse_client_id(&bad), None, "{bad}");
        }
    }

    #[test]
    fn lockout_after_max_failures_then_expiry() {
        let s = ActorSettings::default();
        let lockout = GatewayLockout::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let key = LockKey::Ip(IpAddr::from([127, 0, 0, 1]));
        for i in 0..s.lockout_max_failures {
            assert!(!lockout.locked(&key, t0), "locked after {i}");
            lockout.record(key.clone(), t0, &s);
        }
        assert!(lockout.locked(&key, t0));
        let later = t0 + to_chrono(s.lockout_duration);
        assert!(!lockout.locked(&key, later));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let s = ActorSettings::default();
        let lockout = GatewayLockout::default();
        let mut now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let key = LockKey::Connection("conn_x".into());
        for _ in 0..(s.lockout_max_failures * 3) {
            lockout.record(key.clone(), now, &s);
            now += Duration::seconds(7);
        }
        assert!(!lockout.locked(&key, now));
    }
}
