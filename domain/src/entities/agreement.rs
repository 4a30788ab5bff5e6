//! A peering agreement between two organizations, or an organization and itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::caller::Principal;
use crate::ids::{AgreementId, OrgId};

/// Status of an agreement; `revoked` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// In force.
    Active,
    /// Revoked by a party; cannot be undone.
    Revoked,
}

impl AgreementStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Active => "active",
            AgreementStatus::Revoked => "revoked",
        }
    }
}

/// An agreement (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Its id.
    pub id: AgreementId,
    /// One party (the request's sender).
    pub party_a: OrgId,
    /// The other party (the recipient); equal to `party_a` in a self-agreement.
    pub party_b: OrgId,
    /// Current status.
    pub status: AgreementStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<Principal>,
}

impl Agreement {
    /// Whether both parties are the same organization.
    pub fn is_self(&self) -> bool {
        self.party_a == self.party_b
    }

    /// Whether `org` is a party.
    pub fn has_party(&self, org: &OrgId) -> bool {
        &self.party_a == org || &self.party_b == org
    }

    /// The party that is not `org` (itself in a self-agreement); `None` if `org` is no party.
    pub fn other_party(&self, org: &OrgId) -> Option<&OrgId> {
        if &self.party_a == org {
            Some(&self.party_b)
        } else if &self.party_b == org {
            Some(&self.party_a)
        } else {
            None
        }
    }

    /// The distinct parties (one for a self-agreement).
    pub fn parties(&self) -> Vec<OrgId> {
        if self.is_self() {
            vec![self.party_a.clone()]
        } else {
            vec![self.party_a.clone(), self.party_b.clone()]
        }
    }
}
