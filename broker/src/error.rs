//! Errors of the broker: starting it ([`BrokerError`]) and why a session ended
//! ([`SessionEnd`]), which only reaches logs and metrics.

use crate::codec::CodecError;

/// The broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A listener could not be bound.
    #[error("cannot bind the {what} listener on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionEnd {
    /// The client closed the connection.
    #[error("closed by the client")]
    Closed,
    /// Kicked by the service or taken over by a newer session.
    #[error("kicked")]
    Kicked,
    /// No packet within keep-alive × grace.
    #[error("keep-alive expired")]
    KeepAlive,
    /// A PUBLISH outside the ACL.
    #[error("publish outside the ACL")]
    Acl,
    /// More malformed messages in a minute than allowed.
    #[error("too many malformed messages")]
    Malformed,
    /// A write did not complete in time.
    #[error("write timed out")]
    WriteTimeout,
    /// Something MQTT forbids or the broker does not support.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// Framing failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The socket failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
