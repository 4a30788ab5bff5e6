//! SPEC §5: offering and requesting grants, every (status, event) row, who decides, and the
//! revocation cascade.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::entities::{
    AgreementStatus, ConnectionStatus, Direction, GrantPath, GrantStatus as G, NotificationKind,
};
use switchboard_domain::rules::grant::{GrantEvent as E, create, decide, next_status};
use switchboard_domain::tiers::Tier;
use switchboard_domain::{EntityKind, Refusal, Role};

#[test]
fn owner_offers_peer_requests() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let ch = channel(&server(&a, "a1"), Direction::Listener, true);
    let (offer, changes) = create(&owner(&a), &agr, &ch, false, now()).unwrap();
    assert_eq!(
        (offer.status, offer.path, &offer.grantee_org),
        (G::Pending, GrantPath::Offer, &b.id)
    );
    assert_eq!(changes.notifications[0].org_id, b.id);
    assert_eq!(
        changes.notifications[0].kind,
        NotificationKind::GrantOffered
    );
    let (request, changes) = create(&caller(&b, Role::Admin), &agr, &ch, false, now()).unwrap();
    assert_eq!(
        (request.status, request.path, &request.grantee_org),
        (G::Requested, GrantPath::Request, &b.id)
    );
    assert_eq!(changes.notifications[0].org_id, a.id);
    assert_eq!(
        changes.notifications[0].kind,
        NotificationKind::GrantRequested
    );
}

#[test]
fn self_agreement_offer_goes_to_the_same_org() {
    let a = org("Alpha", Tier::Free);
    let agr = agreement(&a, &a);
    let ch = channel(&server(&a, "a1"), Direction::Sender, true);
    let (offer, _) = create(&owner(&a), &agr, &ch, false, now()).unwrap();
    assert_eq!(offer.grantee_org, a.id);
    let (approved, _) = decide(&owner(&a), &offer, E::Approve, &[], now()).unwrap();
    assert_eq!(approved.status, G::Approved);
}

#[test]
fn create_refusals() {
    let (a, b, c) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
    );
    let agr = agreement(&a, &b);
    let published = channel(&server(&a, "a1"), Direction::Listener, true);
    let hidden = channel(&server(&a, "a1"), Direction::Listener, false);
    let foreign = channel(&server(&c, "c1"), Direction::Listener, true);
    // A peer cannot see an unpublished channel; a third party's channel is not in the agreement.
    assert_eq!(
        create(&owner(&b), &agr, &hidden, false, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Channel
        }
    );
    assert_eq!(
        create(&owner(&b), &agr, &foreign, false, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Channel
        }
    );
    assert_eq!(
        create(&owner(&c), &agr, &published, false, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Agreement
        }
    );
    assert!(matches!(
        create(&owner(&a), &agr, &hidden, false, now()),
        Err(Refusal::Conflict { .. })
    ));
    assert!(matches!(
        create(&owner(&a), &agr, &published, true, now()),
        Err(Refusal::Conflict { .. })
    ));
    assert!(matches!(
        create(&caller(&a, Role::Member), &agr, &published, false, now()),
        Err(Refusal::Forbidden { .. })
    ));
    let mut revoked = agr.clone();
    revoked.status = AgreementStatus::Revoked;
    assert!(matches!(
        create(&owner(&a), &revoked, &published, false, now()),
        Err(Refusal::Conflict { .. })
    ));
}

#[test]
fn every_status_and_event_row() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let ch = channel(&server(&a, "a1"), Direction::Listener, true);
    let expected = |from: G, event: E| match (from, event) {
        (G::Pending | G::Requested, E::Approve) => Some(G::Approved),
        (G::Pending | G::Requested, E::Deny) => Some(G::Denied),
        (G::Pending | G::Approved, E::Revoke) => Some(G::Revoked),
        _ => None,
    };
    let mut rows = 0;
    for from in [G::Pending, G::Requested, G::Approved, G::Denied, G::Revoked] {
        for event in [E::Approve, E::Deny, E::Revoke] {
            for path in [GrantPath::Offer, GrantPath::Request] {
                let g = grant(&agr, &ch, &b, from, path);
                assert_eq!(next_status(from, event), expected(from, event));
                let by = match event {
                    E::Revoke => &a,
                    _ if path == GrantPath::Offer => &b,
                    _ => &a,
                };
                match (
                    expected(from, event),
                    decide(&owner(by), &g, event, &[], now()),
                ) {
                    (Some(to), Ok((updated, changes))) => {
                        assert_eq!(updated.status, to);
                        assert_eq!(changes.grants, vec![updated]);
                        assert_eq!(changes.audit[0].action, format!("grant.{}", event.as_str()));
                        rows += 1;
                    }
                    (None, Err(e)) => assert_eq!(
                        e,
                        Refusal::InvalidTransition {
                            from: from.as_str(),
                            event: event.as_str()
                        }
                    ),
                    (want, got) => {
                        panic!("{from:?} {event:?} {path:?}: want {want:?}, got {got:?}")
                    }
                }
            }
        }
    }
    assert_eq!(rows, 12);
}

#[test]
fn the_right_side_decides() {
    let (a, b, c) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
    );
    let agr = agreement(&a, &b);
    let ch = channel(&server(&a, "a1"), Direction::Listener, true);
    let offer = grant(&agr, &ch, &b, G::Pending, GrantPath::Offer);
    let request = grant(&agr, &ch, &b, G::Requested, GrantPath::Request);
    assert!(matches!(
        decide(&owner(&a), &offer, E::Approve, &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        decide(&owner(&b), &request, E::Approve, &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        decide(&owner(&b), &offer, E::Revoke, &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        decide(&owner(&c), &offer, E::Approve, &[], now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Grant
        }
    );
    assert!(matches!(
        decide(&caller(&b, Role::Member), &offer, E::Approve, &[], now()),
        Err(Refusal::Forbidden { .. })
    ));
    let (_, changes) = decide(&owner(&b), &offer, E::Approve, &[], now()).unwrap();
    assert_eq!(
        (
            changes.notifications[0].org_id.clone(),
            changes.notifications[0].kind
        ),
        (a.id.clone(), NotificationKind::GrantApproved)
    );
    let (_, changes) = decide(&owner(&a), &request, E::Deny, &[], now()).unwrap();
    assert_eq!(
        (
            changes.notifications[0].org_id.clone(),
            changes.notifications[0].kind
        ),
        (b.id.clone(), NotificationKind::GrantDenied)
    );
}

#[test]
fn revoking_terminates_live_connections_from_the_grant() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let sa = server(&a, "a1");
    let sb = server(&b, "b1");
    let ch = channel(&sa, Direction::Listener, true);
    let g = grant(&agr, &ch, &b, G::Approved, GrantPath::Offer);
    let live = p2p(&agr, &sb, &sa, ConnectionStatus::Active);
    let done = p2p(&agr, &sb, &sa, ConnectionStatus::Terminated);
    let (revoked, changes) =
        decide(&owner(&a), &g, E::Revoke, &[live.clone(), done], now()).unwrap();
    assert_eq!(revoked.status, G::Revoked);
    assert_eq!(changes.connections.len(), 1);
    assert_eq!(changes.connections[0].id, live.id);
    assert_eq!(changes.connections[0].status, ConnectionStatus::Terminated);
    assert_eq!(
        changes.connections[0].status_reason.as_deref(),
        Some("grant_revoked")
    );
    assert!(
        changes
            .notifications
            .iter()
            .any(|n| n.org_id == b.id && n.kind == NotificationKind::GrantRevoked)
    );
}
