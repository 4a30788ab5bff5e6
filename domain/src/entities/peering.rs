//! A peering request from one organization to another (SPEC §4).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgreementId, OrgId, PeeringRequestId};

/// Status of a peering request. Everything but `pending` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeeringStatus {
    /// Waiting for the recipient.
    Pending,
    /// Accepted: an agreement exists.
    Accepted,
    /// Declined by the recipient.
    Declined,
    /// Withdrawn by the sender.
    Withdrawn,
}

impl PeeringStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringStatus::Pending => "pending",
            PeeringStatus::Accepted => "accepted",
            PeeringStatus::Declined => "declined",
            PeeringStatus::Withdrawn => "withdrawn",
        }
    }

    /// Whether no event can change it any more.
    pub fn is_terminal(self) -> bool {
        self != PeeringStatus::Pending
    }
}

/// A peering request (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringRequest {
    /// Its id.
    pub id: PeeringRequestId,
    /// The sender.
    pub from_org: OrgId,
    /// The recipient (equal to `from_org` for self-peering).
    pub to_org: OrgId,
    /// Current status.
    pub status: PeeringStatus,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it left `pending`.
    pub decided_at: Option<DateTime<Utc>>,
    /// The agreement created by accepting it.
    pub agreement_id: Option<AgreementId>,
}
