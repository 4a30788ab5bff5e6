//! The layout of the redb file: every table's name and key/value types, the schema version
//! and the reserved `meta` keys. Changing a table's name or types, or the encoding of a row,
//! needs a new [`SCHEMA_VERSION`] (and a migration), because redb checks types by name only.

use redb::{MultimapTableDefinition, TableDefinition};

/// The layout version written at creation and required on open.
pub const SCHEMA_VERSION: u32 = 1;

/// Entity rows: id → serde_json bytes of the domain type.
pub(crate) type RowDef = TableDefinition<'static, &'static str, &'static [u8]>;
/// Non-unique index: key → entity ids.
pub(crate) type MultiDef = MultimapTableDefinition<'static, &'static str, &'static str>;
/// Unique index: key → the one entity id holding it.
pub(crate) type UniqueDef = TableDefinition<'static, &'static str, &'static str>;
/// Ordered index: (key, sort key) → entity id, for newest-first scans.
pub(crate) type OrderedDef = TableDefinition<'static, (&'static str, &'static str), &'static str>;

/// Store bookkeeping: schema version, key fingerprint, audit head. Never written by callers.
pub(crate) const META: RowDef = TableDefinition::new("meta");
/// Small values the binary keeps (e.g. `platform_admin_created`), see `put_meta`.
pub(crate) const APP_META: RowDef = TableDefinition::new("app_meta");

pub(crate) const META_SCHEMA_VERSION: &str = "schema_version";
pub(crate) const META_KEY_FINGERPRINT: &str = "key_fingerprint";
pub(crate) const META_AUDIT_HEAD: &str = "audit_head";

pub(crate) const ORGS: RowDef = TableDefinition::new("organizations");
pub(crate) const USERS: RowDef = TableDefinition::new("users");
pub(crate) const SERVERS: RowDef = TableDefinition::new("servers");
pub(crate) const CHANNELS: RowDef = TableDefinition::new("channels");
pub(crate) const REQUESTS: RowDef = TableDefinition::new("peering_requests");
pub(crate) const AGREEMENTS: RowDef = TableDefinition::new("agreements");
pub(crate) const GRANTS: RowDef = TableDefinition::new("grants");
pub(crate) const CONNECTIONS: RowDef = TableDefinition::new("connections");
pub(crate) const NOTIFICATIONS: RowDef = TableDefinition::new("notifications");

pub(crate) const ORG_BY_SLUG: UniqueDef = TableDefinition::new("idx_org_by_slug");
pub(crate) const USER_BY_EMAIL: UniqueDef = TableDefinition::new("idx_user_by_email");
pub(crate) const PENDING_REQUEST_BY_PAIR: UniqueDef =
    TableDefinition::new("idx_pending_request_by_pair");
pub(crate) const ACTIVE_AGREEMENT_BY_PAIR: UniqueDef =
    TableDefinition::new("idx_active_agreement_by_pair");

pub(crate) const USERS_BY_ORG: MultiDef = MultimapTableDefinition::new("idx_users_by_org");
pub(crate) const SERVERS_BY_ORG: MultiDef = MultimapTableDefinition::new("idx_servers_by_org");
pub(crate) const CHANNELS_BY_SERVER: MultiDef =
    MultimapTableDefinition::new("idx_channels_by_server");
pub(crate) const REQUESTS_BY_FROM: MultiDef = MultimapTableDefinition::new("idx_requests_by_from");
pub(crate) const REQUESTS_BY_TO: MultiDef = MultimapTableDefinition::new("idx_requests_by_to");
pub(crate) const AGREEMENTS_BY_PARTY: MultiDef =
    MultimapTableDefinition::new("idx_agreements_by_party");
pub(crate) const ACTIVE_PEER_AGREEMENTS_BY_ORG: MultiDef =
    MultimapTableDefinition::new("idx_active_peer_agreements_by_org");
pub(crate) const GRANTS_BY_AGREEMENT: MultiDef =
    MultimapTableDefinition::new("idx_grants_by_agreement");
pub(crate) const GRANTS_BY_CHANNEL: MultiDef =
    MultimapTableDefinition::new("idx_grants_by_channel");
pub(crate) const GRANTS_BY_ORG: MultiDef = MultimapTableDefinition::new("idx_grants_by_org");
pub(crate) const CONNECTIONS_BY_AGREEMENT: MultiDef =
    MultimapTableDefinition::new("idx_connections_by_agreement");
pub(crate) const CONNECTIONS_BY_GRANT: MultiDef =
    MultimapTableDefinition::new("idx_connections_by_grant");
pub(crate) const CONNECTIONS_BY_SERVER: MultiDef =
    MultimapTableDefinition::new("idx_connections_by_server");
pub(crate) const CONNECTIONS_BY_ORG: MultiDef =
    MultimapTableDefinition::new("idx_connections_by_org");
/// Status name → connections with that status (e.g. open admin offers to re-arm on start).
pub(crate) const CONNECTIONS_BY_STATUS: MultiDef =
    MultimapTableDefinition::new("idx_connections_by_status");

pub(crate) const NOTIFICATIONS_BY_ORG: OrderedDef =
    TableDefinition::new("idx_notifications_by_org");
pub(crate) const UNREAD_NOTIFICATIONS_BY_ORG: OrderedDef =
    TableDefinition::new("idx_unread_notifications_by_org");

/// Connection id → secret record (verifier and optional sealed plaintext).
pub(crate) const SECRETS: RowDef = TableDefinition::new("secrets");
/// Keyed hash of an API token (hex) → token record.
pub(crate) const API_TOKENS: RowDef = TableDefinition::new("api_tokens");
pub(crate) const API_TOKENS_BY_USER: MultiDef = MultimapTableDefinition::new("idx_tokens_by_user");
/// Keyed hash of a registration token (hex) → registration record.
pub(crate) const REGISTRATION_TOKENS: RowDef = TableDefinition::new("registration_tokens");
pub(crate) const REGISTRATION_TOKENS_BY_CONNECTION: MultiDef =
    MultimapTableDefinition::new("idx_registration_tokens_by_connection");

/// Sequence number → audit record (chain header and canonical event bytes).
pub(crate) const AUDIT: TableDefinition<'static, u64, &'static [u8]> =
    TableDefinition::new("audit");
/// (org id, sequence number) → nothing: the events each organization may read.
pub(crate) const AUDIT_BY_ORG: TableDefinition<'static, (&'static str, u64), ()> =
    TableDefinition::new("idx_audit_by_org");

/// Every row-shaped table, so opening can create them all up front (read transactions
/// cannot create tables).
pub(crate) const ROW_TABLES: [RowDef; 14] = [
    META,
    APP_META,
    ORGS,
    USERS,
    SERVERS,
    CHANNELS,
    REQUESTS,
    AGREEMENTS,
    GRANTS,
    CONNECTIONS,
    NOTIFICATIONS,
    SECRETS,
    API_TOKENS,
    REGISTRATION_TOKENS,
];

pub(crate) const UNIQUE_TABLES: [UniqueDef; 4] = [
    ORG_BY_SLUG,
    USER_BY_EMAIL,
    PENDING_REQUEST_BY_PAIR,
    ACTIVE_AGREEMENT_BY_PAIR,
];

pub(crate) const MULTI_TABLES: [MultiDef; 17] = [
    USERS_BY_ORG,
    SERVERS_BY_ORG,
    CHANNELS_BY_SERVER,
    REQUESTS_BY_FROM,
    REQUESTS_BY_TO,
    AGREEMENTS_BY_PARTY,
    ACTIVE_PEER_AGREEMENTS_BY_ORG,
    GRANTS_BY_AGREEMENT,
    GRANTS_BY_CHANNEL,
    GRANTS_BY_ORG,
    CONNECTIONS_BY_AGREEMENT,
    CONNECTIONS_BY_GRANT,
    CONNECTIONS_BY_SERVER,
    CONNECTIONS_BY_ORG,
    CONNECTIONS_BY_STATUS,
    API_TOKENS_BY_USER,
    REGISTRATION_TOKENS_BY_CONNECTION,
];

pub(crate) const ORDERED_TABLES: [OrderedDef; 2] =
    [NOTIFICATIONS_BY_ORG, UNREAD_NOTIFICATIONS_BY_ORG];
