//! Carrying out a rule's [`ChangeSet`]: the store part inside the write transaction (entities,
//! notifications, audit, and the secret effects, so a new secret and the connection that
//! needs it commit together), the runtime part after the commit through an [`EffectSink`].

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use switchboard_domain::entities::{ConnectionStatus, Side};
use switchboard_domain::ids::ConnectionId;
use switchboard_domain::{ChangeSet, Effect};
use switchboard_storage::{RegistrationRecord, RegistrationToken, SharedSecret, WriteTx};

use crate::error::ServiceResult;

/// How long a registration token is accepted at most (it also dies with its secret generation).
pub const REGISTRATION_TOKEN_TTL_DAYS: i64 = 30;

/// What happens outside the store once a change is committed: the broker and the relay plug
/// in here. Calls must not block.
pub trait EffectSink: Send + Sync + 'static {
    /// Disconnects the connection's live gateway sessions.
    fn kick_gateways(&self, connection: &ConnectionId);
    /// Deletes the connection's TURN allocations.
    fn drop_relay_allocations(&self, connection: &ConnectionId);
    /// Tells the connection's gateways its new status.
    fn push_status(
        &self,
        connection: &ConnectionId,
        status: ConnectionStatus,
        reason: Option<&str>,
    );
    /// Queues a message for the `rx` of one side's gateway. `true` if a session holding its
    /// `rx` subscription took it; `false` if there is none, or it is not reading (then it is
    /// disconnected rather than left to lose messages silently).
    fn deliver(&self, connection: &ConnectionId, side: Side, payload: Bytes) -> bool;
}

/// The sink while no broker or relay is running: there are no gateway sessions or
/// allocations to act on, so each effect is only logged.
#[derive(Debug, Default)]
pub struct NoLiveSessions;

impl EffectSink for NoLiveSessions {
    fn kick_gateways(&self, connection: &ConnectionId) {
        tracing::debug!(%connection, "kick: no live gateway sessions");
    }
    fn drop_relay_allocations(&self, connection: &ConnectionId) {
        tracing::debug!(%connection, "drop relay allocations: none");
    }
    fn push_status(
        &self,
        connection: &ConnectionId,
        status: ConnectionStatus,
        _reason: Option<&str>,
    ) {
        tracing::debug!(%connection, status = status.as_str(), "status push: no live gateway sessions");
    }
    fn deliver(&self, _connection: &ConnectionId, _side: Side, _payload: Bytes) -> bool {
        false
    }
}

/// Secrets issued while applying a change set (to return a rotated secret to its caller).
#[derive(Debug, Default)]
pub struct Issued {
    /// New secrets by connection.
    pub secrets: Vec<(ConnectionId, SharedSecret)>,
}

/// Writes `changes` and its secret effects inside the transaction.
pub fn apply_in_tx(tx: &mut WriteTx<'_>, changes: &ChangeSet) -> ServiceResult<Issued> {
    tx.apply_changes(changes)?;
    let mut issued = Issued::default();
    for effect in &changes.effects {
        match effect {
            Effect::IssueSecret {
                connection,
                generation,
            } => {
                let secret = SharedSecret::generate();
                tx.set_secret(connection, *generation, &secret)?;
                tx.delete_registration_tokens_of(connection)?;
                issued.secrets.push((connection.clone(), secret));
            }
            Effect::ForgetSecretPlaintext { connection } => {
                tx.forget_secret_plaintext(connection)?;
            }
            Effect::RevokeCredentials { connection } => {
                tx.delete_secret(connection)?;
                tx.delete_registration_tokens_of(connection)?;
            }
            Effect::KickGateways { .. }
            | Effect::DropRelayAllocations { .. }
            | Effect::PushStatus { .. } => {}
        }
    }
    Ok(issued)
}

/// Issues a fresh single-use registration token for the connection's current secret
/// generation, replacing any earlier one.
pub fn issue_registration_token(
    tx: &mut WriteTx<'_>,
    connection: &ConnectionId,
    generation: u32,
    now: DateTime<Utc>,
) -> ServiceResult<RegistrationToken> {
    tx.delete_registration_tokens_of(connection)?;
    let token = RegistrationToken::generate();
    let record = RegistrationRecord {
        connection_id: connection.clone(),
        generation,
        expires_at: now + Duration::days(REGISTRATION_TOKEN_TTL_DAYS),
        used: false,
    };
    tx.put_registration_token(&token, &record)?;
    Ok(token)
}

/// Carries out the runtime effects of a committed change set.
pub fn after_commit(sink: &dyn EffectSink, changes: &ChangeSet) {
    for effect in &changes.effects {
        match effect {
            Effect::KickGateways { connection } => sink.kick_gateways(connection),
            Effect::DropRelayAllocations { connection } => sink.drop_relay_allocations(connection),
            Effect::PushStatus {
                connection,
                status,
                reason,
            } => sink.push_status(connection, *status, reason.as_deref()),
            Effect::IssueSecret { .. }
            | Effect::ForgetSecretPlaintext { .. }
            | Effect::RevokeCredentials { .. } => {}
        }
    }
    metrics::counter!("switchboard_audit_events_total").increment(changes.audit.len() as u64);
}
