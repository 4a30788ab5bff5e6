//! Errors on the wire (SPEC §8): `{"error": {"code", "message", "details"}}` with one status
//! per code. [`ApiError::from`] on a [`ServiceError`] is the one place a service error or rule
//! refusal becomes a status and code. Messages never hold a secret: refusals carry only static
//! reasons and ids, and a store failure's detail is logged, never returned.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use switchboard_actors::ServiceError;
use switchboard_domain::{EntityKind, Refusal};
use switchboard_storage::StoreError;

use crate::routes::Verb;

/// An error response about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The machine-readable code (`not_found`, `tier_limit`, …).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Structured facts (`field`, `limit`, …); an empty object when there are none.
    pub details: Value,
    /// Extra response headers (`Retry-After`, `Allow`, `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
            headers: Vec::new(),
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// 400 `bad_request`: the request cannot be read (malformed JSON, wrong content type).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 `unauthorized`, with the `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        e.headers
            .push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        e
    }

    /// 404 `not_found` for a thing of `kind`.
    pub fn not_found(kind: EntityKind) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", kind_words(kind)),
        )
        .with_details(json!({ "kind": kind }))
    }

    /// 404 `not_found` for a path no route has.
    pub fn no_route() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// 405 `method_not_allowed`, with `Allow` listing the methods the path serves.
    pub fn method_not_allowed(allowed: &[Verb]) -> ApiError {
        let list: Vec<&str> = allowed.iter().map(|v| v.as_str()).collect();
        let list = list.join(", ");
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("this path serves {list}"),
        )
        .with_details(json!({ "allowed": allowed.iter().map(|v| v.as_str()).collect::<Vec<_>>() }));
        if let Ok(v) = HeaderValue::from_str(&list) {
            e.headers.push((header::ALLOW, v));
        }
        e
    }

    /// 408 `request_timeout`: the body did not arrive in time.
    pub fn request_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        )
    }

    /// 413 `too_large`: the body exceeds `limit` bytes.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body exceeds {limit} bytes"),
        )
        .with_details(json!({ "max_bytes": limit }))
    }

    /// 422 `invalid`: a field's value (or a query parameter) is not acceptable.
    pub fn invalid(field: Option<&str>, message: impl Into<String>) -> ApiError {
        let details = match field {
            Some(f) => json!({ "field": f }),
            None => json!({}),
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_details(details)
    }

    /// 500 `internal`: something failed inside; the cause is in the logs (with the request
    /// id), never in the response.
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request id identifies it in the server logs",
        )
    }

    /// 503 `unavailable`, asking to retry in a second.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
        e.headers
            .push((header::RETRY_AFTER, HeaderValue::from_static("1")));
        e
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
            }
        })
    }

    /// The response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.body().to_string())));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    /// The one mapping from service errors to the wire (SPEC §8).
    fn from(err: ServiceError) -> ApiError {
        match err {
            ServiceError::Refused(refusal) => from_refusal(refusal),
            ServiceError::Unauthorized(why) => ApiError::unauthorized(why),
            ServiceError::RateLimited { retry_after } => {
                let secs = retry_after_secs(retry_after);
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many attempts; retry in {secs} s"),
                )
                .with_details(json!({ "retry_after": secs }));
                e.headers
                    .push((header::RETRY_AFTER, HeaderValue::from(secs)));
                e
            }
            ServiceError::Invalid { field, problem } => {
                ApiError::invalid(Some(&field), format!("{field}: {problem}"))
                    .with_details(json!({ "field": field, "problem": problem }))
            }
            ServiceError::Unavailable(why) => {
                tracing::warn!(reason = why, "service unavailable");
                ApiError::unavailable("the service is busy; retry shortly")
            }
            // A unique index clash (slug, e-mail, pending request or active agreement for a
            // pair) is something the client can act on; `what` names the index, never a value.
            ServiceError::Store(StoreError::Conflict { what }) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            )
            .with_details(json!({ "what": what })),
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        from_refusal(refusal)
    }
}

/// A rule's refusal on the wire.
fn from_refusal(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Forbidden { reason } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason),
        Refusal::NotFound { kind } => ApiError::not_found(kind),
        Refusal::InvalidTransition { from, event } => ApiError::new(
            StatusCode::CONFLICT,
            "invalid_transition",
            format!("cannot {event} when status is {from}"),
        )
        .with_details(json!({ "from": from, "event": event })),
        Refusal::TierLimit {
            limit,
            current,
            max,
            tier,
        } => ApiError::new(
            StatusCode::FORBIDDEN,
            "tier_limit",
            format!(
                "the {} tier allows {max} {}; the organization has {current}",
                wire(&tier),
                wire(&limit).replace('_', " "),
            ),
        )
        .with_details(json!({ "limit": limit, "current": current, "max": max, "tier": tier })),
        Refusal::TierForbidden {
            feature,
            tier,
            available_on,
        } => ApiError::new(
            StatusCode::FORBIDDEN,
            "tier_forbidden",
            format!(
                "{} is not available on the {} tier; contact support",
                wire(&feature).replace('_', " "),
                wire(&tier),
            ),
        )
        .with_details(json!({ "feature": feature, "tier": tier, "available_on": available_on })),
        Refusal::Conflict { reason } => ApiError::new(StatusCode::CONFLICT, "conflict", reason),
        Refusal::Invalid { field, problem } => {
            ApiError::invalid(Some(field), format!("{field}: {problem}"))
                .with_details(json!({ "field": field, "problem": problem }))
        }
        Refusal::SecretUnavailable => ApiError::new(
            StatusCode::GONE,
            "secret_unavailable",
            "the secret is no longer available: rotate to get a new one",
        ),
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

/// The wire name of a snake_case enum value.
fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::from("?"),
    }
}

/// "peering request" for `PeeringRequest`.
fn kind_words(kind: EntityKind) -> String {
    wire(&kind).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use switchboard_domain::tiers::{Feature, Limit, Tier};

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(59)), 59);
    }

    #[test]
    fn every_refusal_has_its_status_and_code() {
        let cases: Vec<(Refusal, u16, &str)> = vec![
            (Refusal::Forbidden { reason: "r" }, 403, "forbidden"),
            (
                Refusal::NotFound {
                    kind: EntityKind::PeeringRequest,
                },
                404,
                "not_found",
            ),
            (
                Refusal::InvalidTransition {
                    from: "ready",
                    event: "pause",
                },
                409,
                "invalid_transition",
            ),
            (
                Refusal::TierLimit {
                    limit: Limit::ChannelsPerServer,
                    current: 5,
                    max: 5,
                    tier: Tier::Free,
                },
                403,
                "tier_limit",
            ),
            (
                Refusal::TierForbidden {
                    feature: Feature::SecretRotation,
                    tier: Tier::Free,
                    available_on: vec![Tier::Standard, Tier::Enterprise],
                },
                403,
                "tier_forbidden",
            ),
            (Refusal::Conflict { reason: "c" }, 409, "conflict"),
            (
                Refusal::Invalid {
                    field: "name",
                    problem: "p",
                },
                422,
                "invalid",
            ),
            (Refusal::SecretUnavailable, 410, "secret_unavailable"),
        ];
        for (refusal, status, code) in cases {
            let e = ApiError::from(ServiceError::Refused(refusal));
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{e:?}");
        }
    }

    #[test]
    fn details_name_the_facts() {
        let e = ApiError::from(Refusal::TierLimit {
            limit: Limit::ChannelsPerServer,
            current: 5,
            max: 5,
            tier: Tier::Free,
        });
        assert_eq!(
            e.details,
            json!({"limit": "channels_per_server", "current": 5, "max": 5, "tier": "free"})
        );
        assert_eq!(
            e.message,
            "the free tier allows 5 channels per server; the organization has 5"
        );
        let e = ApiError::from(Refusal::TierForbidden {
            feature: Feature::AdminRw,
            tier: Tier::Free,
            available_on: vec![Tier::Standard],
        });
        assert_eq!(
            e.details,
            json!({"feature": "admin_rw", "tier": "free", "available_on": ["standard"]})
        );
        let e = ApiError::from(Refusal::InvalidTransition {
            from: "ready",
            event: "pause",
        });
        assert_eq!(e.details, json!({"from": "ready", "event": "pause"}));
        let e = ApiError::from(ServiceError::invalid(
            "owner.email",
            "must be an e-mail address",
        ));
        assert_eq!(e.details["field"], "owner.email");
        let e = ApiError::from(Refusal::NotFound {
            kind: EntityKind::PeeringRequest,
        });
        assert_eq!(e.message, "peering request not found");
    }

    #[test]
    fn rate_limits_and_auth_set_their_headers() {
        let e = ApiError::from(ServiceError::RateLimited {
            retry_after: Duration::from_millis(2500),
        });
        assert_eq!((e.status.as_u16(), e.code), (429, "rate_limited"));
        let r = e.into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
        let r = ApiError::from(ServiceError::Unauthorized("invalid token")).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let e = ApiError::from(ServiceError::Unavailable("mailbox full"));
        assert_eq!((e.status.as_u16(), e.code), (503, "unavailable"));
    }

    #[test]
    fn store_failures_are_generic_but_index_clashes_are_conflicts() {
        let e = ApiError::from(ServiceError::Store(StoreError::Corrupt {
            what: "connection",
            key: "conn_x".to_owned(),
            detail: "bad bytes".to_owned(),
        }));
        assert_eq!((e.status.as_u16(), e.code), (500, "internal"));
        assert!(!e.message.contains("conn_x") && !e.message.contains("bad bytes"));
        let e = ApiError::from(ServiceError::Store(StoreError::Conflict {
            what: "organization slug",
        }));
        assert_eq!((e.status.as_u16(), e.code), (409, "conflict"));
        assert_eq!(e.message, "organization slug already exists");
    }
}
