//! SPEC §2 visibility: peers see public channel fields only, server names of shared
//! connections, "Self" as the peer of a self-agreement; connector config for the target owner.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::entities::*;
use switchboard_domain::tiers::Tier;
use switchboard_domain::visibility::{
    ChannelView, ConnectionContext, channel_for, connection_for, connector_config_access,
};
use switchboard_domain::{EntityKind, Refusal, Role};

#[test]
fn peers_never_see_internal_channel_names() {
    let (a, b) = (org("Alpha", Tier::Free), org("Beta", Tier::Free));
    let ch = channel(&server(&a, "a1"), Direction::Listener, true);
    let peer_view = serde_json::to_string(&channel_for(&b.id, &ch).unwrap()).unwrap();
    assert!(!peer_view.contains(&ch.internal_name));
    assert!(peer_view.contains(&ch.public_name));
    assert!(matches!(
        channel_for(&a.id, &ch),
        Some(ChannelView::Owner(_))
    ));
    let hidden = channel(&server(&a, "a1"), Direction::Listener, false);
    assert!(channel_for(&b.id, &hidden).is_none());
}

#[test]
fn connection_views_show_route_peer_and_no_secret() {
    let (a, b, c) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
    );
    let (sa, sb) = (server(&a, "Alpha Mirth"), server(&b, "Beta OIE"));
    let conn = p2p(&agreement(&a, &b), &sb, &sa, ConnectionStatus::Active);
    let ctx = ConnectionContext {
        source: Some(&sb),
        target: &sa,
        peer_org_name: "Beta",
    };
    let v = connection_for(&a.id, &conn, ctx).unwrap();
    assert_eq!(v.route, "Beta OIE → Alpha Mirth");
    assert_eq!(v.peer_name, "Beta");
    assert_eq!(v.your_sides, vec!["target"]);
    assert!(v.secret.viewable);
    assert!(connection_for(&c.id, &conn, ctx).is_none());
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains("sbs_") && !json.contains("sbr_"));
    let this = org("Solo", Tier::Free);
    let (one, two) = (server(&this, "one"), server(&this, "two"));
    let selfc = p2p(
        &agreement(&this, &this),
        &one,
        &two,
        ConnectionStatus::Ready,
    );
    let v = connection_for(
        &this.id,
        &selfc,
        ConnectionContext {
            source: Some(&one),
            target: &two,
            peer_org_name: "Solo",
        },
    )
    .unwrap();
    assert_eq!(v.peer_name, "Self");
    assert_eq!(v.your_sides, vec!["source", "target"]);
}

#[test]
fn connector_config_only_for_the_target_owner() {
    let (a, b, c) = (
        org("Alpha", Tier::Free),
        org("Beta", Tier::Free),
        org("Gamma", Tier::Free),
    );
    let conn = p2p(
        &agreement(&a, &b),
        &server(&b, "b1"),
        &server(&a, "a1"),
        ConnectionStatus::Active,
    );
    assert!(connector_config_access(&owner(&a), &conn).is_ok());
    assert!(connector_config_access(&caller(&a, Role::Admin), &conn).is_ok());
    assert!(matches!(
        connector_config_access(&caller(&a, Role::Member), &conn),
        Err(Refusal::Forbidden { .. })
    ));
    assert_eq!(
        connector_config_access(&owner(&b), &conn).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Connection
        }
    );
    assert_eq!(
        connector_config_access(&owner(&c), &conn).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Connection
        }
    );
    assert_eq!(
        connector_config_access(&platform_admin(), &conn).unwrap_err(),
        Refusal::NotFound {
            kind: EntityKind::Connection
        }
    );
}
