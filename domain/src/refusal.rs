//! The typed refusals every rule can answer with. Each variant is something a caller can act
//! on; the HTTP layer maps each to exactly one status and error code (SPEC §8).

use serde::Serialize;

use crate::tiers::{Feature, Limit, Tier};

/// The kind of thing a [`Refusal::NotFound`] is about, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An organization.
    Organization,
    /// A user.
    User,
    /// A server.
    Server,
    /// A channel.
    Channel,
    /// A peering request.
    PeeringRequest,
    /// An agreement.
    Agreement,
    /// A grant.
    Grant,
    /// A connection.
    Connection,
}

/// Why an action was refused. Nothing is changed when a rule refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The caller can see the thing but its role may not do this (403 `forbidden`).
    #[error("forbidden: {reason}")]
    Forbidden {
        /// What the caller lacks.
        reason: &'static str,
    },
    /// The thing does not exist or the caller may not see it (404 `not_found`).
    #[error("{kind:?} not found")]
    NotFound {
        /// What was looked for.
        kind: EntityKind,
    },
    /// The entity's status does not allow the event (409 `invalid_transition`).
    #[error("cannot {event} when status is {from}")]
    InvalidTransition {
        /// The current status.
        from: &'static str,
        /// The refused event.
        event: &'static str,
    },
    /// A tier limit would be exceeded (403 `tier_limit`).
    #[error("{tier:?} tier allows {max} {limit:?}, the organization has {current}")]
    TierLimit {
        /// Which limit.
        limit: Limit,
        /// The count now.
        current: u32,
        /// The limit in force.
        max: u32,
        /// The tier whose limit it is.
        tier: Tier,
    },
    /// The tier lacks a feature (403 `tier_forbidden`).
    #[error("{feature:?} is not available on the {tier:?} tier")]
    TierForbidden {
        /// The missing feature.
        feature: Feature,
        /// The organization's tier.
        tier: Tier,
        /// The tiers that include the feature.
        available_on: Vec<Tier>,
    },
    /// The action clashes with existing state (409 `conflict`).
    #[error("conflict: {reason}")]
    Conflict {
        /// What clashes.
        reason: &'static str,
    },
    /// A field's value breaks a rule (422 `invalid`).
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The secret cannot be revealed again (410 `secret_unavailable`).
    #[error("the secret is no longer available: rotate to get a new one")]
    SecretUnavailable,
}

/// Shorthand for rule results.
pub type Decision<T> = Result<T, Refusal>;
