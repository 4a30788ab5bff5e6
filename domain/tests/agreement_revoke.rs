//! SPEC §4: revoking an agreement terminates its connections, revokes its grants, notifies
//! the peer, is audited, and cannot be undone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::entities::{
    AgreementStatus, ConnectionKind, ConnectionStatus as S, Direction, GrantPath, GrantStatus as G,
    NotificationKind,
};
use switchboard_domain::rules::agreement::revoke;
use switchboard_domain::tiers::Tier;
use switchboard_domain::{Effect, EntityKind, Principal, Refusal, Role};

#[test]
fn cascade() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let (sa, sb) = (server(&a, "a1"), server(&b, "b1"));
    let ch = channel(&sa, Direction::Listener, true);
    let grants = vec![
        grant(&agr, &ch, &b, G::Approved, GrantPath::Offer),
        grant(&agr, &ch, &b, G::Requested, GrantPath::Request),
        grant(&agr, &ch, &b, G::Pending, GrantPath::Offer),
        grant(&agr, &ch, &b, G::Denied, GrantPath::Offer),
    ];
    let conns = vec![
        p2p(&agr, &sb, &sa, S::Active),
        p2p(&agr, &sb, &sa, S::Paused),
        admin(&agr, &b, &sa, ConnectionKind::AdminRo, S::Offered),
        p2p(&agr, &sb, &sa, S::Terminated),
    ];
    let by = owner(&b);
    let changes = revoke(&by, &agr, &grants, &conns, now()).unwrap();
    let revoked = &changes.agreements[0];
    assert_eq!(revoked.status, AgreementStatus::Revoked);
    assert_eq!(revoked.revoked_at, Some(now()));
    assert_eq!(revoked.revoked_by, Some(by.principal()));
    assert_eq!(changes.grants.len(), 3, "the denied grant is left as it is");
    assert!(changes.grants.iter().all(|g| g.status == G::Revoked));
    assert_eq!(
        changes.connections.len(),
        3,
        "the terminated connection is left as it is"
    );
    for c in &changes.connections {
        assert_eq!(c.status, S::Terminated);
        assert_eq!(c.status_reason.as_deref(), Some("agreement_revoked"));
        assert!(changes.effects.contains(&Effect::KickGateways {
            connection: c.id.clone()
        }));
        assert!(changes.effects.contains(&Effect::DropRelayAllocations {
            connection: c.id.clone()
        }));
        assert!(changes.effects.contains(&Effect::RevokeCredentials {
            connection: c.id.clone()
        }));
    }
    assert!(
        changes
            .notifications
            .iter()
            .any(|n| n.org_id == a.id && n.kind == NotificationKind::AgreementRevoked)
    );
    assert!(
        !changes
            .notifications
            .iter()
            .any(|n| n.org_id == b.id && n.kind == NotificationKind::AgreementRevoked)
    );
    assert!(changes.audit.iter().any(|e| e.action == "agreement.revoke"));
    assert_eq!(
        changes
            .audit
            .iter()
            .filter(|e| e.action == "grant.revoke")
            .count(),
        3
    );
    assert_eq!(
        changes
            .audit
            .iter()
            .filter(|e| e.action == "connection.agreement_revoked")
            .count(),
        3
    );
    assert!(
        changes
            .audit
            .iter()
            .all(|e| e.actor != Principal::System || e.action.starts_with("connection."))
    );
    // Cannot be undone or repeated.
    assert_eq!(
        revoke(&by, revoked, &[], &[], now()).unwrap_err(),
        Refusal::InvalidTransition {
            from: "revoked",
            event: "revoke"
        }
    );
}

#[test]
fn who_may_revoke() {
    let (a, b, c) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
    );
    let agr = agreement(&a, &b);
    assert!(revoke(&owner(&a), &agr, &[], &[], now()).is_ok());
    assert!(revoke(&caller(&b, Role::Admin), &agr, &[], &[], now()).is_ok());
    assert!(matches!(
        revoke(&caller(&a, Role::Member), &agr, &[], &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        revoke(&owner(&c), &agr, &[], &[], now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Agreement
        }
    );
    assert!(matches!(
        revoke(&platform_admin(), &agr, &[], &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
}
