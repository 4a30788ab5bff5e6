//! What a rule decides: the entities to write, the notifications and audit events to record,
//! and the runtime [`Effect`]s to carry out once the write is committed. The actors commit a
//! [`ChangeSet`] in one transaction, so a cascade (revoking an agreement) is all or nothing.

use chrono::{DateTime, Utc};

use crate::caller::Caller;
use crate::entities::{
    Agreement, AuditEvent, AuditOutcome, Connection, ConnectionStatus, Grant, Notification,
    NotificationKind, PeeringRequest,
};
use crate::ids::{ConnectionId, EventId, NotificationId, OrgId};
use crate::refusal::Refusal;

/// Work that follows a committed change and lives outside the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Generate and store a new secret (and registration token) for this generation.
    IssueSecret {
        /// The connection.
        connection: ConnectionId,
        /// The new generation.
        generation: u32,
    },
    /// Delete the sealed plaintext; only the verifier remains.
    ForgetSecretPlaintext {
        /// The connection.
        connection: ConnectionId,
    },
    /// Delete the secret and registration tokens: the credentials stop working.
    RevokeCredentials {
        /// The connection.
        connection: ConnectionId,
    },
    /// Disconnect the connection's live gateway sessions.
    KickGateways {
        /// The connection.
        connection: ConnectionId,
    },
    /// Delete the connection's TURN allocations.
    DropRelayAllocations {
        /// The connection.
        connection: ConnectionId,
    },
    /// Tell the connection's gateways its status changed.
    PushStatus {
        /// The connection.
        connection: ConnectionId,
        /// The new status.
        status: ConnectionStatus,
        /// Why, if known.
        reason: Option<String>,
    },
}

/// Everything a rule decided, to be committed together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// Peering requests to write.
    pub requests: Vec<PeeringRequest>,
    /// Agreements to write.
    pub agreements: Vec<Agreement>,
    /// Grants to write.
    pub grants: Vec<Grant>,
    /// Connections to write.
    pub connections: Vec<Connection>,
    /// Notifications to record.
    pub notifications: Vec<Notification>,
    /// Audit events to append.
    pub audit: Vec<AuditEvent>,
    /// Runtime effects, after the commit.
    pub effects: Vec<Effect>,
}

impl ChangeSet {
    /// Adds a notification to `org`.
    pub fn notify(
        &mut self,
        org: &OrgId,
        kind: NotificationKind,
        text: String,
        target: &str,
        now: DateTime<Utc>,
    ) {
        self.notifications.push(Notification {
            id: NotificationId::generate(),
            org_id: org.clone(),
            at: now,
            kind,
            text,
            target: target.to_owned(),
            read: false,
        });
    }

    /// Adds a successful audit event.
    pub fn audit(
        &mut self,
        caller: &Caller,
        orgs: Vec<OrgId>,
        action: &str,
        target: &str,
        details: serde_json::Value,
        now: DateTime<Utc>,
    ) {
        self.audit.push(audit_event(
            caller,
            orgs,
            action,
            target,
            AuditOutcome::Success,
            details,
            now,
        ));
    }

    /// Appends another change set.
    pub fn extend(&mut self, other: ChangeSet) {
        self.requests.extend(other.requests);
        self.agreements.extend(other.agreements);
        self.grants.extend(other.grants);
        self.connections.extend(other.connections);
        self.notifications.extend(other.notifications);
        self.audit.extend(other.audit);
        self.effects.extend(other.effects);
    }
}

/// Builds an audit event.
pub fn audit_event(
    caller: &Caller,
    orgs: Vec<OrgId>,
    action: &str,
    target: &str,
    outcome: AuditOutcome,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> AuditEvent {
    AuditEvent {
        id: EventId::generate(),
        at: now,
        actor: caller.principal(),
        orgs,
        action: action.to_owned(),
        target: target.to_owned(),
        outcome,
        details,
    }
}

/// Builds the audit event for a refused action (secret views and rotations are audited even
/// when refused, SPEC §7). The refusal's message never contains a secret.
pub fn audit_refusal(
    caller: &Caller,
    orgs: Vec<OrgId>,
    action: &str,
    target: &str,
    refusal: &Refusal,
    now: DateTime<Utc>,
) -> AuditEvent {
    let details = serde_json::json!({ "reason": refusal.to_string() });
    audit_event(
        caller,
        orgs,
        action,
        target,
        AuditOutcome::Refused,
        details,
        now,
    )
}
