//! The accept loop and the per-request pipeline: request id and span, routing (404/405),
//! the declared body size (413), bearer authentication (401), reading the body with its limit
//! and timeout, the handler, and finally the response headers, metrics and log line.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::body;
use crate::error::ApiError;
use crate::handlers::{self, Input, Out};
use crate::observe;
use crate::query::Query;
use crate::request_id::{self, REQUEST_ID};
use crate::router::{self, Match};
use crate::routes::{Auth, Verb};
use crate::state::ApiState;

/// Serves the API on `listener` until `shutdown` completes, then stops accepting and gives
/// open connections `state.settings.shutdown_grace` to finish their requests.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let state = Arc::new(state);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Usually out of descriptors: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let conn_state = state.clone();
        let service = hyper::service::service_fn(move |req| {
            let state = conn_state.clone();
            async move { Ok::<_, Infallible>(handle(req, &state, peer).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(state.settings.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("HTTP API stopped accepting; finishing open requests");
    if tokio::time::timeout(state.settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the grace period were dropped");
    }
}

/// Handles one request end to end; never fails (errors become JSON error responses).
async fn handle(
    req: Request<Incoming>,
    state: &ApiState,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let request_id = request_id::from_headers(req.headers());
    let path = req.uri().path().to_owned();
    let verb = Verb::from_method(req.method());
    let matched = router::find(verb, &path);
    let label = matched.label();
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %req.method(),
        route = label,
    );
    async move {
        let mut response = match respond(req, state, peer.ip(), matched).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID.clone(), v);
        }
        observe::finished(label, &path, response.status().as_u16(), started.elapsed());
        response
    }
    .instrument(span)
    .await
}

async fn respond(
    req: Request<Incoming>,
    state: &ApiState,
    peer: std::net::IpAddr,
    matched: Match,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let (route, params) = match matched {
        Match::Found { route, params } => (route, params),
        Match::MethodNotAllowed { allowed } => return Err(ApiError::method_not_allowed(&allowed)),
        Match::NotFound => return Err(ApiError::no_route()),
    };
    let settings = &state.settings;
    body::check_declared_length(req.headers(), settings.max_body_bytes)?;
    let caller = match route.auth {
        Auth::Public => None,
        Auth::Bearer => {
            let token = bearer(req.headers())?;
            Some(state.service.authenticate(token).await?)
        }
    };
    let query = Query::parse(req.uri().query(), route.query)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let body = tokio::time::timeout(
        settings.body_timeout,
        body::read_limited(req.into_body(), settings.max_body_bytes),
    )
    .await
    .map_err(|_| ApiError::request_timeout())??;
    let input = Input {
        state,
        route,
        caller,
        params,
        query,
        body,
        content_type,
        peer,
    };
    let out = handlers::dispatch(&input).await?;
    let status = StatusCode::from_u16(route.status).unwrap_or(StatusCode::OK);
    let mut response = match out {
        Out::Json(bytes) => with_type(bytes, "application/json"),
        Out::Raw(content_type, bytes) => with_type(bytes, content_type),
        Out::Empty => Response::new(Full::new(Bytes::new())),
    };
    *response.status_mut() = status;
    Ok(response)
}

/// The token of `Authorization: Bearer <token>`; anything else is 401.
fn bearer(headers: &hyper::HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <token>`"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed Authorization header"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization header"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::unauthorized(
            "expected `Authorization: Bearer <token>`",
        ));
    }
    Ok(token)
}

fn with_type(bytes: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use hyper::HeaderMap;

    use super::*;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h).unwrap_err().code, "unauthorized");
        for (raw, ok) in [
            ("Bearer sbt_abc", Some("sbt_abc")),
            ("bearer  sbt_abc ", Some("sbt_abc")),
            ("Basic dXNlcg==", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("sbt_abc", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(raw));
            assert_eq!(bearer(&h).ok(), ok, "{raw}");
        }
    }
}
