//! Every row of SPEC §6's connection status table, every refusal, and the effects of each move.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::Duration;
use common::*;
use switchboard_domain::entities::{ConnectionKind, ConnectionStatus as S, NotificationKind};
use switchboard_domain::rules::connection::{ConnectionEvent as E, next_status, transition};
use switchboard_domain::tiers::Tier;
use switchboard_domain::{Caller, Effect, EntityKind, Refusal, Role};

fn events(source: &switchboard_domain::entities::Server) -> Vec<E> {
    vec![
        E::Activate,
        E::Pause,
        E::Resume,
        E::Accept {
            source: source.clone(),
        },
        E::Decline,
        E::Expire,
        E::Fail {
            reason: "ice_failed".into(),
        },
        E::Retry,
        E::Terminate,
        E::AgreementRevoked,
        E::GrantRevoked,
    ]
}

/// SPEC §6, transcribed: (from, event) → to. Everything else is `invalid_transition`.
fn spec(from: S, event: &E) -> Option<S> {
    let non_terminal = !matches!(from, S::Terminated | S::Declined | S::Expired);
    match event {
        E::Activate if from == S::Ready => Some(S::Active),
        E::Pause if from == S::Active => Some(S::Paused),
        E::Resume if from == S::Paused => Some(S::Active),
        E::Accept { .. } if from == S::Offered => Some(S::Active),
        E::Decline if from == S::Offered => Some(S::Declined),
        E::Expire if from == S::Offered => Some(S::Expired),
        E::Fail { .. } if non_terminal => Some(S::Failed),
        E::Retry if from == S::Failed => Some(S::Ready),
        E::Terminate | E::AgreementRevoked | E::GrantRevoked if non_terminal => Some(S::Terminated),
        _ => None,
    }
}

#[test]
fn every_status_and_event_follows_the_spec_table() {
    let a = org("Alpha", Tier::Standard);
    let b = org("Beta", Tier::Standard);
    let agr = agreement(&a, &b);
    let sa = server(&a, "alpha-1");
    let sb = server(&b, "beta-1");
    let mut rows = 0;
    for from in S::ALL {
        for event in events(&sb) {
            // Admin offers are the only connections that can be `offered`; use one there.
            let mut conn = if from == S::Offered {
                admin(&agr, &b, &sa, ConnectionKind::AdminRo, from)
            } else {
                p2p(&agr, &sb, &sa, from)
            };
            conn.offer_expires_at = Some(now() - Duration::seconds(1));
            let expected = spec(from, &event);
            assert_eq!(next_status(from, &event), expected, "{from:?} {event:?}");
            let system_only = matches!(
                event,
                E::Expire | E::Fail { .. } | E::AgreementRevoked | E::GrantRevoked
            );
            let actor = if system_only {
                Caller::System
            } else {
                owner(&b)
            };
            let result = transition(&actor, &conn, event.clone(), now());
            match expected {
                Some(to) => {
                    let (updated, changes) =
                        result.unwrap_or_else(|e| panic!("{from:?} {event:?}: {e}"));
                    assert_eq!(updated.status, to);
                    assert_eq!(changes.connections, vec![updated.clone()]);
                    assert_eq!(changes.audit.len(), 1);
                    assert!(changes.effects.contains(&Effect::PushStatus {
                        connection: conn.id.clone(),
                        status: to,
                        reason: updated.status_reason.clone()
                    }));
                    let kicks = changes.effects.contains(&Effect::KickGateways {
                        connection: conn.id.clone(),
                    });
                    assert_eq!(
                        kicks,
                        matches!(to, S::Terminated | S::Declined | S::Expired | S::Failed),
                        "{from:?}->{to:?}"
                    );
                    let revokes = changes.effects.contains(&Effect::RevokeCredentials {
                        connection: conn.id.clone(),
                    });
                    assert_eq!(revokes, to.is_terminal());
                    rows += 1;
                }
                None => assert_eq!(
                    result.unwrap_err(),
                    Refusal::InvalidTransition {
                        from: from.as_str(),
                        event: event.name()
                    },
                    "{from:?} {event:?}"
                ),
            }
        }
    }
    // 1 activate + 1 pause + 1 resume + 3 offer rows + 1 retry + 5 fail + 5×3 terminate rows.
    assert_eq!(rows, 27);
}

#[test]
fn terminal_statuses_accept_no_event() {
    let a = org("Alpha", Tier::Free);
    let agr = agreement(&a, &a);
    let (s1, s2) = (server(&a, "one"), server(&a, "two"));
    for from in [S::Terminated, S::Declined, S::Expired] {
        for event in events(&s1) {
            let conn = p2p(&agr, &s1, &s2, from);
            let err = transition(&Caller::System, &conn, event.clone(), now()).unwrap_err();
            assert!(
                matches!(err, Refusal::InvalidTransition { .. }),
                "{from:?} {event:?}"
            );
        }
    }
}

#[test]
fn either_party_moves_outsiders_see_nothing_members_are_forbidden() {
    let a = org("Alpha", Tier::Free);
    let b = org("Beta", Tier::Free);
    let c = org("Gamma", Tier::Free);
    let agr = agreement(&a, &b);
    let conn = p2p(&agr, &server(&a, "a1"), &server(&b, "b1"), S::Ready);
    assert!(transition(&owner(&a), &conn, E::Activate, now()).is_ok());
    assert!(transition(&caller(&b, Role::Admin), &conn, E::Activate, now()).is_ok());
    assert_eq!(
        transition(&owner(&c), &conn, E::Activate, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Connection
        }
    );
    assert!(matches!(
        transition(&caller(&a, Role::Member), &conn, E::Activate, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        transition(&platform_admin(), &conn, E::Terminate, now()),
        Err(Refusal::Forbidden { .. })
    ));
    for system_event in [
        E::Expire,
        E::Fail { reason: "x".into() },
        E::AgreementRevoked,
        E::GrantRevoked,
    ] {
        assert!(matches!(
            transition(&owner(&a), &conn, system_event, now()),
            Err(Refusal::Forbidden { .. })
        ));
    }
}

#[test]
fn only_the_recipient_accepts_or_declines_and_must_pick_its_own_server() {
    let a = org("Alpha", Tier::Standard);
    let b = org("Beta", Tier::Standard);
    let agr = agreement(&a, &b);
    let managed = server(&a, "a1");
    let offer = admin(&agr, &b, &managed, ConnectionKind::AdminRw, S::Offered);
    let b_server = server(&b, "b1");
    assert!(matches!(
        transition(
            &owner(&a),
            &offer,
            E::Accept {
                source: b_server.clone()
            },
            now()
        ),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        transition(&owner(&a), &offer, E::Decline, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        transition(
            &owner(&b),
            &offer,
            E::Accept {
                source: server(&a, "a2")
            },
            now()
        )
        .unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Server
        }
    );
    let (accepted, changes) = transition(
        &owner(&b),
        &offer,
        E::Accept {
            source: b_server.clone(),
        },
        now(),
    )
    .unwrap();
    assert_eq!(accepted.status, S::Active);
    assert_eq!(accepted.source_server_id, Some(b_server.id));
    assert_eq!(accepted.offer_expires_at, None);
    // The offering side is told; the accepting side is not notified of its own act.
    assert_eq!(changes.notifications.len(), 1);
    assert_eq!(changes.notifications[0].org_id, a.id);
    assert_eq!(
        changes.notifications[0].kind,
        NotificationKind::ConnectionStatusChanged
    );
    let (declined, _) = transition(&owner(&b), &offer, E::Decline, now()).unwrap();
    assert_eq!(declined.status, S::Declined);
}

#[test]
fn self_offer_cannot_manage_the_same_server() {
    let a = org("Alpha", Tier::Standard);
    let agr = agreement(&a, &a);
    let managed = server(&a, "a1");
    let offer = admin(&agr, &a, &managed, ConnectionKind::AdminRo, S::Offered);
    assert!(matches!(
        transition(
            &owner(&a),
            &offer,
            E::Accept {
                source: managed.clone()
            },
            now()
        ),
        Err(Refusal::Invalid {
            field: "server_id",
            ..
        })
    ));
}

#[test]
fn expiry_waits_for_the_deadline() {
    let a = org("Alpha", Tier::Free);
    let b = org("Beta", Tier::Free);
    let agr = agreement(&a, &b);
    let offer = admin(
        &agr,
        &b,
        &server(&a, "a1"),
        ConnectionKind::AdminRo,
        S::Offered,
    );
    let deadline = offer.offer_expires_at.unwrap();
    assert!(matches!(
        transition(
            &Caller::System,
            &offer,
            E::Expire,
            deadline - Duration::seconds(1)
        ),
        Err(Refusal::Conflict { .. })
    ));
    let (expired, _) = transition(&Caller::System, &offer, E::Expire, deadline).unwrap();
    assert_eq!(expired.status, S::Expired);
}

#[test]
fn terminate_records_who_and_why_and_notifies_the_other_party() {
    let a = org("Alpha", Tier::Free);
    let b = org("Beta", Tier::Free);
    let agr = agreement(&a, &b);
    let conn = p2p(&agr, &server(&a, "a1"), &server(&b, "b1"), S::Active);
    let (done, changes) = transition(&owner(&a), &conn, E::Terminate, now()).unwrap();
    assert_eq!(done.status_reason.as_deref(), Some("terminated_by_party"));
    assert_eq!(
        changes
            .notifications
            .iter()
            .map(|n| n.org_id.clone())
            .collect::<Vec<_>>(),
        vec![b.id.clone()]
    );
    assert_eq!(changes.audit[0].action, "connection.terminate");
    assert!(changes.effects.contains(&Effect::DropRelayAllocations {
        connection: conn.id.clone()
    }));
}
