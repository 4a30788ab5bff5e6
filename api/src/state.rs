//! What the API needs while it runs: the service, the Prometheus handle, its limits and
//! timeouts, and the readiness check.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_actors::service::Switchboard;

/// Largest request body accepted by default (1 MiB; `http.max_body_bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Time a client gets to send a request's headers before the connection is closed.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a client gets to send a request's body once its headers arrived (408 after it).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Time open requests get to finish after shutdown begins.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The readiness check behind `GET /readyz`: `Ok` when ready to serve, else why not.
pub type ReadyCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Limits and timeouts of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// Largest request body; bigger ones get `413 too_large` without being read to the end.
    pub max_body_bytes: usize,
    /// hyper's header read timeout: a client that trickles headers (slowloris) is dropped.
    pub header_timeout: Duration,
    /// Time to receive the body after the headers; a slower body gets `408`.
    pub body_timeout: Duration,
    /// After shutdown begins, open connections get this long to finish before being dropped.
    pub shutdown_grace: Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl ApiSettings {
    /// The settings from configuration: `http.max_body_bytes`, `http.request_timeout_secs`
    /// (for headers and body alike) and `timeouts.shutdown_grace_secs`.
    pub fn from_config(config: &switchboard_config::Config) -> Self {
        let request_timeout = config.http.request_timeout();
        ApiSettings {
            max_body_bytes: usize::try_from(config.http.max_body_bytes).unwrap_or(usize::MAX),
            header_timeout: request_timeout,
            body_timeout: request_timeout,
            shutdown_grace: Duration::from_secs(u64::from(config.timeouts.shutdown_grace_secs)),
        }
    }
}

/// Everything the request handlers share. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// The service every route calls.
    pub service: Switchboard,
    /// Renders `GET /metrics`; `None` when the binary installed no Prometheus recorder (404).
    pub metrics: Option<PrometheusHandle>,
    /// Limits and timeouts.
    pub settings: ApiSettings,
    /// Behind `GET /readyz`.
    pub ready: ReadyCheck,
}

impl ApiState {
    /// State with default settings, no metrics and an always-ready check.
    pub fn new(service: Switchboard) -> Self {
        ApiState {
            service,
            metrics: None,
            settings: ApiSettings::default(),
            ready: Arc::new(|| Ok(())),
        }
    }
}
