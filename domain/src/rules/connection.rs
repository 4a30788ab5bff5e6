//! The connection status machine (SPEC §6): who may move a connection, from which status, to
//! which status, and what must follow (gateways kicked, relay allocations dropped, credentials
//! revoked, status pushed to gateways, parties notified, audit written).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::{ChangeSet, Effect};
use crate::entities::{Connection, ConnectionStatus, NotificationKind, Server};
use crate::permissions::{Action, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};

use ConnectionStatus as S;

/// An event on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// `ready → active`, by either party.
    Activate,
    /// `active → paused`, by either party.
    Pause,
    /// `paused → active`, by either party.
    Resume,
    /// `offered → active`, by the recipient, choosing its managing server as the source.
    Accept {
        /// The recipient's server that will manage the target.
        source: Server,
    },
    /// `offered → declined`, by the recipient.
    Decline,
    /// `offered → expired`, by the system once `offer_expires_at` has passed.
    Expire,
    /// Any non-terminal `→ failed`, by the system.
    Fail {
        /// What went wrong.
        reason: String,
    },
    /// `failed → ready`, by either party.
    Retry,
    /// Any non-terminal `→ terminated`, by either party.
    Terminate,
    /// Any non-terminal `→ terminated`, by the system, because the agreement was revoked.
    AgreementRevoked,
    /// Any non-terminal `→ terminated`, by the system, because the grant was revoked.
    GrantRevoked,
}

impl ConnectionEvent {
    /// The event's name as used in errors and audit actions.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionEvent::Activate => "activate",
            ConnectionEvent::Pause => "pause",
            ConnectionEvent::Resume => "resume",
            ConnectionEvent::Accept { .. } => "accept",
            ConnectionEvent::Decline => "decline",
            ConnectionEvent::Expire => "expire",
            ConnectionEvent::Fail { .. } => "fail",
            ConnectionEvent::Retry => "retry",
            ConnectionEvent::Terminate => "terminate",
            ConnectionEvent::AgreementRevoked => "agreement_revoked",
            ConnectionEvent::GrantRevoked => "grant_revoked",
        }
    }

    fn system_only(&self) -> bool {
        matches!(
            self,
            ConnectionEvent::Expire
                | ConnectionEvent::Fail { .. }
                | ConnectionEvent::AgreementRevoked
                | ConnectionEvent::GrantRevoked
        )
    }
}

/// The status an event leads to from `from`, or `None` if the table has no such row.
pub fn next_status(from: ConnectionStatus, event: &ConnectionEvent) -> Option<ConnectionStatus> {
    use ConnectionEvent as E;
    if from.is_terminal() {
        return None;
    }
    match (from, event) {
        (S::Ready, E::Activate) => Some(S::Active),
        (S::Active, E::Pause) => Some(S::Paused),
        (S::Paused, E::Resume) => Some(S::Active),
        (S::Offered, E::Accept { .. }) => Some(S::Active),
        (S::Offered, E::Decline) => Some(S::Declined),
        (S::Offered, E::Expire) => Some(S::Expired),
        (S::Failed, E::Retry) => Some(S::Ready),
        (_, E::Fail { .. }) => Some(S::Failed),
        (_, E::Terminate | E::AgreementRevoked | E::GrantRevoked) => Some(S::Terminated),
        _ => None,
    }
}

/// Applies `event` to `conn` on behalf of `caller`.
pub fn transition(
    caller: &Caller,
    conn: &Connection,
    event: ConnectionEvent,
    now: DateTime<Utc>,
) -> Decision<(Connection, ChangeSet)> {
    authorize_any(
        caller,
        &conn.parties(),
        Action::ManageConnections,
        EntityKind::Connection,
    )?;
    if event.system_only() && *caller != Caller::System {
        return Err(Refusal::Forbidden {
            reason: "only Switchboard itself raises this event",
        });
    }
    let to = next_status(conn.status, &event).ok_or(Refusal::InvalidTransition {
        from: conn.status.as_str(),
        event: event.name(),
    })?;
    let mut updated = conn.clone();
    let mut reason = None;
    let by_recipient = matches!(
        event,
        ConnectionEvent::Accept { .. } | ConnectionEvent::Decline
    );
    if by_recipient && caller.org().is_some_and(|org| org != &conn.source_org) {
        return Err(Refusal::Forbidden {
            reason: "only the recipient can accept or decline an admin offer",
        });
    }
    match &event {
        ConnectionEvent::Accept { source } => {
            if source.org_id != conn.source_org {
                return Err(Refusal::NotFound {
                    kind: EntityKind::Server,
                });
            }
            if source.id == conn.target_server_id {
                return Err(Refusal::Invalid {
                    field: "server_id",
                    problem: "the managing server must differ from the managed one",
                });
            }
            updated.source_server_id = Some(source.id.clone());
            updated.offer_expires_at = None;
        }
        ConnectionEvent::Expire if conn.offer_expires_at.is_some_and(|at| now < at) => {
            return Err(Refusal::Conflict {
                reason: "the offer has not expired yet",
            });
        }
        ConnectionEvent::Fail { reason: why } => reason = Some(why.clone()),
        ConnectionEvent::AgreementRevoked => reason = Some("agreement_revoked".to_owned()),
        ConnectionEvent::GrantRevoked => reason = Some("grant_revoked".to_owned()),
        ConnectionEvent::Terminate => reason = Some("terminated_by_party".to_owned()),
        _ => {}
    }
    updated.status = to;
    updated.status_reason = reason.clone();
    updated.updated_at = now;
    let mut changes = ChangeSet::default();
    let id = conn.id.clone();
    // The status goes out before any kick, so a kicked gateway reads why before it is
    // disconnected (a kicked session delivers what is queued, then closes).
    changes.effects.push(Effect::PushStatus {
        connection: id.clone(),
        status: to,
        reason: reason.clone(),
    });
    match to {
        S::Terminated | S::Declined | S::Expired | S::Failed => {
            changes.effects.push(Effect::KickGateways {
                connection: id.clone(),
            });
            changes.effects.push(Effect::DropRelayAllocations {
                connection: id.clone(),
            });
            if to.is_terminal() {
                changes.effects.push(Effect::RevokeCredentials {
                    connection: id.clone(),
                });
            }
        }
        _ => {}
    }
    for org in conn.parties() {
        if caller.org() != Some(&org) || conn.source_org == conn.target_org {
            changes.notify(
                &org,
                NotificationKind::ConnectionStatusChanged,
                format!("Connection {} is now {}", conn.id, to.as_str()),
                conn.id.as_str(),
                now,
            );
        }
    }
    changes.audit(
        caller,
        conn.parties(),
        &format!("connection.{}", event.name()),
        conn.id.as_str(),
        json!({"from": conn.status.as_str(), "to": to.as_str(), "reason": reason}),
        now,
    );
    changes.connections.push(updated.clone());
    Ok((updated, changes))
}
