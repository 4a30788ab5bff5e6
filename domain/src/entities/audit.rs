//! An audit event: who did what to which thing, with what outcome. Never holds a secret; the
//! storage layer chains events with a keyed hash so edits and removals are detectable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::caller::Principal;
use crate::ids::{EventId, OrgId};

/// Whether the audited action happened or was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The action was carried out.
    Success,
    /// The action was refused.
    Refused,
}

/// An audit event (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id.
    pub id: EventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: Principal,
    /// The organizations concerned; each may read the event.
    pub orgs: Vec<OrgId>,
    /// What was done, e.g. `agreement.revoke`.
    pub action: String,
    /// The id of the thing acted on.
    pub target: String,
    /// Success or refusal.
    pub outcome: AuditOutcome,
    /// Extra facts (statuses, reasons); never a secret or token.
    pub details: serde_json::Value,
}
