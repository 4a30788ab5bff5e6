//! SPEC §7: who may view and rotate a secret, p2p once per side, admin again, enrollment as
//! the target's view, rotation on tiers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::Duration;
use common::*;
use switchboard_domain::entities::*;
use switchboard_domain::rules::secret::{enroll, rotate, view};
use switchboard_domain::tiers::{Feature, OverrideKind, Tier, TierOverride};
use switchboard_domain::{Caller, Effect, EntityKind, Refusal, Role};

fn pair(tier: Tier) -> (Organization, Organization, Connection) {
    let (a, b) = (org("Alpha", tier), org("Beta", tier));
    let agr = agreement(&a, &b);
    let conn = p2p(
        &agr,
        &server(&a, "a1"),
        &server(&b, "b1"),
        ConnectionStatus::Active,
    );
    (a, b, conn)
}

#[test]
fn p2p_once_per_side_then_gone() {
    let (a, b, conn) = pair(Tier::Free);
    let first = view(&owner(&a), &conn, now()).unwrap();
    assert_eq!(first.side, Side::Source);
    assert!(
        first.changes.effects.is_empty(),
        "the plaintext is kept for the other side"
    );
    assert_eq!(
        view(&owner(&a), &first.connection, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
    let second = view(&caller(&b, Role::Admin), &first.connection, now()).unwrap();
    assert_eq!(second.side, Side::Target);
    assert!(!second.connection.secret.plaintext_kept);
    assert_eq!(
        second.changes.effects,
        vec![Effect::ForgetSecretPlaintext {
            connection: conn.id.clone()
        }]
    );
    assert_eq!(
        view(&owner(&b), &second.connection, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
    assert_eq!(second.changes.audit[0].action, "secret.view");
    assert!(
        !serde_json::to_string(&second.changes.audit)
            .unwrap()
            .contains("sbs_")
    );
}

#[test]
fn self_agreement_gets_two_views() {
    let a = org("Alpha", Tier::Free);
    let agr = agreement(&a, &a);
    let conn = p2p(
        &agr,
        &server(&a, "one"),
        &server(&a, "two"),
        ConnectionStatus::Ready,
    );
    let v1 = view(&owner(&a), &conn, now()).unwrap();
    let v2 = view(&owner(&a), &v1.connection, now()).unwrap();
    assert_eq!((v1.side, v2.side), (Side::Source, Side::Target));
    assert_eq!(
        view(&owner(&a), &v2.connection, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
}

#[test]
fn admin_secrets_are_viewable_again_once_accepted() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let mut conn = admin(
        &agr,
        &b,
        &server(&a, "a1"),
        ConnectionKind::AdminRo,
        ConnectionStatus::Offered,
    );
    assert!(
        matches!(
            view(&owner(&b), &conn, now()),
            Err(Refusal::Conflict { .. })
        ),
        "recipient owns no server yet"
    );
    let mut current = conn.clone();
    for _ in 0..3 {
        current = view(&owner(&a), &current, now()).unwrap().connection;
    }
    conn.source_server_id = Some(server(&b, "b1").id);
    conn.status = ConnectionStatus::Active;
    for _ in 0..3 {
        conn = view(&owner(&b), &conn, now()).unwrap().connection;
    }
    assert!(conn.secret.plaintext_kept);
}

#[test]
fn view_refusals() {
    let (a, _, conn) = pair(Tier::Enterprise);
    let c = org("Gamma", Tier::Free);
    assert!(matches!(
        view(&platform_admin(), &conn, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        view(&caller(&a, Role::Member), &conn, now()),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        view(&owner(&c), &conn, now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Connection
        }
    );
    let mut done = conn.clone();
    done.status = ConnectionStatus::Terminated;
    assert_eq!(
        view(&owner(&a), &done, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
}

#[test]
fn enrollment_is_the_targets_view() {
    let (a, b, conn) = pair(Tier::Free);
    let enrolled = enroll(&conn, now()).unwrap();
    assert_eq!(enrolled.side, Side::Target);
    assert_eq!(
        enroll(&enrolled.connection, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
    assert_eq!(
        view(&owner(&b), &enrolled.connection, now()).unwrap_err(),
        Refusal::SecretUnavailable
    );
    let last = view(&owner(&a), &enrolled.connection, now()).unwrap();
    assert!(!last.connection.secret.plaintext_kept);
}

#[test]
fn rotation_by_tier_and_by_platform_admin() {
    let t = tiers();
    let (a, b, conn) = pair(Tier::Free);
    assert!(matches!(
        rotate(&owner(&a), &conn, Some(&a), &t, now()),
        Err(Refusal::TierForbidden {
            feature: Feature::SecretRotation,
            tier: Tier::Free,
            ..
        })
    ));
    assert!(matches!(
        rotate(&caller(&a, Role::Member), &conn, Some(&a), &t, now()),
        Err(Refusal::Forbidden { .. })
    ));
    // A platform admin rotates on any tier and is not shown the secret.
    let by_admin = rotate(&platform_admin(), &conn, None, &t, now()).unwrap();
    assert_eq!(by_admin.revealed_to, None);
    assert_eq!(by_admin.connection.secret, SecretState::fresh(1));
    for effect in [
        Effect::IssueSecret {
            connection: conn.id.clone(),
            generation: 1,
        },
        Effect::KickGateways {
            connection: conn.id.clone(),
        },
        Effect::DropRelayAllocations {
            connection: conn.id.clone(),
        },
    ] {
        assert!(by_admin.changes.effects.contains(&effect), "{effect:?}");
    }
    // A standard org rotates; the new secret counts as its side's view, the peer views anew.
    let (s, _, conn) = pair(Tier::Standard);
    let viewed = view(&owner(&s), &conn, now()).unwrap().connection;
    let rotated = rotate(&owner(&s), &viewed, Some(&s), &t, now()).unwrap();
    assert_eq!(rotated.revealed_to, Some(Side::Source));
    assert!(rotated.connection.secret.source_viewed && !rotated.connection.secret.target_viewed);
    assert!(rotated.connection.secret.plaintext_kept);
    // A rotation override on free works until it expires.
    let mut boosted = a.clone();
    boosted.overrides.push(TierOverride {
        kind: OverrideKind::Feature {
            feature: Feature::SecretRotation,
        },
        expires_at: now() + Duration::minutes(5),
    });
    let (_, _, free_conn) = (
        a.clone(),
        b,
        p2p(
            &agreement(&a, &a),
            &server(&a, "x"),
            &server(&a, "y"),
            ConnectionStatus::Active,
        ),
    );
    assert!(rotate(&owner(&a), &free_conn, Some(&boosted), &t, now()).is_ok());
    assert!(
        rotate(
            &owner(&a),
            &free_conn,
            Some(&boosted),
            &t,
            now() + Duration::minutes(5)
        )
        .is_err()
    );
    let mut done = free_conn.clone();
    done.status = ConnectionStatus::Terminated;
    assert!(matches!(
        rotate(&Caller::System, &done, None, &t, now()),
        Err(Refusal::InvalidTransition { .. })
    ));
}
