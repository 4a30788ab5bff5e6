//! Revoking an agreement (SPEC §4): irreversible, and it cascades — every live grant is
//! revoked and every live connection terminated, in the same change set.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::ChangeSet;
use crate::entities::{
    Agreement, AgreementStatus, Connection, Grant, GrantStatus, NotificationKind,
};
use crate::permissions::{Action, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::rules::connection::{ConnectionEvent, transition};

/// Revokes `agreement`; `grants` and `connections` are all those derived from it (terminal
/// ones are left as they are).
pub fn revoke(
    caller: &Caller,
    agreement: &Agreement,
    grants: &[Grant],
    connections: &[Connection],
    now: DateTime<Utc>,
) -> Decision<ChangeSet> {
    authorize_any(
        caller,
        &agreement.parties(),
        Action::ManagePeering,
        EntityKind::Agreement,
    )?;
    if agreement.status != AgreementStatus::Active {
        return Err(Refusal::InvalidTransition {
            from: agreement.status.as_str(),
            event: "revoke",
        });
    }
    let mut changes = ChangeSet::default();
    let mut revoked = agreement.clone();
    revoked.status = AgreementStatus::Revoked;
    revoked.revoked_at = Some(now);
    revoked.revoked_by = Some(caller.principal());
    changes.agreements.push(revoked);
    for grant in grants.iter().filter(|g| !g.status.is_terminal()) {
        changes.extend(revoke_grant_by_cascade(
            caller,
            grant,
            "agreement_revoked",
            now,
        ));
    }
    for conn in connections.iter().filter(|c| !c.status.is_terminal()) {
        let (_, cascade) = transition(
            &Caller::System,
            conn,
            ConnectionEvent::AgreementRevoked,
            now,
        )?;
        changes.extend(cascade);
    }
    for org in agreement.parties() {
        if caller.org() != Some(&org) || agreement.is_self() {
            changes.notify(
                &org,
                NotificationKind::AgreementRevoked,
                "A peering agreement was revoked; its connections are terminated".to_owned(),
                agreement.id.as_str(),
                now,
            );
        }
    }
    changes.audit(
        caller,
        agreement.parties(),
        "agreement.revoke",
        agreement.id.as_str(),
        json!({"grants_revoked": grants.iter().filter(|g| !g.status.is_terminal()).count(),
               "connections_terminated": connections.iter().filter(|c| !c.status.is_terminal()).count()}),
        now,
    );
    Ok(changes)
}

/// The change set revoking one live grant because something above it ended.
pub(crate) fn revoke_grant_by_cascade(
    caller: &Caller,
    grant: &Grant,
    reason: &str,
    now: DateTime<Utc>,
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    let mut updated = grant.clone();
    updated.status = GrantStatus::Revoked;
    updated.decided_at = Some(now);
    changes.audit(
        caller,
        vec![grant.owner_org.clone(), grant.grantee_org.clone()],
        "grant.revoke",
        grant.id.as_str(),
        json!({"from": grant.status.as_str(), "reason": reason}),
        now,
    );
    changes.grants.push(updated);
    changes
}
