//! The service over a real redb store inside a real actix System, with a manual clock: rate
//! windows, admin offer expiry, actor passivation, and a self-peering flow end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_actors::service::types::*;
use switchboard_actors::{
    ActorSettings, ManualClock, NoLiveSessions, ServiceError, StoreHandle, Switchboard,
};
use switchboard_domain::entities::{ConnectionStatus, Direction};
use switchboard_domain::ids::UserId;
use switchboard_domain::rules::grant::GrantEvent;
use switchboard_domain::tiers::{Tier, TierTable};
use switchboard_domain::{Caller, Refusal};
use switchboard_storage::{MasterKey, Reader, Store};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn run<F, Fut>(settings: ActorSettings, test: F)
where
    F: FnOnce(Switchboard, Arc<ManualClock>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb"), MasterKey::generate()).unwrap();
    let sys = actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    });
    sys.block_on(async move {
        let arbiter = actix::Arbiter::new();
        let clock = Arc::new(ManualClock::new(t0()));
        let svc = Switchboard::new(
            StoreHandle::new(Arc::new(store)),
            arbiter.handle(),
            Arc::new(NoLiveSessions),
            clock.clone(),
            TierTable::default(),
            settings,
        );
        test(svc, clock).await;
        arbiter.stop();
    });
}

fn admin() -> Caller {
    Caller::PlatformAdmin {
        user: UserId::generate(),
    }
}

async fn org(svc: &Switchboard, slug: &str, tier: Tier) -> Caller {
    let created = svc
        .create_org(
            &admin(),
            NewOrg {
                name: slug.to_uppercase(),
                slug: slug.into(),
                tier: Some(tier),
                discoverable: Some(true),
                description: None,
                owner: NewUser {
                    email: format!("owner@{slug}.example"),
                    name: "Owner".into(),
                },
            },
        )
        .await
        .unwrap();
    svc.authenticate(&created.owner_token).await.unwrap()
}

async fn server(
    svc: &Switchboard,
    who: &Caller,
    name: &str,
) -> switchboard_domain::entities::Server {
    svc.create_server(
        who,
        NewServer {
            name: name.into(),
            description: None,
            kind: "mirth".into(),
            version: None,
        },
    )
    .await
    .unwrap()
}

/// Self-peering, a published listener channel, an offered and approved grant, a provisioned
/// and activated p2p connection. Returns the owner and the connection id.
async fn self_connection(
    svc: &Switchboard,
    tier: Tier,
) -> (Caller, switchboard_domain::ids::ConnectionId) {
    let me = org(svc, "solo", tier).await;
    let (one, two) = (server(svc, &me, "one").await, server(svc, &me, "two").await);
    let ch = svc
        .create_channel(
            &me,
            &two.id,
            NewChannel {
                internal_name: "ADT_IN".into(),
                public_name: "ADT".into(),
                public_description: None,
                direction: Direction::Listener,
                published: Some(true),
            },
        )
        .await
        .unwrap();
    let req = svc
        .send_peering_request(
            &me,
            NewPeeringRequest {
                to_org: "solo".into(),
            },
        )
        .await
        .unwrap();
    let agreement = req.request.agreement_id.clone().unwrap();
    let grant = svc
        .create_grant(
            &me,
            NewGrant {
                agreement_id: agreement,
                channel_id: ch.id,
            },
        )
        .await
        .unwrap();
    svc.decide_grant(&me, &grant.grant.id, GrantEvent::Approve)
        .await
        .unwrap();
    let conn = svc
        .provision(
            &me,
            NewP2p {
                grant_id: grant.grant.id,
                source_server_id: one.id,
                target_server_id: two.id,
                mode: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(conn.peer_name, "Self");
    assert_eq!(conn.route, "one → two");
    let active = svc
        .move_connection(&me, &conn.id, ConnectionMove::Activate)
        .await
        .unwrap();
    assert_eq!(active.status, ConnectionStatus::Active);
    (me, conn.id)
}

#[test]
fn self_peering_flow_two_views_then_gone_and_the_secret_verifies() {
    run(ActorSettings::default(), |svc, _| async move {
        let (me, id) = self_connection(&svc, Tier::Free).await;
        let v1 = svc.view_secret(&me, &id).await.unwrap();
        let v2 = svc.view_secret(&me, &id).await.unwrap();
        assert_eq!(v1.secret, v2.secret);
        assert!(v1.secret.starts_with("sbs_"));
        assert!(matches!(
            svc.view_secret(&me, &id).await,
            Err(ServiceError::Refused(Refusal::SecretUnavailable))
        ));
        let (store, s) = (svc.core().store.clone(), v1.secret.clone());
        let id2 = id.clone();
        let ok = store
            .read(move |tx| Ok(tx.verify_secret(&id2, &s)?))
            .await
            .unwrap();
        assert!(ok);
        // The plaintext is gone from the store once both sides have viewed it.
        let id3 = id.clone();
        assert!(
            store
                .read(move |tx| Ok(tx.reveal_secret(&id3)?))
                .await
                .unwrap()
                .is_none()
        );
        // Free tier cannot rotate; the refusal and the views are audited without the secret.
        assert!(matches!(
            svc.rotate_secret(&me, &id).await,
            Err(ServiceError::Refused(Refusal::TierForbidden { .. }))
        ));
        let audit = svc.audit(&me, None, 1000).await.unwrap();
        let text = serde_json::to_string(&audit).unwrap();
        assert!(!text.contains(&v1.secret));
        assert_eq!(
            audit
                .iter()
                .filter(|e| e.event.action == "secret.view")
                .count(),
            3,
            "two views and one refusal"
        );
        assert!(audit.iter().any(|e| e.event.action == "secret.rotate"));
    });
}

#[test]
fn sixth_view_in_a_minute_is_rate_limited_then_allowed_again() {
    run(ActorSettings::default(), |svc, clock| async move {
        let owner = org(&svc, "acme", Tier::Standard).await;
        let peer = org(&svc, "beta", Tier::Standard).await;
        let managed = server(&svc, &owner, "managed").await;
        let managing = server(&svc, &peer, "managing").await;
        let req = svc
            .send_peering_request(
                &owner,
                NewPeeringRequest {
                    to_org: "beta".into(),
                },
            )
            .await
            .unwrap();
        let accepted = svc
            .decide_peering_request(
                &peer,
                &req.request.id,
                switchboard_domain::rules::peering::PeeringEvent::Accept,
            )
            .await
            .unwrap();
        let agreement = accepted.request.agreement_id.unwrap();
        let offer = svc
            .offer_admin(
                &owner,
                NewAdminOffer {
                    agreement_id: agreement,
                    server_id: managed.id,
                    access: AccessLevel::Rw,
                },
            )
            .await
            .unwrap();
        svc.move_connection(
            &peer,
            &offer.id,
            ConnectionMove::Accept(AcceptOffer {
                server_id: managing.id,
            }),
        )
        .await
        .unwrap();
        // A member's refused attempts do not use up the owners' window.
        let member = svc
            .add_member(
                &owner,
                NewMember {
                    email: "m@acme.example".into(),
                    name: "M".into(),
                    role: switchboard_domain::Role::Member,
                },
            )
            .await
            .unwrap();
        let member = svc.authenticate(&member.token).await.unwrap();
        for _ in 0..6 {
            assert!(matches!(
                svc.view_secret(&member, &offer.id).await,
                Err(ServiceError::Refused(Refusal::Forbidden { .. }))
            ));
            assert!(matches!(
                svc.view_secret(&admin(), &offer.id).await,
                Err(ServiceError::Refused(Refusal::Forbidden { .. }))
            ));
        }
        for _ in 0..5 {
            svc.view_secret(&owner, &offer.id).await.unwrap();
            clock.advance(chrono::Duration::seconds(1));
        }
        match svc.view_secret(&owner, &offer.id).await {
            Err(ServiceError::RateLimited { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(55))
            }
            other => panic!("{other:?}"),
        }
        clock.advance(chrono::Duration::seconds(55));
        svc.view_secret(&peer, &offer.id).await.unwrap();
        // Rotations: 5 per 300 s, then 429.
        for _ in 0..5 {
            let r = svc.rotate_secret(&owner, &offer.id).await.unwrap();
            assert!(r.secret.is_some());
        }
        assert!(matches!(
            svc.rotate_secret(&owner, &offer.id).await,
            Err(ServiceError::RateLimited { .. })
        ));
        // A platform admin rotation is limited by the same window and never returns the secret.
        clock.advance(chrono::Duration::seconds(300));
        let by_admin = svc.admin_rotate_secret(&admin(), &offer.id).await.unwrap();
        assert!(by_admin.secret.is_none());
        assert_eq!(by_admin.generation, 6);
    });
}

#[test]
fn admin_offers_expire_on_the_timer() {
    let settings = ActorSettings {
        admin_offer_ttl: Duration::from_secs(3600),
        ..ActorSettings::default()
    };
    run(settings, |svc, clock| async move {
        let owner = org(&svc, "acme", Tier::Free).await;
        let peer = org(&svc, "beta", Tier::Free).await;
        let managed = server(&svc, &owner, "managed").await;
        let req = svc
            .send_peering_request(
                &peer,
                NewPeeringRequest {
                    to_org: "acme".into(),
                },
            )
            .await
            .unwrap();
        let agreement = svc
            .decide_peering_request(
                &owner,
                &req.request.id,
                switchboard_domain::rules::peering::PeeringEvent::Accept,
            )
            .await
            .unwrap()
            .request
            .agreement_id
            .unwrap();
        let rw = svc
            .offer_admin(
                &owner,
                NewAdminOffer {
                    agreement_id: agreement.clone(),
                    server_id: managed.id.clone(),
                    access: AccessLevel::Rw,
                },
            )
            .await;
        assert!(
            matches!(
                rw,
                Err(ServiceError::Refused(Refusal::TierForbidden { .. }))
            ),
            "free tier has no Admin RW"
        );
        let offer = svc
            .offer_admin(
                &owner,
                NewAdminOffer {
                    agreement_id: agreement,
                    server_id: managed.id,
                    access: AccessLevel::Ro,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            svc.expire_due_offers().await.unwrap(),
            Some(t0() + chrono::Duration::seconds(3600))
        );
        clock.advance(chrono::Duration::seconds(3599));
        svc.expire_due_offers().await.unwrap();
        assert_eq!(
            svc.get_connection(&peer, &offer.id).await.unwrap().status,
            ConnectionStatus::Offered
        );
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(svc.expire_due_offers().await.unwrap(), None);
        assert_eq!(
            svc.get_connection(&peer, &offer.id).await.unwrap().status,
            ConnectionStatus::Expired
        );
        assert!(
            svc.list_connections(&peer, ConnectionFilter::default())
                .await
                .unwrap()
                .is_empty(),
            "terminal connections are hidden"
        );
        assert_eq!(
            svc.list_connections(
                &peer,
                ConnectionFilter {
                    include_terminal: true,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
    });
}

#[test]
fn idle_actors_stop_and_come_back_on_demand() {
    let settings = ActorSettings {
        actor_idle: Duration::from_millis(200),
        secret_views_window: Duration::from_millis(200),
        secret_rotations_window: Duration::from_millis(200),
        ..ActorSettings::default()
    };
    run(settings, |svc, _| async move {
        let (me, id) = self_connection(&svc, Tier::Free).await;
        assert!(svc.core().registry.live() > 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while svc.core().registry.live() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "actors did not passivate"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let paused = svc
            .move_connection(&me, &id, ConnectionMove::Pause)
            .await
            .unwrap();
        assert_eq!(paused.status, ConnectionStatus::Paused);
        assert_eq!(svc.core().registry.connections.len(), 1);
    });
}

#[test]
fn probing_unknown_ids_does_not_pin_actors() {
    run(ActorSettings::default(), |svc, _| async move {
        let me = org(&svc, "prober", Tier::Free).await;
        for _ in 0..20 {
            let id = switchboard_domain::ids::ConnectionId::generate();
            assert!(matches!(
                svc.move_connection(&me, &id, ConnectionMove::Pause).await,
                Err(ServiceError::Refused(Refusal::NotFound { .. }))
            ));
        }
        assert!(svc.core().registry.connections.len() >= 20);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !svc.core().registry.connections.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "probe actors still live"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A real entity's actor is kept for the normal idle period.
        assert!(!svc.core().registry.orgs.is_empty());
    });
}
