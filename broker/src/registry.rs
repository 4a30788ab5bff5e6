//! The live gateway sessions, by client id (`{connection_id}.{side}`): how a second session
//! with the same client id takes over the first, how kicks and status pushes reach a
//! connection's sessions, and the [`BrokerSink`] the service's effects arrive through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use dashmap::DashMap;
use switchboard_actors::EffectSink;
use switchboard_domain::entities::{ConnectionStatus, Side};
use switchboard_domain::ids::ConnectionId;
use tokio::sync::{Notify, mpsc};

use crate::messages;

/// Messages queued for one session before further ones are dropped (and counted): a gateway
/// that does not read must not grow the server's memory.
pub const SESSION_OUTBOX_CAPACITY: usize = 256;

/// What other tasks hold of a live session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// Distinguishes this session from a later one with the same client id.
    pub serial: u64,
    /// Wakes the session to close it (kick or takeover); a stored permit survives a kick
    /// that arrives before the session waits.
    pub kick: Arc<Notify>,
    /// JSON payloads to publish on the session's `rx`, bounded (see
    /// [`SESSION_OUTBOX_CAPACITY`]).
    pub outbox: mpsc::Sender<Bytes>,
    /// Whether the session holds its `rx` subscription (its presence), so a takeover knows
    /// whether the gateway was online.
    pub online: Arc<AtomicBool>,
    /// The connection's last status this session was told (at login, then by status pushes),
    /// repeated in the `status` message sent on shutdown.
    pub status: Arc<std::sync::Mutex<ConnectionStatus>>,
}

impl SessionHandle {
    fn set_status(&self, status: ConnectionStatus) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    fn last_status(&self) -> ConnectionStatus {
        *self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Striped locks serializing presence changes per connection (see
/// [`LiveSessions::presence_lock`]); a fixed number bounds memory whatever the connections.
const PRESENCE_LOCK_STRIPES: usize = 64;

/// Live sessions by client id. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveSessions {
    sessions: Arc<DashMap<String, SessionHandle>>,
    serials: Arc<AtomicU64>,
    presence_locks: Arc<Vec<tokio::sync::Mutex<()>>>,
}

impl Default for LiveSessions {
    fn default() -> Self {
        LiveSessions {
            sessions: Arc::default(),
            serials: Arc::default(),
            presence_locks: Arc::new(
                (0..PRESENCE_LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
            ),
        }
    }
}

impl LiveSessions {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lock a session holds while it records its presence, queues its `welcome` and
    /// tells its peer: with both sides' steps serialized, a gateway's `welcome` and the
    /// `peer` messages it receives always agree, in the order they were decided.
    pub fn presence_lock(&self, connection: &ConnectionId) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(connection.as_str());
        &self.presence_locks[(hash % PRESENCE_LOCK_STRIPES as u64) as usize]
    }

    /// A fresh handle for a connection in `status`, and the receiving end of its outbox.
    pub fn new_handle(&self, status: ConnectionStatus) -> (SessionHandle, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(SESSION_OUTBOX_CAPACITY);
        let handle = SessionHandle {
            serial: self.serials.fetch_add(1, Ordering::Relaxed),
            kick: Arc::new(Notify::new()),
            outbox: tx,
            online: Arc::new(AtomicBool::new(false)),
            status: Arc::new(std::sync::Mutex::new(status)),
        };
        (handle, rx)
    }

    /// Registers `handle` under `client_id`, kicking any session it replaces. Returns whether
    /// the replaced session was online (the new one inherits its presence).
    pub fn register(&self, client_id: &str, handle: SessionHandle) -> bool {
        match self.sessions.insert(client_id.to_owned(), handle) {
            Some(old) => {
                old.kick.notify_one();
                metrics::counter!("switchboard_broker_takeovers_total").increment(1);
                old.online.load(Ordering::Acquire)
            }
            None => false,
        }
    }

    /// Removes the session if it is still the registered one; `true` if it was.
    pub fn unregister(&self, client_id: &str, serial: u64) -> bool {
        self.sessions
            .remove_if(client_id, |_, h| h.serial == serial)
            .is_some()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Shutdown: tells every session `status {status, reason: "shutdown"}` (SPEC §11), then
    /// closes it; a kicked session delivers what is queued before it closes.
    pub fn shutdown_all(&self) {
        for entry in self.sessions.iter() {
            let notice = messages::status(entry.last_status(), Some("shutdown"));
            offer(&entry, Bytes::from(notice));
            entry.kick.notify_one();
        }
    }

    /// The live session of one side, if any.
    pub fn of_side(&self, connection: &ConnectionId, side: Side) -> Option<SessionHandle> {
        self.sessions
            .get(&format!("{connection}.{}", side.as_str()))
            .map(|h| h.clone())
    }

    /// Queues `payload` for one side's gateway if it holds its `rx` subscription. A gateway
    /// whose queue is full is not reading: it is disconnected (and told nothing more) rather
    /// than left to lose messages silently; the sender then hears `peer_offline`.
    pub fn deliver(&self, connection: &ConnectionId, side: Side, payload: Bytes) -> bool {
        let Some(handle) = self.of_side(connection, side) else {
            return false;
        };
        if !handle.online.load(Ordering::Acquire) {
            return false;
        }
        match handle.outbox.try_send(payload) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("switchboard_broker_slow_gateways_total").increment(1);
                tracing::warn!(%connection, side = side.as_str(), "gateway not reading its rx; disconnected");
                handle.kick.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn of_connection(&self, connection: &ConnectionId) -> Vec<SessionHandle> {
        [Side::Source, Side::Target]
            .into_iter()
            .filter_map(|side| {
                self.sessions
                    .get(&format!("{connection}.{}", side.as_str()))
                    .map(|h| h.clone())
            })
            .collect()
    }
}

/// Queues `payload` for a session without waiting; a full outbox drops it (counted).
pub fn offer(handle: &SessionHandle, payload: Bytes) {
    if handle.outbox.try_send(payload).is_err() {
        metrics::counter!("switchboard_broker_dropped_messages_total").increment(1);
    }
}

/// The service's effects on live sessions: kicks and status pushes.
#[derive(Debug, Clone)]
pub struct BrokerSink {
    sessions: LiveSessions,
}

impl BrokerSink {
    /// A sink acting on `sessions`.
    pub fn new(sessions: LiveSessions) -> Self {
        BrokerSink { sessions }
    }
}

impl EffectSink for BrokerSink {
    fn kick_gateways(&self, connection: &ConnectionId) {
        for handle in self.sessions.of_connection(connection) {
            handle.kick.notify_one();
        }
    }

    fn drop_relay_allocations(&self, connection: &ConnectionId) {
        tracing::debug!(%connection, "drop relay allocations: no relay running");
    }

    fn push_status(
        &self,
        connection: &ConnectionId,
        status: ConnectionStatus,
        reason: Option<&str>,
    ) {
        let payload = Bytes::from(messages::status(status, reason));
        for handle in self.sessions.of_connection(connection) {
            handle.set_status(status);
            offer(&handle, payload.clone());
        }
    }

    fn deliver(&self, connection: &ConnectionId, side: Side, payload: Bytes) -> bool {
        self.sessions.deliver(connection, side, payload)
    }
}
