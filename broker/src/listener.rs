//! The accept loops: bind the TLS listener (and the optional WebSocket/TLS and plain TCP
//! ones), set TCP_NODELAY, cap concurrent sessions across all of them with one semaphore, and
//! hand each socket to its own task, which runs the TLS (and WebSocket) handshake and reads
//! the CONNECT under the handshake timeout, so a silent or slow client never delays anyone
//! else.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_actors::Switchboard;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::admission::Admission;
use crate::error::BrokerError;
use crate::registry::LiveSessions;
use crate::session::{self, Shared};
use crate::settings::BrokerSettings;
use crate::websocket;

/// The addresses the broker bound (port 0 becomes an ephemeral port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// MQTT over TLS.
    pub tls: SocketAddr,
    /// MQTT over WebSocket/TLS (path `/mqtt`), if configured.
    pub wss: Option<SocketAddr>,
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
        let wss_listener = match settings.wss_listen {
            Some(addr) => Some(bind(addr, "MQTT/WSS").await?),
            None => None,
        };
        let tcp_listener = match settings.tcp_listen {
            Some(addr) => Some(bind(addr, "MQTT/TCP").await?),
            None => None,
        };
        let bound = Bound {
            tls: local(&tls_listener, settings.tls_listen),
            wss: wss_listener
                .as_ref()
                .map(|l| local(l, settings.wss_listen.unwrap_or(settings.tls_listen))),
            tcp: tcp_listener
                .as_ref()
                .map(|l| local(l, settings.tcp_listen.unwrap_or(settings.tls_listen))),
        };
        let acceptor = TlsAcceptor::from(settings.tls.clone());
        // Caps live sessions across all listeners; a permit lives as long as its task.
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
                Transport::Tls(acceptor.clone()),
                shared.clone(),
                permits.clone(),
            );
            let wss_loop = async {
                match wss_listener {
                    Some(l) => {
                        let transport = Transport::Wss(acceptor.clone());
                        accept_loop(l, transport, shared.clone(), permits.clone()).await
                    }
                    None => std::future::pending().await,
                }
            };
            let tcp_loop = async {
                match tcp_listener {
                    Some(l) => {
                        accept_loop(l, Transport::Tcp, shared.clone(), permits.clone()).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown => {}
                () = tls_loop => {}
                () = wss_loop => {}
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
        tracing::info!(tls = %bound.tls, wss = ?bound.wss, tcp = ?bound.tcp, "MQTT broker listening");
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

/// How a listener's sockets become an MQTT byte stream.
#[derive(Clone)]
enum Transport {
    /// MQTT over TLS.
    Tls(TlsAcceptor),
    /// MQTT over WebSocket over TLS.
    Wss(TlsAcceptor),
    /// Plain MQTT.
    Tcp,
}

impl Transport {
    /// The `transport` label of metrics and log spans.
    fn label(&self) -> &'static str {
        match self {
            Transport::Tls(_) => "tls",
            Transport::Wss(_) => "wss",
            Transport::Tcp => "tcp",
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
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
        let label = transport.label();
        metrics::counter!("switchboard_broker_accepted_connections_total", "transport" => label)
            .increment(1);
        let (transport, shared) = (transport.clone(), shared.clone());
        let span = tracing::info_span!("mqtt", transport = label);
        tokio::spawn(
            async move {
                let _permit = permit;
                if let Err(e) = socket.set_nodelay(true) {
                    tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
                }
                serve_socket(transport, shared, socket, peer).await;
            }
            .instrument(span),
        );
    }
}

/// Runs the transport's handshakes under the handshake timeout, then [`handle`].
async fn serve_socket(transport: Transport, shared: Shared, socket: TcpStream, peer: SocketAddr) {
    let timeout = shared.settings.handshake_timeout;
    match transport {
        Transport::Tls(acceptor) => {
            match tokio::time::timeout(timeout, acceptor.accept(socket)).await {
                Ok(Ok(stream)) => handle(shared, stream, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
        Transport::Wss(acceptor) => {
            let max_packet = shared.settings.max_packet();
            let handshakes = async {
                let tls = acceptor
                    .accept(socket)
                    .await
                    .map_err(websocket::HandshakeError::Tls)?;
                websocket::accept(tls, max_packet).await
            };
            match tokio::time::timeout(timeout, handshakes).await {
                Ok(Ok(stream)) => handle(shared, stream, peer).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "WebSocket/TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "WebSocket/TLS handshake timed out"),
            }
        }
        Transport::Tcp => handle(shared, socket, peer).await,
    }
}

/// How long shutdown waits for sessions to deliver the `shutdown` notice and close.
pub const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a connection refused before its CONNECT may take to close.
pub const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

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
        Ok(Ok(hello)) => return session::serve(shared, stream, hello, peer).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "no valid CONNECT"),
        Err(_) => tracing::debug!(%peer, "CONNECT timed out"),
    }
    // Say goodbye properly (TLS close_notify; over WebSocket a close frame, with code 1002
    // after a text frame), but never wait long for a client that does not read.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown()).await;
}
