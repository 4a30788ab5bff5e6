//! The accept loops: bind the TLS (and optional plain TCP) listener, set TCP_NODELAY, cap
//! concurrent sessions with a semaphore, and hand each socket to its own task, which runs the
//! TLS handshake and reads the CONNECT under the handshake timeout, so a silent or slow
//! client never delays anyone else.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_actors::Switchboard;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::admission::Admission;
use crate::error::BrokerError;
use crate::registry::LiveSessions;
use crate::session::{self, Shared};
use crate::settings::BrokerSettings;

/// The addresses the broker bound (port 0 becomes an ephemeral port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// MQTT over TLS.
    pub tls: SocketAddr,
    /// Plain MQTT, if configured.
    pub tcp: Option<SocketAddr>,
}

/// The broker.
pub struct Broker;

impl Broker {
    /// Binds the listeners and serves until `shutdown` resolves; then stops accepting and
    /// closes every live session. `sessions` is the registry whose [`crate::BrokerSink`] the
    /// service was built with.
    pub async fn start(
        service: Switchboard,
        sessions: LiveSessions,
        settings: BrokerSettings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(Bound, JoinHandle<()>), BrokerError> {
        let tls_listener = bind(settings.tls_listen, "MQTT/TLS").await?;
        let tcp_listener = match settings.tcp_listen {
            Some(addr) => Some(bind(addr, "MQTT/TCP").await?),
            None => None,
        };
        let bound = Bound {
            tls: local(&tls_listener, settings.tls_listen),
            tcp: tcp_listener
                .as_ref()
                .map(|l| local(l, settings.tcp_listen.unwrap_or(settings.tls_listen))),
        };
        let acceptor = TlsAcceptor::from(settings.tls.clone());
        // Caps live sessions across both listeners; a permit lives as long as its task.
        let permits = Arc::new(Semaphore::new(settings.max_connections));
        let shared = Shared {
            service,
            sessions: sessions.clone(),
            admission: Arc::new(Admission::new(settings.connect_attempts_per_ip_per_minute)),
            settings: Arc::new(settings),
        };
        let task = tokio::spawn(async move {
            let tls_loop = accept_loop(
                tls_listener,
                Some(acceptor),
                shared.clone(),
                permits.clone(),
            );
            let tcp_loop = async {
                match tcp_listener {
                    Some(l) => accept_loop(l, None, shared.clone(), permits.clone()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown => {}
                () = tls_loop => {}
                () = tcp_loop => {}
            }
            sessions.shutdown_all();
            // Let sessions deliver the notice and close before the process goes away.
            let drained = tokio::time::timeout(SHUTDOWN_DRAIN, async {
                while !sessions.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            })
            .await;
            if drained.is_err() {
                tracing::warn!(
                    left = sessions.len(),
                    "gateway sessions still open after the drain period"
                );
            }
            tracing::info!("MQTT broker stopped accepting; gateways told and disconnected");
        });
        tracing::info!(tls = %bound.tls, tcp = ?bound.tcp, "MQTT broker listening");
        Ok((bound, task))
    }
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, BrokerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BrokerError::Bind { what, addr, source })
}

fn local(listener: &TcpListener, fallback: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(fallback)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Shared,
    permits: Arc<Semaphore>,
) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: pause instead of spinning.
                tracing::warn!(error = %e, "MQTT accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        if !shared.admission.admit(peer.ip()) {
            metrics::counter!("switchboard_broker_rejected_connections_total", "reason" => "rate")
                .increment(1);
            tracing::info!(%peer, "too many connection attempts from this address; closed");
            continue;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("switchboard_broker_rejected_connections_total", "reason" => "cap")
                .increment(1);
            tracing::warn!(%peer, "MQTT connection cap reached; connection dropped");
            continue;
        };
        metrics::counter!("switchboard_broker_accepted_connections_total").increment(1);
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = socket.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
            }
            match tls {
                Some(acceptor) => {
                    let timeout = shared.settings.handshake_timeout;
                    match tokio::time::timeout(timeout, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => handle(shared, stream, peer).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => handle::<TcpStream>(shared, socket, peer).await,
            }
        });
    }
}

/// How long shutdown waits for sessions to deliver the `shutdown` notice and close.
pub const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Pause after a failed `accept` (e.g. EMFILE) before trying again.
pub const ACCEPT_ERROR_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Reads the CONNECT under the handshake timeout, then serves the session.
async fn handle<S>(shared: Shared, mut stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let timeout = shared.settings.handshake_timeout;
    let max = shared.settings.max_packet();
    match tokio::time::timeout(timeout, session::read_connect(&mut stream, max)).await {
        Ok(Ok(hello)) => session::serve(shared, stream, hello, peer).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "no valid CONNECT"),
        Err(_) => tracing::debug!(%peer, "CONNECT timed out"),
    }
}
