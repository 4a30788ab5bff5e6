//! SPEC §2–§3: member management (admins never touch owners, one owner always remains) and
//! server/channel limits and guards.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::entities::*;
use switchboard_domain::ids::UserId;
use switchboard_domain::rules::{catalog, members};
use switchboard_domain::tiers::{Limit, Tier};
use switchboard_domain::{EntityKind, Refusal, Role};

fn user(org: &Organization, role: Role) -> User {
    User {
        id: UserId::generate(),
        org_id: org.id.clone(),
        email: "x@example.org".into(),
        name: "X".into(),
        role,
        platform_admin: false,
        created_at: now(),
    }
}

#[test]
fn member_management() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let admin = caller(&a, Role::Admin);
    assert!(members::add(&owner(&a), &a.id, Role::Owner).is_ok());
    assert!(members::add(&admin, &a.id, Role::Member).is_ok());
    assert!(matches!(
        members::add(&admin, &a.id, Role::Owner),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        members::add(&caller(&a, Role::Member), &a.id, Role::Member),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        members::add(&owner(&b), &a.id, Role::Member).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Organization
        }
    );
    let the_owner = user(&a, Role::Owner);
    let a_member = user(&a, Role::Member);
    assert!(matches!(
        members::change_role(&admin, &the_owner, Role::Member, 2),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        members::remove(&admin, &the_owner, 2),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(matches!(
        members::change_role(&admin, &a_member, Role::Owner, 1),
        Err(Refusal::Forbidden { .. })
    ));
    assert!(members::change_role(&admin, &a_member, Role::Admin, 1).is_ok());
    assert!(matches!(
        members::change_role(&owner(&a), &the_owner, Role::Admin, 1),
        Err(Refusal::Conflict { .. })
    ));
    assert!(matches!(
        members::remove(&owner(&a), &the_owner, 1),
        Err(Refusal::Conflict { .. })
    ));
    assert!(members::remove(&owner(&a), &the_owner, 2).is_ok());
    assert_eq!(
        members::remove(&owner(&b), &a_member, 1).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::User
        }
    );
}

#[test]
fn server_and_channel_limits_and_guards() {
    let t = tiers();
    let a = org("Alpha", Tier::Free);
    assert!(catalog::create_server(&owner(&a), &a, 1, &t, now()).is_ok());
    assert_eq!(
        catalog::create_server(&owner(&a), &a, 2, &t, now()).unwrap_err(),
        Refusal::TierLimit {
            limit: Limit::Servers,
            current: 2,
            max: 2,
            tier: Tier::Free
        }
    );
    assert!(matches!(
        catalog::create_server(&caller(&a, Role::Member), &a, 0, &t, now()),
        Err(Refusal::Forbidden { .. })
    ));
    let s = server(&a, "a1");
    assert!(catalog::create_channel(&owner(&a), &a, &s, 4, &t, now()).is_ok());
    assert_eq!(
        catalog::create_channel(&owner(&a), &a, &s, 5, &t, now()).unwrap_err(),
        Refusal::TierLimit {
            limit: Limit::ChannelsPerServer,
            current: 5,
            max: 5,
            tier: Tier::Free
        }
    );
    let ch = channel(&s, Direction::Listener, true);
    assert!(matches!(
        catalog::update_channel(&owner(&a), &ch, false, 1),
        Err(Refusal::Conflict { .. })
    ));
    assert!(catalog::update_channel(&owner(&a), &ch, true, 1).is_ok());
    assert!(catalog::update_channel(&owner(&a), &ch, false, 0).is_ok());
    assert!(matches!(
        catalog::delete_channel(&owner(&a), &ch, 1),
        Err(Refusal::Conflict { .. })
    ));
    assert!(catalog::delete_channel(&owner(&a), &ch, 0).is_ok());
    assert!(matches!(
        catalog::delete_server(&owner(&a), &s, 1, 0),
        Err(Refusal::Conflict { .. })
    ));
    assert!(matches!(
        catalog::delete_server(&owner(&a), &s, 0, 1),
        Err(Refusal::Conflict { .. })
    ));
    assert!(catalog::delete_server(&owner(&a), &s, 0, 0).is_ok());
    let b = org("Beta", Tier::Enterprise);
    assert_eq!(
        catalog::update_server(&owner(&b), &s).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Server
        }
    );
    assert!(catalog::create_server(&owner(&b), &b, 10_000, &t, now()).is_ok());
}
