//! Channel grants (SPEC §5): the owner offers (→ pending, the grantee decides) or the peer
//! requests a published channel (→ requested, the owner decides); the owner may revoke, which
//! terminates the connections provisioned from the grant.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::ChangeSet;
use crate::entities::{
    Agreement, AgreementStatus, Channel, Connection, Grant, GrantPath, GrantStatus,
    NotificationKind,
};
use crate::ids::GrantId;
use crate::permissions::{Action, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::rules::connection::{ConnectionEvent, transition};

use GrantStatus as G;

/// An event on an existing grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEvent {
    /// The deciding side approves.
    Approve,
    /// The deciding side denies.
    Deny,
    /// The channel owner revokes.
    Revoke,
}

impl GrantEvent {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantEvent::Approve => "approve",
            GrantEvent::Deny => "deny",
            GrantEvent::Revoke => "revoke",
        }
    }
}

/// The status an event leads to from `from`, or `None` if the table has no such row.
pub fn next_status(from: GrantStatus, event: GrantEvent) -> Option<GrantStatus> {
    match (from, event) {
        (G::Pending | G::Requested, GrantEvent::Approve) => Some(G::Approved),
        (G::Pending | G::Requested, GrantEvent::Deny) => Some(G::Denied),
        (G::Pending | G::Approved, GrantEvent::Revoke) => Some(G::Revoked),
        _ => None,
    }
}

/// Creates a grant of `channel` inside `agreement`: an offer when the caller owns the channel,
/// a request otherwise. `live_duplicate` says whether a non-terminal grant of this channel to
/// the same grantee already exists in the agreement.
pub fn create(
    caller: &Caller,
    agreement: &Agreement,
    channel: &Channel,
    live_duplicate: bool,
    now: DateTime<Utc>,
) -> Decision<(Grant, ChangeSet)> {
    authorize_any(
        caller,
        &agreement.parties(),
        Action::ManageGrants,
        EntityKind::Agreement,
    )?;
    let caller_org = caller.org().ok_or(Refusal::Forbidden {
        reason: "grants are made by organization members",
    })?;
    let owns_channel = &channel.org_id == caller_org;
    if !agreement.has_party(&channel.org_id) || (!owns_channel && !channel.published) {
        return Err(Refusal::NotFound {
            kind: EntityKind::Channel,
        });
    }
    if agreement.status != AgreementStatus::Active {
        return Err(Refusal::Conflict {
            reason: "the agreement is revoked",
        });
    }
    if !channel.published {
        return Err(Refusal::Conflict {
            reason: "publish the channel before granting it",
        });
    }
    if live_duplicate {
        return Err(Refusal::Conflict {
            reason: "a grant of this channel to this peer already exists",
        });
    }
    let (path, status, grantee) = if owns_channel {
        let grantee = agreement
            .other_party(caller_org)
            .unwrap_or(caller_org)
            .clone();
        (GrantPath::Offer, G::Pending, grantee)
    } else {
        (GrantPath::Request, G::Requested, caller_org.clone())
    };
    let grant = Grant {
        id: GrantId::generate(),
        agreement_id: agreement.id.clone(),
        channel_id: channel.id.clone(),
        owner_org: channel.org_id.clone(),
        grantee_org: grantee,
        status,
        path,
        initiated_by: caller.principal(),
        created_at: now,
        decided_at: None,
    };
    let mut changes = ChangeSet::default();
    let (kind, text) = match path {
        GrantPath::Offer => (
            NotificationKind::GrantOffered,
            format!(
                "You were offered access to channel \"{}\"",
                channel.public_name
            ),
        ),
        GrantPath::Request => (
            NotificationKind::GrantRequested,
            format!(
                "A peer requested access to channel \"{}\"",
                channel.public_name
            ),
        ),
    };
    changes.notify(grant.decider(), kind, text, grant.id.as_str(), now);
    changes.audit(
        caller,
        agreement.parties(),
        match path {
            GrantPath::Offer => "grant.offer",
            GrantPath::Request => "grant.request",
        },
        grant.id.as_str(),
        json!({"channel_id": channel.id, "agreement_id": agreement.id}),
        now,
    );
    changes.grants.push(grant.clone());
    Ok((grant, changes))
}

/// Applies `event` to `grant`; `connections` are those provisioned from it (revoking
/// terminates the live ones).
pub fn decide(
    caller: &Caller,
    grant: &Grant,
    event: GrantEvent,
    connections: &[Connection],
    now: DateTime<Utc>,
) -> Decision<(Grant, ChangeSet)> {
    let parties = [grant.owner_org.clone(), grant.grantee_org.clone()];
    authorize_any(caller, &parties, Action::ManageGrants, EntityKind::Grant)?;
    let to = next_status(grant.status, event).ok_or(Refusal::InvalidTransition {
        from: grant.status.as_str(),
        event: event.as_str(),
    })?;
    let required = match event {
        GrantEvent::Approve | GrantEvent::Deny => grant.decider(),
        GrantEvent::Revoke => &grant.owner_org,
    };
    if caller.org().is_some_and(|org| org != required) {
        return Err(Refusal::Forbidden {
            reason: match event {
                GrantEvent::Revoke => "only the channel owner can revoke a grant",
                _ => "the other party decides on this grant",
            },
        });
    }
    let mut updated = grant.clone();
    updated.status = to;
    updated.decided_at = Some(now);
    let mut changes = ChangeSet::default();
    if to == G::Revoked {
        for conn in connections.iter().filter(|c| !c.status.is_terminal()) {
            let (_, cascade) =
                transition(&Caller::System, conn, ConnectionEvent::GrantRevoked, now)?;
            changes.extend(cascade);
        }
    }
    let (kind, notified) = match event {
        GrantEvent::Approve => (NotificationKind::GrantApproved, other(grant, required)),
        GrantEvent::Deny => (NotificationKind::GrantDenied, other(grant, required)),
        GrantEvent::Revoke => (NotificationKind::GrantRevoked, &grant.grantee_org),
    };
    changes.notify(
        notified,
        kind,
        format!("Grant {} is now {}", grant.id, to.as_str()),
        grant.id.as_str(),
        now,
    );
    changes.audit(
        caller,
        parties.to_vec(),
        &format!("grant.{}", event.as_str()),
        grant.id.as_str(),
        json!({"from": grant.status.as_str(), "to": to.as_str()}),
        now,
    );
    changes.grants.push(updated.clone());
    Ok((updated, changes))
}

fn other<'a>(grant: &'a Grant, org: &crate::ids::OrgId) -> &'a crate::ids::OrgId {
    if &grant.owner_org == org {
        &grant.grantee_org
    } else {
        &grant.owner_org
    }
}
