//! A grant: permission for one peer to use one channel inside an agreement (SPEC §5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::caller::Principal;
use crate::ids::{AgreementId, ChannelId, GrantId, OrgId};

/// Status of a grant; `denied` and `revoked` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Offered by the channel owner, waiting for the grantee.
    Pending,
    /// Requested by the peer, waiting for the channel owner.
    Requested,
    /// In force: connections may be provisioned from it.
    Approved,
    /// Refused by the side that had to decide.
    Denied,
    /// Revoked by the channel owner or ended with the agreement.
    Revoked,
}

impl GrantStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Pending => "pending",
            GrantStatus::Requested => "requested",
            GrantStatus::Approved => "approved",
            GrantStatus::Denied => "denied",
            GrantStatus::Revoked => "revoked",
        }
    }

    /// Whether no event can change it any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, GrantStatus::Denied | GrantStatus::Revoked)
    }
}

/// How a grant came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantPath {
    /// The channel owner offered it; the grantee decides.
    Offer,
    /// The peer requested it; the channel owner decides.
    Request,
}

/// A grant (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Its id.
    pub id: GrantId,
    /// The agreement it lives in.
    pub agreement_id: AgreementId,
    /// The granted channel.
    pub channel_id: ChannelId,
    /// The organization owning the channel.
    pub owner_org: OrgId,
    /// The organization allowed to use the channel.
    pub grantee_org: OrgId,
    /// Current status.
    pub status: GrantStatus,
    /// Offer or request.
    pub path: GrantPath,
    /// The user who offered or requested it.
    pub initiated_by: Principal,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was approved, denied or revoked.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Grant {
    /// The organization that must approve or deny it.
    pub fn decider(&self) -> &OrgId {
        match self.path {
            GrantPath::Offer => &self.grantee_org,
            GrantPath::Request => &self.owner_org,
        }
    }
}
