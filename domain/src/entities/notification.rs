//! A notification to an organization about something that concerns it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{NotificationId, OrgId};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A peering request arrived.
    PeeringRequestReceived,
    /// A sent peering request was accepted.
    PeeringRequestAccepted,
    /// A sent peering request was declined.
    PeeringRequestDeclined,
    /// A received peering request was withdrawn.
    PeeringRequestWithdrawn,
    /// An agreement was revoked.
    AgreementRevoked,
    /// A channel grant was offered to the organization.
    GrantOffered,
    /// A peer requested access to the organization's channel.
    GrantRequested,
    /// A grant was approved.
    GrantApproved,
    /// A grant was denied.
    GrantDenied,
    /// A grant was revoked.
    GrantRevoked,
    /// An admin connection was offered to the organization.
    AdminOfferReceived,
    /// A connection's status changed (or a connection was provisioned).
    ConnectionStatusChanged,
    /// A connection's secret was rotated; gateways need the new one.
    SecretRotated,
}

/// A notification (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// The organization notified.
    pub org_id: OrgId,
    /// When it was raised.
    pub at: DateTime<Utc>,
    /// What it is about.
    pub kind: NotificationKind,
    /// Human-readable text; never a secret.
    pub text: String,
    /// The id of the thing it is about.
    pub target: String,
    /// Whether the organization has read it.
    pub read: bool,
}
