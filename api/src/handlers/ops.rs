//! Operations: liveness, readiness, Prometheus metrics and the OpenAPI document.

use bytes::Bytes;
use serde_json::json;

use super::{Handled, Input, Out};
use crate::error::ApiError;
use crate::openapi;

/// `GET /healthz`: the process answers.
pub(super) fn healthz(_i: &Input<'_>) -> Handled {
    Out::json(&json!({ "status": "ok" }))
}

/// `GET /readyz`: the readiness check passes (the store answers a read).
pub(super) fn readyz(i: &Input<'_>) -> Handled {
    match (i.state.ready)() {
        Ok(()) => Out::json(&json!({ "status": "ready" })),
        Err(why) => {
            tracing::warn!(reason = %why, "not ready");
            Err(ApiError::unavailable(format!("not ready: {why}")))
        }
    }
}

/// `GET /metrics`: the Prometheus exposition, when the binary installed a recorder.
pub(super) fn metrics(i: &Input<'_>) -> Handled {
    match &i.state.metrics {
        Some(handle) => Ok(Out::Raw(
            "text/plain; version=0.0.4; charset=utf-8",
            Bytes::from(handle.render()),
        )),
        None => Err(ApiError::new(
            hyper::StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not enabled",
        )),
    }
}

/// `GET /v1/openapi.json`.
pub(super) fn openapi(_i: &Input<'_>) -> Handled {
    Ok(Out::Json(openapi::document_bytes()))
}
