//! SPEC §4: sending, accepting, declining, withdrawing peering requests; self-peering; peer
//! limits checked for the sender at send and for both orgs at accept.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::entities::{AgreementStatus, NotificationKind, PeeringStatus as P};
use switchboard_domain::rules::peering::{
    Pair, PairFacts, PeeringEvent as E, decide_request, send_request,
};
use switchboard_domain::tiers::{Limit, Tier};
use switchboard_domain::{EntityKind, Refusal, Role};

const CLEAR: PairFacts = PairFacts {
    pending_exists: false,
    active_agreement_exists: false,
    from_peers: 0,
    to_peers: 0,
};

#[test]
fn send_creates_a_pending_request_and_notifies_the_recipient() {
    let (a, b, t) = (org("Alpha", Tier::Free), org("Beta", Tier::Free), tiers());
    let changes = send_request(
        &owner(&a),
        Pair {
            from: &a,
            to: &b,
            facts: CLEAR,
            tiers: &t,
        },
        now(),
    )
    .unwrap();
    assert_eq!(changes.requests.len(), 1);
    assert_eq!(changes.requests[0].status, P::Pending);
    assert!(changes.agreements.is_empty());
    assert_eq!(changes.notifications[0].org_id, b.id);
    assert_eq!(
        changes.notifications[0].kind,
        NotificationKind::PeeringRequestReceived
    );
    assert_eq!(changes.audit[0].action, "peering.send");
}

#[test]
fn send_refusals() {
    let (a, b, t) = (org("Alpha", Tier::Free), org("Beta", Tier::Free), tiers());
    let pair = |facts| Pair {
        from: &a,
        to: &b,
        facts,
        tiers: &t,
    };
    assert!(matches!(
        send_request(
            &owner(&a),
            pair(PairFacts {
                pending_exists: true,
                ..CLEAR
            }),
            now()
        ),
        Err(Refusal::Conflict { .. })
    ));
    assert!(matches!(
        send_request(
            &owner(&a),
            pair(PairFacts {
                active_agreement_exists: true,
                ..CLEAR
            }),
            now()
        ),
        Err(Refusal::Conflict { .. })
    ));
    assert_eq!(
        send_request(
            &owner(&a),
            pair(PairFacts {
                from_peers: 2,
                ..CLEAR
            }),
            now()
        )
        .unwrap_err(),
        Refusal::TierLimit {
            limit: Limit::Peers,
            current: 2,
            max: 2,
            tier: Tier::Free
        }
    );
    assert!(matches!(
        send_request(&caller(&a, Role::Member), pair(CLEAR), now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        send_request(&owner(&b), pair(CLEAR), now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Organization
        }
    );
    assert!(matches!(
        send_request(&platform_admin(), pair(CLEAR), now()),
        Err(Refusal::Forbidden { .. })
    ));
}

#[test]
fn self_peering_is_accepted_at_once_and_only_once() {
    let (a, t) = (org("Alpha", Tier::Free), tiers());
    // Self-agreements do not count as peers: a free org at its peer limit may still self-peer.
    let facts = PairFacts {
        from_peers: 2,
        to_peers: 2,
        ..CLEAR
    };
    let changes = send_request(
        &owner(&a),
        Pair {
            from: &a,
            to: &a,
            facts,
            tiers: &t,
        },
        now(),
    )
    .unwrap();
    assert_eq!(changes.requests[0].status, P::Accepted);
    let agreement = &changes.agreements[0];
    assert!(agreement.is_self());
    assert_eq!(agreement.status, AgreementStatus::Active);
    assert_eq!(
        changes.requests[0].agreement_id.as_ref(),
        Some(&agreement.id)
    );
    let again = PairFacts {
        active_agreement_exists: true,
        ..CLEAR
    };
    assert!(matches!(
        send_request(
            &owner(&a),
            Pair {
                from: &a,
                to: &a,
                facts: again,
                tiers: &t
            },
            now()
        ),
        Err(Refusal::Conflict { .. })
    ));
}

#[test]
fn every_status_and_event_row() {
    let (a, b, c, t) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
        tiers(),
    );
    let sent = send_request(
        &owner(&a),
        Pair {
            from: &a,
            to: &b,
            facts: CLEAR,
            tiers: &t,
        },
        now(),
    )
    .unwrap()
    .requests
    .remove(0);
    let pair = Pair {
        from: &a,
        to: &b,
        facts: CLEAR,
        tiers: &t,
    };
    for from in [P::Pending, P::Accepted, P::Declined, P::Withdrawn] {
        for (event, by) in [(E::Accept, &b), (E::Decline, &b), (E::Withdraw, &a)] {
            let mut request = sent.clone();
            request.status = from;
            let result = decide_request(&owner(by), &request, event, pair, now());
            let expected = match (from, event) {
                (P::Pending, E::Accept) => Some(P::Accepted),
                (P::Pending, E::Decline) => Some(P::Declined),
                (P::Pending, E::Withdraw) => Some(P::Withdrawn),
                _ => None,
            };
            match expected {
                Some(to) => {
                    let changes = result.unwrap();
                    assert_eq!(changes.requests[0].status, to);
                    assert_eq!(changes.requests[0].decided_at, Some(now()));
                    assert_eq!(changes.agreements.len(), usize::from(to == P::Accepted));
                    let notified = if event == E::Withdraw { &b.id } else { &a.id };
                    assert_eq!(&changes.notifications[0].org_id, notified);
                }
                None => assert_eq!(
                    result.unwrap_err(),
                    Refusal::InvalidTransition {
                        from: from.as_str(),
                        event: event.as_str()
                    }
                ),
            }
        }
    }
    // Wrong side, outsider, member.
    assert!(matches!(
        decide_request(&owner(&a), &sent, E::Accept, pair, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        decide_request(&owner(&b), &sent, E::Withdraw, pair, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        decide_request(&owner(&c), &sent, E::Accept, pair, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::PeeringRequest
        }
    );
    assert!(matches!(
        decide_request(&caller(&b, Role::Member), &sent, E::Accept, pair, now()),
        Err(Refusal::Forbidden { .. })
    ));
}

#[test]
fn accept_checks_both_peer_limits_and_existing_agreements() {
    let (a, b, t) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Standard),
        tiers(),
    );
    let sent = send_request(
        &owner(&a),
        Pair {
            from: &a,
            to: &b,
            facts: CLEAR,
            tiers: &t,
        },
        now(),
    )
    .unwrap()
    .requests
    .remove(0);
    let with = |facts| Pair {
        from: &a,
        to: &b,
        facts,
        tiers: &t,
    };
    assert_eq!(
        decide_request(
            &owner(&b),
            &sent,
            E::Accept,
            with(PairFacts {
                from_peers: 2,
                ..CLEAR
            }),
            now()
        )
        .unwrap_err(),
        Refusal::TierLimit {
            limit: Limit::Peers,
            current: 2,
            max: 2,
            tier: Tier::Free
        }
    );
    assert_eq!(
        decide_request(
            &owner(&b),
            &sent,
            E::Accept,
            with(PairFacts {
                to_peers: 25,
                ..CLEAR
            }),
            now()
        )
        .unwrap_err(),
        Refusal::TierLimit {
            limit: Limit::Peers,
            current: 25,
            max: 25,
            tier: Tier::Standard
        }
    );
    assert!(matches!(
        decide_request(
            &owner(&b),
            &sent,
            E::Accept,
            with(PairFacts {
                active_agreement_exists: true,
                ..CLEAR
            }),
            now()
        ),
        Err(Refusal::Conflict { .. })
    ));
    // Declining is always possible, whatever the limits.
    assert!(
        decide_request(
            &owner(&b),
            &sent,
            E::Decline,
            with(PairFacts {
                to_peers: 99,
                ..CLEAR
            }),
            now()
        )
        .is_ok()
    );
}
