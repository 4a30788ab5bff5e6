//! A connection between two servers: its kind, status, secret bookkeeping and connectivity
//! (SPEC §6–§7). The secret itself is never here: storage keeps its verifier and sealed copy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgreementId, ConnectionId, GrantId, OrgId, ServerId};

/// What a connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    /// Channel data from source to target.
    P2p,
    /// Remote read-write management of the target server.
    AdminRw,
    /// Remote read-only management of the target server.
    AdminRo,
}

impl ConnectionKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::P2p => "p2p",
            ConnectionKind::AdminRw => "admin_rw",
            ConnectionKind::AdminRo => "admin_ro",
        }
    }

    /// Whether this is an admin connection.
    pub fn is_admin(self) -> bool {
        self != ConnectionKind::P2p
    }
}

/// How the gateways reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionMode {
    /// WebRTC DataChannel negotiated through the broker (default).
    #[default]
    Webrtc,
    /// TLS 1.3 over direct TCP between the gateways (p2p only).
    DirectMtls,
}

/// Status of a connection (SPEC §6). `terminated`, `declined` and `expired` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Provisioned, not yet activated.
    Ready,
    /// Gateways may negotiate tunnels.
    Active,
    /// New signaling sessions are refused; existing tunnels stay up.
    Paused,
    /// An admin connection offered, waiting for the recipient.
    Offered,
    /// The system detected an error; `retry` returns it to `ready`.
    Failed,
    /// Ended for good; credentials stop working.
    Terminated,
    /// An admin offer the recipient declined.
    Declined,
    /// An admin offer not accepted in time.
    Expired,
}

impl ConnectionStatus {
    /// Every status, for exhaustive tests.
    pub const ALL: [ConnectionStatus; 8] = [
        ConnectionStatus::Ready,
        ConnectionStatus::Active,
        ConnectionStatus::Paused,
        ConnectionStatus::Offered,
        ConnectionStatus::Failed,
        ConnectionStatus::Terminated,
        ConnectionStatus::Declined,
        ConnectionStatus::Expired,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Ready => "ready",
            ConnectionStatus::Active => "active",
            ConnectionStatus::Paused => "paused",
            ConnectionStatus::Offered => "offered",
            ConnectionStatus::Failed => "failed",
            ConnectionStatus::Terminated => "terminated",
            ConnectionStatus::Declined => "declined",
            ConnectionStatus::Expired => "expired",
        }
    }

    /// Whether no event can change it any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ConnectionStatus::Terminated | ConnectionStatus::Declined | ConnectionStatus::Expired
        )
    }

    /// Whether gateways may authenticate (SPEC §9: only `active` and `paused`).
    pub fn accepts_gateways(self) -> bool {
        matches!(self, ConnectionStatus::Active | ConnectionStatus::Paused)
    }
}

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The source server's gateway (the WebRTC offerer).
    Source,
    /// The target server's gateway (the WebRTC answerer).
    Target,
}

impl Side {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }

    /// The other end.
    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Target,
            Side::Target => Side::Source,
        }
    }
}

/// Bookkeeping of the current secret; the secret itself lives in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SecretState {
    /// Incremented by every rotation; 0 for the secret issued at creation.
    pub generation: u32,
    /// Whether the source side has viewed this generation.
    pub source_viewed: bool,
    /// Whether the target side has viewed this generation.
    pub target_viewed: bool,
    /// Whether the plaintext is still kept (sealed) so it can be revealed.
    pub plaintext_kept: bool,
}

impl SecretState {
    /// A fresh, never-viewed secret whose plaintext is kept.
    pub fn fresh(generation: u32) -> Self {
        SecretState {
            generation,
            source_viewed: false,
            target_viewed: false,
            plaintext_kept: true,
        }
    }

    /// Whether a side has viewed this generation.
    pub fn viewed(&self, side: Side) -> bool {
        match side {
            Side::Source => self.source_viewed,
            Side::Target => self.target_viewed,
        }
    }

    /// Marks a side as having viewed this generation.
    pub fn mark_viewed(&mut self, side: Side) {
        match side {
            Side::Source => self.source_viewed = true,
            Side::Target => self.target_viewed = true,
        }
    }
}

/// Why a gateway's CONNECT was refused, as shown in diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailureReason {
    /// No such connection.
    UnknownConnection,
    /// The secret did not match.
    BadSecret,
    /// The connection is not active or paused.
    NotActive,
    /// The connection is terminated.
    Terminated,
    /// Too many failures; locked out for a while.
    LockedOut,
}

/// The last refused CONNECT of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthFailure {
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: AuthFailureReason,
}

/// Presence of one side's gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SideConnectivity {
    /// Whether the gateway holds its `rx` subscription now.
    pub online: bool,
    /// When it last came online.
    pub last_connected_at: Option<DateTime<Utc>>,
    /// When it last went away.
    pub last_disconnected_at: Option<DateTime<Utc>>,
    /// The last refused CONNECT.
    pub last_auth_failure: Option<AuthFailure>,
}

/// Overall tunnel state (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverallConnectivity {
    /// A tunnel is up now.
    Connected,
    /// A tunnel was up before, not now.
    Disconnected,
    /// No tunnel was ever established.
    #[default]
    NeverConnected,
}

/// Which path a tunnel took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelPath {
    /// Host or server-reflexive candidates, no relay.
    Direct,
    /// Through a TURN relay.
    Relay,
}

/// Connectivity of a connection: separate from its status, fed by the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Connectivity {
    /// The source side.
    pub source: SideConnectivity,
    /// The target side.
    pub target: SideConnectivity,
    /// The overall tunnel state.
    pub state: OverallConnectivity,
    /// When a tunnel was last up.
    pub last_connected_at: Option<DateTime<Utc>>,
    /// The path of the last tunnel.
    pub last_path: Option<TunnelPath>,
}

impl Connectivity {
    /// One side's presence.
    pub fn side(&self, side: Side) -> &SideConnectivity {
        match side {
            Side::Source => &self.source,
            Side::Target => &self.target,
        }
    }

    /// One side's presence, mutably.
    pub fn side_mut(&mut self, side: Side) -> &mut SideConnectivity {
        match side {
            Side::Source => &mut self.source,
            Side::Target => &mut self.target,
        }
    }
}

/// A connection (SPEC §1, §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Its id.
    pub id: ConnectionId,
    /// P2P or admin.
    pub kind: ConnectionKind,
    /// WebRTC or direct mTLS.
    pub mode: ConnectionMode,
    /// The agreement it derives from.
    pub agreement_id: AgreementId,
    /// The grant it was provisioned from (p2p only).
    pub grant_id: Option<GrantId>,
    /// The source (managing end for admin); `None` while an admin offer is open.
    pub source_server_id: Option<ServerId>,
    /// The target (managed end for admin).
    pub target_server_id: ServerId,
    /// The organization owning the source server (for an open admin offer: the recipient).
    pub source_org: OrgId,
    /// The organization owning the target server.
    pub target_org: OrgId,
    /// Current status.
    pub status: ConnectionStatus,
    /// Why it has this status (failure reason, `agreement_revoked`, …).
    pub status_reason: Option<String>,
    /// Secret bookkeeping.
    pub secret: SecretState,
    /// Presence and tunnel state.
    pub connectivity: Connectivity,
    /// When an open admin offer expires.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    /// Whether `org` is a party (owns, or is offered, one of its ends).
    pub fn has_party(&self, org: &OrgId) -> bool {
        &self.source_org == org || &self.target_org == org
    }

    /// The sides `org` owns: none, one, or both in a self-agreement.
    pub fn sides_of(&self, org: &OrgId) -> Vec<Side> {
        let mut sides = Vec::new();
        if &self.source_org == org {
            sides.push(Side::Source);
        }
        if &self.target_org == org {
            sides.push(Side::Target);
        }
        sides
    }

    /// The distinct party organizations.
    pub fn parties(&self) -> Vec<OrgId> {
        if self.source_org == self.target_org {
            vec![self.source_org.clone()]
        } else {
            vec![self.source_org.clone(), self.target_org.clone()]
        }
    }
}
