//! The HTTP listener as far as the foundation goes: `GET /healthz` (the process answers) and
//! `GET /readyz` (the store answers a read), JSON errors in the SPEC §8 shape for the rest.
//! The admin API (issue: actor core and HTTP API) mounts its routes beside these.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

/// Something that can tell whether the server is ready to serve.
pub trait Readiness: Send + Sync + 'static {
    /// `Ok` when ready, else why not.
    fn check(&self) -> Result<(), String>;
}

/// Serves HTTP on `listener` until shutdown, then lets open requests finish for `grace`.
pub async fn serve(
    listener: TcpListener,
    ready: Arc<dyn Readiness>,
    header_timeout: Duration,
    grace: Duration,
    mut shutdown: Shutdown,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTP accept failed");
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        let _ = stream.set_nodelay(true);
        let ready = ready.clone();
        let service = hyper::service::service_fn(move |req| route(req, ready.clone()));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the grace period were dropped");
    }
}

async fn route(
    req: Request<Incoming>,
    ready: Arc<dyn Readiness>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => json(StatusCode::OK, serde_json::json!({"status": "ok"})),
        (&Method::GET, "/readyz") => match ready.check() {
            Ok(()) => json(StatusCode::OK, serde_json::json!({"status": "ready"})),
            Err(why) => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &why),
        },
        (_, "/healthz" | "/readyz") => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use GET",
        ),
        _ => error(StatusCode::NOT_FOUND, "not_found", "no such route"),
    };
    Ok(response)
}

/// A JSON response.
pub fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An error response in the SPEC §8 shape.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    json(
        status,
        serde_json::json!({"error": {"code": code, "message": message, "details": {}}}),
    )
}
