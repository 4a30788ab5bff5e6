//! A small world of organizations, servers, channels and callers for the rule tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{DateTime, Duration, Utc};
use switchboard_domain::entities::*;
use switchboard_domain::ids::*;
use switchboard_domain::tiers::{Tier, TierTable};
use switchboard_domain::{Caller, Role};

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

pub fn tiers() -> TierTable {
    TierTable::default()
}

pub fn org(name: &str, tier: Tier) -> Organization {
    Organization {
        id: OrgId::generate(),
        name: name.to_owned(),
        slug: name.to_lowercase(),
        description: String::new(),
        discoverable: true,
        tier,
        overrides: vec![],
        created_at: now(),
    }
}

pub fn caller(org: &Organization, role: Role) -> Caller {
    Caller::Member {
        user: UserId::generate(),
        org: org.id.clone(),
        role,
    }
}

pub fn owner(org: &Organization) -> Caller {
    caller(org, Role::Owner)
}

pub fn platform_admin() -> Caller {
    Caller::PlatformAdmin {
        user: UserId::generate(),
    }
}

pub fn server(org: &Organization, name: &str) -> Server {
    Server {
        id: ServerId::generate(),
        org_id: org.id.clone(),
        name: name.to_owned(),
        description: format!("{name} description"),
        kind: "mirth".to_owned(),
        version: "4.5".to_owned(),
        created_at: now(),
    }
}

pub fn channel(server: &Server, direction: Direction, published: bool) -> Channel {
    Channel {
        id: ChannelId::generate(),
        server_id: server.id.clone(),
        org_id: server.org_id.clone(),
        internal_name: "ADT_internal_feed".to_owned(),
        public_name: "ADT feed".to_owned(),
        public_description: "Admissions".to_owned(),
        direction,
        published,
        created_at: now(),
    }
}

pub fn agreement(a: &Organization, b: &Organization) -> Agreement {
    Agreement {
        id: AgreementId::generate(),
        party_a: a.id.clone(),
        party_b: b.id.clone(),
        status: AgreementStatus::Active,
        created_at: now(),
        revoked_at: None,
        revoked_by: None,
    }
}

pub fn grant(
    agreement: &Agreement,
    channel: &Channel,
    grantee: &Organization,
    status: GrantStatus,
    path: GrantPath,
) -> Grant {
    Grant {
        id: GrantId::generate(),
        agreement_id: agreement.id.clone(),
        channel_id: channel.id.clone(),
        owner_org: channel.org_id.clone(),
        grantee_org: grantee.id.clone(),
        status,
        path,
        initiated_by: switchboard_domain::Principal::System,
        created_at: now(),
        decided_at: None,
    }
}

pub fn p2p(
    agreement: &Agreement,
    source: &Server,
    target: &Server,
    status: ConnectionStatus,
) -> Connection {
    Connection {
        id: ConnectionId::generate(),
        kind: ConnectionKind::P2p,
        mode: ConnectionMode::Webrtc,
        agreement_id: agreement.id.clone(),
        grant_id: Some(GrantId::generate()),
        source_server_id: Some(source.id.clone()),
        target_server_id: target.id.clone(),
        source_org: source.org_id.clone(),
        target_org: target.org_id.clone(),
        status,
        status_reason: None,
        secret: SecretState::fresh(0),
        connectivity: Connectivity::default(),
        offer_expires_at: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// An admin connection managing `target` offered to `recipient`.
pub fn admin(
    agreement: &Agreement,
    recipient: &Organization,
    target: &Server,
    kind: ConnectionKind,
    status: ConnectionStatus,
) -> Connection {
    Connection {
        id: ConnectionId::generate(),
        kind,
        mode: ConnectionMode::Webrtc,
        agreement_id: agreement.id.clone(),
        grant_id: None,
        source_server_id: None,
        target_server_id: target.id.clone(),
        source_org: recipient.id.clone(),
        target_org: target.org_id.clone(),
        status,
        status_reason: None,
        secret: SecretState::fresh(0),
        connectivity: Connectivity::default(),
        offer_expires_at: Some(now() + Duration::days(7)),
        created_at: now(),
        updated_at: now(),
    }
}
