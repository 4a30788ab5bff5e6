//! The one error type every service operation returns. Each variant is something a client can
//! act on; the HTTP layer maps each to exactly one status and code (SPEC §8) in one place.

use std::time::Duration;

use switchboard_domain::Refusal;
use switchboard_storage::StoreError;

/// Why a service operation did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A business rule refused (403/404/409/410/422 by variant).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No valid credentials (401 `unauthorized`).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A rate limit is exhausted (429 `rate_limited` with `Retry-After`).
    #[error("rate limited: retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long until one more attempt is allowed.
        retry_after: Duration,
    },
    /// A request field failed validation before any rule ran (422 `invalid`).
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// An actor's mailbox is full or it stopped (503): back off and retry.
    #[error("overloaded: {0}")]
    Unavailable(&'static str),
    /// The store failed (500); the message never holds a secret.
    #[error("storage error: {0}")]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// Shorthand for a field validation error.
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;
