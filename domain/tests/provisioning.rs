//! SPEC §5–§6: p2p provisioning from an approved grant under the direction rules; admin offers
//! and the Admin RW tier rule with expiring overrides.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::Duration;
use common::*;
use switchboard_domain::entities::*;
use switchboard_domain::rules::provisioning::{
    AdminAccess, AdminOffer, P2pRequest, offer_admin, provision_p2p,
};
use switchboard_domain::tiers::{Feature, OverrideKind, Tier, TierOverride};
use switchboard_domain::{Effect, EntityKind, Refusal, Role};

struct Setup {
    a: Organization,
    b: Organization,
    agr: Agreement,
    a1: Server,
    b1: Server,
    b2: Server,
}

fn setup() -> Setup {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let agr = agreement(&a, &b);
    let (a1, b1, b2) = (server(&a, "a1"), server(&b, "b1"), server(&b, "b2"));
    Setup {
        a,
        b,
        agr,
        a1,
        b1,
        b2,
    }
}

fn req<'a>(
    s: &'a Setup,
    g: &'a Grant,
    ch: &'a Channel,
    source: &'a Server,
    target: &'a Server,
) -> P2pRequest<'a> {
    P2pRequest {
        agreement: &s.agr,
        grant: g,
        channel: ch,
        source,
        target,
        mode: ConnectionMode::Webrtc,
        duplicate_exists: false,
    }
}

#[test]
fn listener_channel_server_is_the_target_and_source_is_the_grantees() {
    let s = setup();
    let ch = channel(&s.a1, Direction::Listener, true);
    let g = grant(&s.agr, &ch, &s.b, GrantStatus::Approved, GrantPath::Offer);
    let (conn, changes) =
        provision_p2p(&owner(&s.b), req(&s, &g, &ch, &s.b1, &s.a1), now()).unwrap();
    assert_eq!(conn.status, ConnectionStatus::Ready);
    assert_eq!(
        (conn.source_org.clone(), conn.target_org.clone()),
        (s.b.id.clone(), s.a.id.clone())
    );
    assert_eq!(conn.secret, SecretState::fresh(0));
    assert!(changes.effects.contains(&Effect::IssueSecret {
        connection: conn.id.clone(),
        generation: 0
    }));
    assert_eq!(changes.notifications[0].org_id, s.a.id);
    // Either party may provision.
    assert!(provision_p2p(&owner(&s.a), req(&s, &g, &ch, &s.b1, &s.a1), now()).is_ok());
    // Wrong target / source.
    assert!(matches!(
        provision_p2p(&owner(&s.b), req(&s, &g, &ch, &s.b1, &s.b2), now()),
        Err(Refusal::Invalid {
            field: "target_server_id",
            ..
        })
    ));
    let a2 = server(&s.a, "a2");
    assert!(matches!(
        provision_p2p(&owner(&s.b), req(&s, &g, &ch, &a2, &s.a1), now()),
        Err(Refusal::Invalid {
            field: "source_server_id",
            ..
        })
    ));
}

#[test]
fn sender_channel_server_is_the_source_and_target_is_the_grantees() {
    let s = setup();
    let ch = channel(&s.a1, Direction::Sender, true);
    let g = grant(&s.agr, &ch, &s.b, GrantStatus::Approved, GrantPath::Request);
    let (conn, _) = provision_p2p(&owner(&s.a), req(&s, &g, &ch, &s.a1, &s.b2), now()).unwrap();
    assert_eq!(conn.source_server_id, Some(s.a1.id.clone()));
    assert_eq!(conn.target_server_id, s.b2.id);
    assert!(matches!(
        provision_p2p(&owner(&s.a), req(&s, &g, &ch, &s.b1, &s.b2), now()),
        Err(Refusal::Invalid {
            field: "source_server_id",
            ..
        })
    ));
    let a2 = server(&s.a, "a2");
    assert!(matches!(
        provision_p2p(&owner(&s.a), req(&s, &g, &ch, &s.a1, &a2), now()),
        Err(Refusal::Invalid {
            field: "target_server_id",
            ..
        })
    ));
}

#[test]
fn self_agreement_joins_two_own_servers_never_one_with_itself() {
    let a = org("Alpha", Tier::Free);
    let agr = agreement(&a, &a);
    let (one, two) = (server(&a, "one"), server(&a, "two"));
    let ch = channel(&two, Direction::Listener, true);
    let g = grant(&agr, &ch, &a, GrantStatus::Approved, GrantPath::Offer);
    let r = |source, target| P2pRequest {
        agreement: &agr,
        grant: &g,
        channel: &ch,
        source,
        target,
        mode: ConnectionMode::Webrtc,
        duplicate_exists: false,
    };
    let (conn, changes) = provision_p2p(&owner(&a), r(&one, &two), now()).unwrap();
    assert_eq!(conn.sides_of(&a.id), vec![Side::Source, Side::Target]);
    assert_eq!(changes.notifications.len(), 1, "the org is told once");
    assert!(matches!(
        provision_p2p(&owner(&a), r(&two, &two), now()),
        Err(Refusal::Invalid { .. })
    ));
}

#[test]
fn provisioning_refusals() {
    let s = setup();
    let c = org("Gamma", Tier::Free);
    let ch = channel(&s.a1, Direction::Listener, true);
    let approved = grant(&s.agr, &ch, &s.b, GrantStatus::Approved, GrantPath::Offer);
    for status in [
        GrantStatus::Pending,
        GrantStatus::Requested,
        GrantStatus::Denied,
        GrantStatus::Revoked,
    ] {
        let g = grant(&s.agr, &ch, &s.b, status, GrantPath::Offer);
        assert!(
            matches!(
                provision_p2p(&owner(&s.b), req(&s, &g, &ch, &s.b1, &s.a1), now()),
                Err(Refusal::Conflict { .. })
            ),
            "{status:?}"
        );
    }
    let dup = P2pRequest {
        duplicate_exists: true,
        ..req(&s, &approved, &ch, &s.b1, &s.a1)
    };
    assert!(matches!(
        provision_p2p(&owner(&s.b), dup, now()),
        Err(Refusal::Conflict { .. })
    ));
    assert_eq!(
        provision_p2p(&owner(&c), req(&s, &approved, &ch, &s.b1, &s.a1), now()).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Grant
        }
    );
    assert!(matches!(
        provision_p2p(
            &caller(&s.b, Role::Member),
            req(&s, &approved, &ch, &s.b1, &s.a1),
            now()
        ),
        Err(Refusal::Forbidden { .. })
    ));
    let outsider_server = server(&c, "c1");
    assert_eq!(
        provision_p2p(
            &owner(&s.b),
            req(&s, &approved, &ch, &outsider_server, &s.a1),
            now()
        )
        .unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Server
        }
    );
    let mut revoked = s.agr.clone();
    revoked.status = AgreementStatus::Revoked;
    let r = P2pRequest {
        agreement: &revoked,
        ..req(&s, &approved, &ch, &s.b1, &s.a1)
    };
    assert!(matches!(
        provision_p2p(&owner(&s.b), r, now()),
        Err(Refusal::Conflict { .. })
    ));
}

#[test]
fn admin_offers_follow_the_server_owners_tier_and_overrides() {
    let s = setup();
    let t = tiers();
    fn offer<'a>(s: &'a Setup, owner_org: &'a Organization, access: AdminAccess) -> AdminOffer<'a> {
        AdminOffer {
            agreement: &s.agr,
            server: &s.a1,
            owner: owner_org,
            access,
            offer_ttl: Duration::days(7),
        }
    }
    // Read-only works on free.
    let (conn, changes) = offer_admin(
        &owner(&s.a),
        offer(&s, &s.a, AdminAccess::ReadOnly),
        &t,
        now(),
    )
    .unwrap();
    assert_eq!(
        (conn.kind, conn.status),
        (ConnectionKind::AdminRo, ConnectionStatus::Offered)
    );
    assert_eq!(conn.source_org, s.b.id, "the recipient will manage");
    assert_eq!(conn.source_server_id, None);
    assert_eq!(conn.offer_expires_at, Some(now() + Duration::days(7)));
    assert_eq!(
        (
            changes.notifications[0].org_id.clone(),
            changes.notifications[0].kind
        ),
        (s.b.id.clone(), NotificationKind::AdminOfferReceived)
    );
    // Read-write is refused on free …
    assert!(matches!(
        offer_admin(
            &owner(&s.a),
            offer(&s, &s.a, AdminAccess::ReadWrite),
            &t,
            now()
        ),
        Err(Refusal::TierForbidden {
            feature: Feature::AdminRw,
            tier: Tier::Free,
            ..
        })
    ));
    // … allowed under an override until it expires.
    let mut boosted = s.a.clone();
    boosted.overrides.push(TierOverride {
        kind: OverrideKind::Feature {
            feature: Feature::AdminRw,
        },
        expires_at: now() + Duration::hours(1),
    });
    assert!(
        offer_admin(
            &owner(&s.a),
            offer(&s, &boosted, AdminAccess::ReadWrite),
            &t,
            now()
        )
        .is_ok()
    );
    assert!(
        offer_admin(
            &owner(&s.a),
            offer(&s, &boosted, AdminAccess::ReadWrite),
            &t,
            now() + Duration::hours(1)
        )
        .is_err()
    );
    // Only the server's owner offers it.
    assert_eq!(
        offer_admin(
            &owner(&s.b),
            offer(&s, &s.a, AdminAccess::ReadOnly),
            &t,
            now()
        )
        .unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Server
        }
    );
}
