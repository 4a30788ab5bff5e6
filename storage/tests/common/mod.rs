//! Shared fixtures for the storage tests: a store in a temporary directory, entity builders,
//! and raw redb access for tampering with the file behind the store's back.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard_domain::Principal;
use switchboard_domain::Role;
use switchboard_domain::entities::{
    Agreement, AgreementStatus, AuditEvent, AuditOutcome, Channel, Connection, ConnectionKind,
    ConnectionMode, ConnectionStatus, Connectivity, Direction, Grant, GrantPath, GrantStatus,
    Notification, NotificationKind, Organization, PeeringRequest, PeeringStatus, SecretState,
    Server, User,
};
use switchboard_domain::ids::{
    AgreementId, ChannelId, ConnectionId, EventId, GrantId, NotificationId, OrgId,
    PeeringRequestId, ServerId, UserId,
};
use switchboard_domain::tiers::Tier;
use switchboard_storage::{MasterKey, Store, StoreError};
use tempfile::TempDir;

/// A store in its own temporary directory, with the key to reopen it.
pub struct Fixture {
    pub dir: TempDir,
    pub path: PathBuf,
    pub key: MasterKey,
    pub store: Option<Store>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let key = MasterKey::generate();
        let store = Store::open(&path, key.clone()).unwrap();
        Fixture {
            dir,
            path,
            key,
            store: Some(store),
        }
    }

    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// Closes the store (releasing the file lock).
    pub fn close(&mut self) {
        self.store = None;
    }

    /// Closes and reopens the store with the same key.
    pub fn reopen(&mut self) {
        self.close();
        self.store = Some(Store::open(&self.path, self.key.clone()).unwrap());
    }

    /// Runs a write transaction that must succeed.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut switchboard_storage::WriteTx<'_>) -> Result<T, StoreError>,
    ) -> T {
        self.store().write(f).unwrap()
    }
}

/// A fixed instant plus `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

pub fn org(slug: &str) -> Organization {
    Organization {
        id: OrgId::generate(),
        name: format!("Org {slug}"),
        slug: slug.to_owned(),
        description: String::new(),
        discoverable: true,
        tier: Tier::Free,
        overrides: Vec::new(),
        created_at: at(0),
    }
}

pub fn user(org: &OrgId, email: &str) -> User {
    User {
        id: UserId::generate(),
        org_id: org.clone(),
        email: email.to_owned(),
        name: "Someone".to_owned(),
        role: Role::Admin,
        platform_admin: false,
        created_at: at(0),
    }
}

pub fn server(org: &OrgId) -> Server {
    Server {
        id: ServerId::generate(),
        org_id: org.clone(),
        name: "mirth-1".to_owned(),
        description: "lab".to_owned(),
        kind: "mirth".to_owned(),
        version: "4.5".to_owned(),
        created_at: at(0),
    }
}

pub fn channel(server: &Server) -> Channel {
    Channel {
        id: ChannelId::generate(),
        server_id: server.id.clone(),
        org_id: server.org_id.clone(),
        internal_name: "ADT_IN".to_owned(),
        public_name: "ADT feed".to_owned(),
        public_description: "admissions".to_owned(),
        direction: Direction::Listener,
        published: true,
        created_at: at(0),
    }
}

pub fn request(from: &OrgId, to: &OrgId, status: PeeringStatus) -> PeeringRequest {
    PeeringRequest {
        id: PeeringRequestId::generate(),
        from_org: from.clone(),
        to_org: to.clone(),
        status,
        created_at: at(0),
        decided_at: None,
        agreement_id: None,
    }
}

pub fn agreement(a: &OrgId, b: &OrgId, status: AgreementStatus) -> Agreement {
    Agreement {
        id: AgreementId::generate(),
        party_a: a.clone(),
        party_b: b.clone(),
        status,
        created_at: at(0),
        revoked_at: None,
        revoked_by: None,
    }
}

pub fn grant(agreement: &AgreementId, channel: &Channel, grantee: &OrgId) -> Grant {
    Grant {
        id: GrantId::generate(),
        agreement_id: agreement.clone(),
        channel_id: channel.id.clone(),
        owner_org: channel.org_id.clone(),
        grantee_org: grantee.clone(),
        status: GrantStatus::Approved,
        path: GrantPath::Offer,
        initiated_by: Principal::System,
        created_at: at(0),
        decided_at: None,
    }
}

pub fn connection(
    agreement: &AgreementId,
    grant: Option<&GrantId>,
    source: &Server,
    target: &Server,
) -> Connection {
    Connection {
        id: ConnectionId::generate(),
        kind: ConnectionKind::P2p,
        mode: ConnectionMode::Webrtc,
        agreement_id: agreement.clone(),
        grant_id: grant.cloned(),
        source_server_id: Some(source.id.clone()),
        target_server_id: target.id.clone(),
        source_org: source.org_id.clone(),
        target_org: target.org_id.clone(),
        status: ConnectionStatus::Ready,
        status_reason: None,
        secret: SecretState::fresh(0),
        connectivity: Connectivity::default(),
        offer_expires_at: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

pub fn notification(org: &OrgId, secs: i64) -> Notification {
    Notification {
        id: NotificationId::generate(),
        org_id: org.clone(),
        at: at(secs),
        kind: NotificationKind::GrantOffered,
        text: format!("event at {secs}"),
        target: "gr_x".to_owned(),
        read: false,
    }
}

pub fn audit_event(orgs: &[&OrgId], action: &str) -> AuditEvent {
    AuditEvent {
        id: EventId::generate(),
        at: at(0),
        actor: Principal::System,
        orgs: orgs.iter().map(|o| (*o).clone()).collect(),
        action: action.to_owned(),
        target: "conn_x".to_owned(),
        outcome: AuditOutcome::Success,
        details: serde_json::json!({"status": "active", "ratio": 0.1, "n": [1, 2]}),
    }
}

/// Tables as the store lays them out, for tampering with raw redb.
pub const RAW_META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
pub const RAW_AUDIT: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
pub const RAW_SECRETS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("secrets");

/// Opens the store file with raw redb (the store must be closed), runs `f` in a write
/// transaction and commits.
pub fn tamper(path: &Path, f: impl FnOnce(&redb::WriteTransaction)) {
    let db = redb::Database::open(path).unwrap();
    let tx = db.begin_write().unwrap();
    f(&tx);
    tx.commit().unwrap();
}

/// Reads one row of a `&str → &[u8]` table with raw redb (the store must be closed).
pub fn raw_get(
    path: &Path,
    table: redb::TableDefinition<&str, &[u8]>,
    key: &str,
) -> Option<Vec<u8>> {
    use redb::ReadableDatabase;
    let db = redb::Database::open(path).unwrap();
    let tx = db.begin_read().unwrap();
    let t = tx.open_table(table).unwrap();
    t.get(key).unwrap().map(|v| v.value().to_vec())
}
