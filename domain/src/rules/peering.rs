//! Peering requests (SPEC §4): send, accept, decline, withdraw; self-peering is accepted at
//! once into a self-agreement.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::ChangeSet;
use crate::entities::{
    Agreement, AgreementStatus, NotificationKind, Organization, PeeringRequest, PeeringStatus,
};
use crate::ids::{AgreementId, PeeringRequestId};
use crate::permissions::{Action, authorize, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::tiers::{Limit, TierTable};

/// What the store knows about the pair of organizations, gathered by the caller of a rule.
#[derive(Debug, Clone, Copy)]
pub struct PairFacts {
    /// A pending request from `from` to `to` exists.
    pub pending_exists: bool,
    /// An active agreement between them (or, for self-peering, an active self-agreement)
    /// exists.
    pub active_agreement_exists: bool,
    /// Active peer agreements (self excluded) of the sender.
    pub from_peers: u32,
    /// Active peer agreements (self excluded) of the recipient.
    pub to_peers: u32,
}

/// The two organizations of a request with the facts and limits the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    /// The sender.
    pub from: &'a Organization,
    /// The recipient (the sender itself for self-peering).
    pub to: &'a Organization,
    /// What the store knows about them.
    pub facts: PairFacts,
    /// The tier table in force.
    pub tiers: &'a TierTable,
}

/// An event on a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeeringEvent {
    /// The recipient accepts: an agreement is created.
    Accept,
    /// The recipient declines.
    Decline,
    /// The sender withdraws.
    Withdraw,
}

impl PeeringEvent {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringEvent::Accept => "accept",
            PeeringEvent::Decline => "decline",
            PeeringEvent::Withdraw => "withdraw",
        }
    }
}

/// Sends a peering request from the caller's organization `from` to `to`. Self-peering
/// returns an accepted request and a new self-agreement.
pub fn send_request(caller: &Caller, pair: Pair<'_>, now: DateTime<Utc>) -> Decision<ChangeSet> {
    let Pair {
        from,
        to,
        facts,
        tiers,
    } = pair;
    authorize(
        caller,
        &from.id,
        Action::ManagePeering,
        EntityKind::Organization,
    )?;
    let mut changes = ChangeSet::default();
    let mut request = PeeringRequest {
        id: PeeringRequestId::generate(),
        from_org: from.id.clone(),
        to_org: to.id.clone(),
        status: PeeringStatus::Pending,
        created_at: now,
        decided_at: None,
        agreement_id: None,
    };
    if from.id == to.id {
        if facts.active_agreement_exists {
            return Err(Refusal::Conflict {
                reason: "an active self-agreement already exists",
            });
        }
        let agreement = new_agreement(&request, now);
        request.status = PeeringStatus::Accepted;
        request.decided_at = Some(now);
        request.agreement_id = Some(agreement.id.clone());
        changes.audit(
            caller,
            vec![from.id.clone()],
            "peering.self_accept",
            request.id.as_str(),
            json!({"agreement_id": agreement.id}),
            now,
        );
        changes.agreements.push(agreement);
        changes.requests.push(request);
        return Ok(changes);
    }
    if facts.active_agreement_exists {
        return Err(Refusal::Conflict {
            reason: "an active agreement with this organization already exists",
        });
    }
    if facts.pending_exists {
        return Err(Refusal::Conflict {
            reason: "a pending request to this organization already exists",
        });
    }
    from.limits(tiers, now)
        .check_room_for_one(Limit::Peers, facts.from_peers)?;
    changes.notify(
        &to.id,
        NotificationKind::PeeringRequestReceived,
        format!("{} sent you a peering request", from.name),
        request.id.as_str(),
        now,
    );
    changes.audit(
        caller,
        vec![from.id.clone(), to.id.clone()],
        "peering.send",
        request.id.as_str(),
        json!({"to_org": to.id}),
        now,
    );
    changes.requests.push(request);
    Ok(changes)
}

/// Applies an event to a pending request; `pair` holds the request's two organizations.
pub fn decide_request(
    caller: &Caller,
    request: &PeeringRequest,
    event: PeeringEvent,
    pair: Pair<'_>,
    now: DateTime<Utc>,
) -> Decision<ChangeSet> {
    let Pair {
        from,
        to,
        facts,
        tiers,
    } = pair;
    if from.id != request.from_org || to.id != request.to_org {
        return Err(Refusal::NotFound {
            kind: EntityKind::PeeringRequest,
        });
    }
    let parties = [request.from_org.clone(), request.to_org.clone()];
    authorize_any(
        caller,
        &parties,
        Action::ManagePeering,
        EntityKind::PeeringRequest,
    )?;
    let deciding_org = match event {
        PeeringEvent::Accept | PeeringEvent::Decline => &request.to_org,
        PeeringEvent::Withdraw => &request.from_org,
    };
    if caller.org().is_some_and(|org| org != deciding_org) {
        return Err(Refusal::Forbidden {
            reason: match event {
                PeeringEvent::Withdraw => "only the sender can withdraw a request",
                _ => "only the recipient can accept or decline a request",
            },
        });
    }
    if request.status != PeeringStatus::Pending {
        return Err(Refusal::InvalidTransition {
            from: request.status.as_str(),
            event: event.as_str(),
        });
    }
    let mut changes = ChangeSet::default();
    let mut updated = request.clone();
    updated.decided_at = Some(now);
    let orgs = vec![request.from_org.clone(), request.to_org.clone()];
    match event {
        PeeringEvent::Accept => {
            if facts.active_agreement_exists {
                return Err(Refusal::Conflict {
                    reason: "an active agreement with this organization already exists",
                });
            }
            to.limits(tiers, now)
                .check_room_for_one(Limit::Peers, facts.to_peers)?;
            from.limits(tiers, now)
                .check_room_for_one(Limit::Peers, facts.from_peers)?;
            let agreement = new_agreement(request, now);
            updated.status = PeeringStatus::Accepted;
            updated.agreement_id = Some(agreement.id.clone());
            changes.notify(
                &from.id,
                NotificationKind::PeeringRequestAccepted,
                format!("{} accepted your peering request", to.name),
                agreement.id.as_str(),
                now,
            );
            changes.audit(
                caller,
                orgs,
                "peering.accept",
                request.id.as_str(),
                json!({"agreement_id": agreement.id}),
                now,
            );
            changes.agreements.push(agreement);
        }
        PeeringEvent::Decline => {
            updated.status = PeeringStatus::Declined;
            changes.notify(
                &from.id,
                NotificationKind::PeeringRequestDeclined,
                format!("{} declined your peering request", to.name),
                request.id.as_str(),
                now,
            );
            changes.audit(
                caller,
                orgs,
                "peering.decline",
                request.id.as_str(),
                json!({}),
                now,
            );
        }
        PeeringEvent::Withdraw => {
            updated.status = PeeringStatus::Withdrawn;
            changes.notify(
                &to.id,
                NotificationKind::PeeringRequestWithdrawn,
                format!("{} withdrew its peering request", from.name),
                request.id.as_str(),
                now,
            );
            changes.audit(
                caller,
                orgs,
                "peering.withdraw",
                request.id.as_str(),
                json!({}),
                now,
            );
        }
    }
    changes.requests.push(updated);
    Ok(changes)
}

fn new_agreement(request: &PeeringRequest, now: DateTime<Utc>) -> Agreement {
    Agreement {
        id: AgreementId::generate(),
        party_a: request.from_org.clone(),
        party_b: request.to_org.clone(),
        status: AgreementStatus::Active,
        created_at: now,
        revoked_at: None,
        revoked_by: None,
    }
}
