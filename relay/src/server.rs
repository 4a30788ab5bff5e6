//! Binding and running the relay: a UDP socket for TURN, relayed addresses from the
//! configured port range, the [`Auth`] callback, the accounting task, and a
//! [`RelayHandle`] to delete a connection's allocations.

use std::net::SocketAddr;
use std::sync::Arc;

use switchboard_domain::ids::ConnectionId;
use tokio::net::UdpSocket;
use turn::relay::relay_range::RelayAddressGeneratorRanges;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::vnet::net::Net;

use crate::accounting::{self, Ledger};
use crate::auth::{Auth, Policy, unix_now};
use crate::settings::RelaySettings;

/// The relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The UDP socket could not be bound.
    #[error("cannot bind the TURN listener on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The `turn` server refused the configuration.
    #[error("cannot start the TURN server: {0}")]
    Turn(#[from] turn::Error),
}

/// A running relay.
pub struct Relay {
    handle: RelayHandle,
    bound: SocketAddr,
    urls: Vec<String>,
}

/// What the rest of the server holds of the relay: revocation and accounting. Cheap to clone.
#[derive(Clone)]
pub struct RelayHandle {
    server: Arc<Server>,
    auth: Arc<Auth>,
    ledger: Arc<Ledger>,
}

impl Relay {
    /// Binds the UDP listener and starts serving. `policy` says whether a connection may use
    /// the relay (its status accepts gateways).
    pub async fn start(settings: RelaySettings, policy: Policy) -> Result<Relay, RelayError> {
        let socket = bind(settings.listen).map_err(|source| RelayError::Bind {
            addr: settings.listen,
            source,
        })?;
        let bound = socket.local_addr().unwrap_or(settings.listen);
        let auth = Arc::new(Auth::new(
            settings.secret.clone(),
            settings.credential_ttl.as_secs() as i64,
            settings.max_allocations_per_connection,
            policy,
        ));
        let (closed_tx, closed_rx) = tokio::sync::mpsc::channel(1024);
        let server = Server::new(ServerConfig {
            conn_configs: vec![ConnConfig {
                conn: Arc::new(socket),
                relay_addr_generator: Box::new(RelayAddressGeneratorRanges {
                    relay_address: settings.relay_ip,
                    min_port: settings.port_min,
                    max_port: settings.port_max,
                    max_retries: 0,
                    address: match bound.ip() {
                        ip if ip.is_unspecified() => "0.0.0.0".to_owned(),
                        ip => ip.to_string(),
                    },
                    net: Arc::new(Net::new(None)),
                }),
            }],
            realm: settings.realm.clone(),
            auth_handler: auth.clone(),
            // 0 = the crate's default of 10 minutes; gateways refresh bindings at 5 minutes.
            channel_bind_timeout: std::time::Duration::ZERO,
            alloc_close_notify: Some(closed_tx),
        })
        .await?;
        let server = Arc::new(server);
        let ledger = Arc::new(Ledger::default());
        tokio::spawn(accounting::run(
            server.clone(),
            auth.clone(),
            ledger.clone(),
            closed_rx,
            settings.accounting_interval,
        ));
        let host = settings
            .advertise
            .clone()
            .unwrap_or_else(|| bound.to_string());
        tracing::info!(%bound, advertise = %host, "TURN relay listening (UDP)");
        Ok(Relay {
            handle: RelayHandle {
                server,
                auth,
                ledger,
            },
            bound,
            urls: vec![format!("turn:{host}?transport=udp")],
        })
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound
    }

    /// The URLs gateways are given.
    pub fn urls(&self) -> Vec<String> {
        self.urls.clone()
    }

    /// A handle for revocation and accounting.
    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Stops serving and releases every allocation.
    pub async fn close(self) {
        if let Err(e) = self.handle.server.close().await {
            tracing::debug!(error = %e, "closing the TURN server");
        }
    }
}

impl RelayHandle {
    /// Deletes the connection's allocations and refuses the credentials issued so far (the
    /// connection was terminated or its secret rotated). Does not wait for the deletion.
    pub fn drop_connection(&self, connection: &ConnectionId) {
        let usernames = self.auth.revoke(connection, unix_now());
        if usernames.is_empty() {
            return;
        }
        let server = self.server.clone();
        let connection = connection.clone();
        tokio::spawn(async move {
            for username in usernames {
                if let Err(e) = server.delete_allocations_by_username(username).await {
                    tracing::warn!(%connection, error = %e, "could not delete TURN allocations");
                }
            }
            tracing::info!(%connection, "TURN allocations of the connection deleted");
        });
    }

    /// Live allocations of `connection`, asked of the server now.
    pub async fn allocations(&self, connection: &ConnectionId) -> usize {
        let Ok(live) = self.server.get_allocations_info(None).await else {
            return 0;
        };
        live.values()
            .filter(|info| {
                switchboard_actors::turn::parse_username(&info.username)
                    .is_some_and(|(_, c, _)| &c == connection)
            })
            .count()
    }

    /// Bytes relayed for `connection` so far (collected every accounting interval).
    pub fn relayed_bytes(&self, connection: &ConnectionId) -> u64 {
        self.ledger.relayed_bytes(connection)
    }
}

/// Receive and send buffers asked for on the listening socket. The default (~208 KiB) drops
/// datagrams under a single relayed bulk transfer; the kernel caps the request at
/// `net.core.rmem_max` / `wmem_max`.
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// The relay's UDP socket, with large buffers.
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES) {
        tracing::warn!(error = %e, "could not enlarge the TURN socket's receive buffer");
    }
    if let Err(e) = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES) {
        tracing::warn!(error = %e, "could not enlarge the TURN socket's send buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}
