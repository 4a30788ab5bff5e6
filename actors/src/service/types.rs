//! Request bodies (strict: unknown fields are refused) and responses of the service, in the
//! JSON shapes of SPEC §8. No response type has a field for a secret except the two that
//! exist to reveal one ([`SecretReveal`], [`Rotated`], [`Enrolled`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_domain::entities::*;
use switchboard_domain::ids::*;
use switchboard_domain::tiers::{Feature, Limit, Tier};
use switchboard_domain::visibility::ConnectionView;
use switchboard_domain::{Principal, Role};

use crate::error::{ServiceError, ServiceResult};

/// Longest accepted name or description.
pub const MAX_TEXT_LEN: usize = 1000;

/// A new user (organization owner or member).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// E-mail, unique across the platform.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// `POST /v1/orgs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    /// Display name.
    pub name: String,
    /// Unique, immutable slug.
    pub slug: String,
    /// Tier (default free).
    #[serde(default)]
    pub tier: Option<Tier>,
    /// Listed in the Directory (default false).
    #[serde(default)]
    pub discoverable: Option<bool>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The first owner.
    pub owner: NewUser,
}

/// An organization with its first owner and that owner's token (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct OrgCreated {
    /// The organization.
    pub org: Organization,
    /// Its owner.
    pub owner: User,
    /// The owner's API token; shown only here.
    pub owner_token: String,
}

/// `PUT /v1/admin/orgs/{id}/tier`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierChange {
    /// The new tier.
    pub tier: Tier,
}

/// `POST /v1/admin/orgs/{id}/overrides`: a feature, or a limit with its value (`null` =
/// unlimited), until `expires_at`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    /// A feature to grant.
    #[serde(default)]
    pub feature: Option<Feature>,
    /// A limit to replace.
    #[serde(default)]
    pub limit: Option<Limit>,
    /// The limit's value while the override applies; `null` or absent = unlimited.
    #[serde(default)]
    pub value: Option<u32>,
    /// When it stops applying (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// `PATCH /v1/org`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Listed in the Directory.
    pub discoverable: Option<bool>,
}

/// `GET /v1/me`.
#[derive(Debug, Clone, Serialize)]
pub struct Me {
    /// The caller.
    pub user: User,
    /// The caller's organization.
    pub org: Organization,
}

/// `POST /v1/org/members`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// A new member and their first token (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct MemberCreated {
    /// The member.
    pub user: User,
    /// Their API token; shown only here.
    pub token: String,
}

/// `PATCH /v1/org/members/{id}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The new role.
    pub role: Role,
}

/// `POST /v1/tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A label to recognise it by.
    #[serde(default)]
    pub label: Option<String>,
}

/// A new API token (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct TokenCreated {
    /// The token; shown only here.
    pub token: String,
}

/// A Directory entry.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryEntry {
    /// Id.
    pub id: OrgId,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
}

/// `POST /v1/servers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewServer {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Engine kind (`mirth`, `oie`, …).
    pub kind: String,
    /// Engine version.
    #[serde(default)]
    pub version: Option<String>,
}

/// `PATCH /v1/servers/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerPatch {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Version.
    pub version: Option<String>,
}

/// `POST /v1/servers/{id}/channels`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// The name inside the engine (owner only).
    pub internal_name: String,
    /// The name peers see.
    pub public_name: String,
    /// The description peers see.
    #[serde(default)]
    pub public_description: Option<String>,
    /// Listener or sender.
    pub direction: Direction,
    /// Published to peers (default false).
    #[serde(default)]
    pub published: Option<bool>,
}

/// `PATCH /v1/channels/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    /// Internal name.
    pub internal_name: Option<String>,
    /// Public name.
    pub public_name: Option<String>,
    /// Public description.
    pub public_description: Option<String>,
    /// Published.
    pub published: Option<bool>,
}

/// `POST /v1/peering/requests`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPeeringRequest {
    /// The recipient's id or slug.
    pub to_org: String,
}

/// A peering request with both organizations' names.
#[derive(Debug, Clone, Serialize)]
pub struct PeeringRequestView {
    /// The request.
    #[serde(flatten)]
    pub request: PeeringRequest,
    /// Sender's name.
    pub from_name: String,
    /// Recipient's name.
    pub to_name: String,
}

/// The other party of an agreement as the caller sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRef {
    /// Its id.
    pub id: OrgId,
    /// Its name, or "Self".
    pub name: String,
}

/// An agreement as a party sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementView {
    /// Id.
    pub id: AgreementId,
    /// The other party ("Self" in a self-agreement).
    pub peer: PeerRef,
    /// Whether both parties are the caller's organization.
    pub is_self: bool,
    /// Status.
    pub status: AgreementStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Revoked by.
    pub revoked_by: Option<Principal>,
}

/// `POST /v1/grants`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// The agreement.
    pub agreement_id: AgreementId,
    /// The channel.
    pub channel_id: ChannelId,
}

/// A grant with the channel's public name.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    /// The grant.
    #[serde(flatten)]
    pub grant: Grant,
    /// The channel's public name.
    pub channel_public_name: String,
    /// The channel's direction.
    pub channel_direction: Direction,
}

/// `POST /v1/connections`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewP2p {
    /// The approved grant.
    pub grant_id: GrantId,
    /// Source server.
    pub source_server_id: ServerId,
    /// Target server.
    pub target_server_id: ServerId,
    /// Transport (default `webrtc`).
    #[serde(default)]
    pub mode: Option<ConnectionMode>,
}

/// Admin access level on the wire.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Read-write.
    Rw,
    /// Read-only.
    Ro,
}

/// `POST /v1/connections/admin`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdminOffer {
    /// The agreement.
    pub agreement_id: AgreementId,
    /// The caller's server to be managed.
    pub server_id: ServerId,
    /// `rw` or `ro`.
    pub access: AccessLevel,
}

/// `POST /v1/connections/{id}/accept`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptOffer {
    /// The recipient's server that will manage the target.
    pub server_id: ServerId,
}

/// Connection list filter.
#[derive(Debug, Clone, Default)]
pub struct ConnectionFilter {
    /// Only this status.
    pub status: Option<ConnectionStatus>,
    /// Include terminated, declined and expired ones.
    pub include_terminal: bool,
}

/// A revealed secret (View Secret).
#[derive(Debug, Clone, Serialize)]
pub struct SecretReveal {
    /// Connection.
    pub connection_id: ConnectionId,
    /// The side this view counted for.
    pub side: Side,
    /// The secret.
    pub secret: String,
}

/// The result of a rotation.
#[derive(Debug, Clone, Serialize)]
pub struct Rotated {
    /// Connection.
    pub connection_id: ConnectionId,
    /// The new generation.
    pub generation: u32,
    /// The side it counted for (absent for a platform admin).
    pub side: Option<Side>,
    /// The new secret, for an org member; absent for a platform admin.
    pub secret: Option<String>,
}

/// `POST /v1/gateway/enroll`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The `sbr_…` token from the connector configuration.
    pub registration_token: String,
}

/// What an enrolled gateway gets.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    /// Connection.
    pub connection_id: ConnectionId,
    /// Always `target`.
    pub side: Side,
    /// The secret.
    pub secret: String,
}

/// A connection as its party sees it (re-exported for the API).
pub type ConnectionDetail = ConnectionView;

/// Checks a required text field: non-empty after trimming, at most [`MAX_TEXT_LEN`].
pub fn required(field: &str, value: &str) -> ServiceResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    optional(field, v)
}

/// Checks an optional text field's length.
pub fn optional(field: &str, value: &str) -> ServiceResult<String> {
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {MAX_TEXT_LEN} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Checks an e-mail address's shape (something@something.tld, no spaces).
pub fn email(field: &str, value: &str) -> ServiceResult<String> {
    let v = required(field, value)?;
    let ok = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    });
    if !ok || v.contains(char::is_whitespace) {
        return Err(ServiceError::invalid(field, "must be an e-mail address"));
    }
    Ok(v)
}

/// A status move requested through `POST /v1/connections/{id}/{action}`.
#[derive(Debug, Clone)]
pub enum ConnectionMove {
    /// `activate`.
    Activate,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `terminate`.
    Terminate,
    /// `retry`.
    Retry,
    /// `decline` (admin offer recipient).
    Decline,
    /// `accept` (admin offer recipient, with its managing server).
    Accept(AcceptOffer),
}

/// An ICE server as gateways receive it (the protocol's type: URLs, and TURN credentials
/// only in `welcome`/`ice`).
pub use switchboard_protocol::IceServer;

/// Where gateways reach the broker, for connector configurations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GatewayInfo {
    /// `mqtts://host:port` of the MQTT/TLS listener, once it runs.
    pub mqtt_tls_url: Option<String>,
    /// `wss://host:port/mqtt` of the MQTT/WSS listener, once it runs.
    pub mqtt_wss_url: Option<String>,
    /// PEM of the CA that signs the broker's certificate, when Switchboard knows it.
    pub ca_certificate: Option<String>,
    /// ICE servers without credentials (TURN credentials come in `welcome`).
    pub ice_servers: Vec<IceServer>,
}

/// `GET /v1/connections/{id}/connector-config`: what the target-side plugin needs. Never the
/// secret; a fresh single-use registration token instead.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorConfig {
    /// Connection.
    pub connection_id: ConnectionId,
    /// Always `target`.
    pub side: Side,
    /// Connection kind.
    pub kind: ConnectionKind,
    /// Broker endpoints, CA and ICE servers.
    pub broker: GatewayInfo,
    /// Listener settings: the channel's public name (p2p).
    pub listener: Option<ListenerSettings>,
    /// Exchange at `POST /v1/gateway/enroll` for the secret (single use; dies with rotation).
    pub registration_token: String,
}

/// Listener settings of a connector configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ListenerSettings {
    /// The granted channel's public name.
    pub channel_public_name: String,
    /// Its direction.
    pub direction: Direction,
}

/// One side's view in diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct SideDiagnosis {
    /// `source` or `target`.
    pub side: Side,
    /// Presence facts.
    pub connectivity: SideConnectivity,
    /// Plain-language findings.
    pub findings: Vec<String>,
}

/// `GET /v1/connections/{id}/diagnostics`.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// Connection.
    pub connection_id: ConnectionId,
    /// Status.
    pub status: ConnectionStatus,
    /// Overall connectivity.
    pub connectivity: OverallConnectivity,
    /// When a tunnel was last up.
    pub last_connected_at: Option<DateTime<Utc>>,
    /// The path of the last tunnel.
    pub last_path: Option<TunnelPath>,
    /// The caller's side(s) first, then the peer's.
    pub sides: Vec<SideDiagnosis>,
    /// The most likely cause, in one sentence.
    pub summary: String,
}

pub use super::gateways::{GatewayLockout, SignalBusy};

/// A gateway's CONNECT that [`Switchboard::authenticate_gateway`](crate::Switchboard::authenticate_gateway)
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayLogin {
    /// The connection.
    pub connection_id: ConnectionId,
    /// Which end this gateway is.
    pub side: Side,
    /// The connection's kind (for `welcome`).
    pub kind: ConnectionKind,
    /// Its status at login: `active` or `paused`.
    pub status: ConnectionStatus,
}

/// Why a gateway's CONNECT was refused; the broker maps each to its CONNACK code (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GatewayRefusal {
    /// The client id is not `{connection_id}.{source|target}` or the username differs.
    #[error("malformed client id or username")]
    BadClientId,
    /// No such connection.
    #[error("unknown connection")]
    UnknownConnection,
    /// The secret does not match.
    #[error("bad secret")]
    BadSecret,
    /// The connection is neither `active` nor `paused`.
    #[error("the connection is {}, not active", status.as_str())]
    NotActive {
        /// Its status.
        status: ConnectionStatus,
    },
    /// The connection is terminated.
    #[error("the connection is terminated")]
    Terminated,
    /// Too many failures from this connection id or address.
    #[error("locked out after repeated failures")]
    LockedOut,
    /// The store could not be read; the gateway should retry.
    #[error("temporarily unavailable")]
    Unavailable,
}

impl GatewayRefusal {
    /// The reason recorded in `last_auth_failure`, if this refusal is recorded.
    pub fn reason(self) -> Option<AuthFailureReason> {
        match self {
            GatewayRefusal::UnknownConnection => Some(AuthFailureReason::UnknownConnection),
            GatewayRefusal::BadSecret => Some(AuthFailureReason::BadSecret),
            GatewayRefusal::NotActive { .. } => Some(AuthFailureReason::NotActive),
            GatewayRefusal::Terminated => Some(AuthFailureReason::Terminated),
            GatewayRefusal::LockedOut => Some(AuthFailureReason::LockedOut),
            GatewayRefusal::BadClientId | GatewayRefusal::Unavailable => None,
        }
    }

    /// The `reason` label of `switchboard_gateway_auth_failures_total`.
    pub fn metric_reason(self) -> &'static str {
        match self {
            GatewayRefusal::BadClientId => "bad_client_id",
            GatewayRefusal::UnknownConnection => "unknown_connection",
            GatewayRefusal::BadSecret => "bad_secret",
            GatewayRefusal::NotActive { .. } => "not_active",
            GatewayRefusal::Terminated => "terminated",
            GatewayRefusal::LockedOut => "locked_out",
            GatewayRefusal::Unavailable => "unavailable",
        }
    }
}
