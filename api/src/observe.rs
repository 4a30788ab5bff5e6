//! Per-request telemetry: the `switchboard_http_requests_total{route,status}` counter, the
//! `switchboard_http_request_duration_seconds{route}` histogram, and one log line per request.
//! The route label is the route table's name (or a fixed label for misses), never the raw
//! path, so cardinality stays bounded. The `Authorization` header is never logged.

use std::time::Duration;

/// Counter of finished requests by route and status.
pub const REQUESTS_TOTAL: &str = "switchboard_http_requests_total";
/// Histogram of request handling time by route.
pub const REQUEST_DURATION: &str = "switchboard_http_request_duration_seconds";

/// Records one finished request (inside its span, so the log line carries the request id).
pub fn finished(route: &'static str, path: &str, status: u16, elapsed: Duration) {
    metrics::counter!(REQUESTS_TOTAL, "route" => route, "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "route" => route).record(elapsed.as_secs_f64());
    let ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, duration_ms = ms, path, "request failed");
    } else {
        tracing::info!(status, duration_ms = ms, path, "request");
    }
}
