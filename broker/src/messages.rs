//! The JSON messages the broker itself writes on a gateway's `rx` (SPEC §9: `welcome`,
//! `peer`, `status`, `error`), built from the protocol crate's types. Relayed signaling
//! (`offer`/`answer`/`candidate`/`bye`) is the peer's payload, unchanged, and never passes here.

use switchboard_actors::service::types::{GatewayLogin, IceServer};
use switchboard_domain::entities::{ConnectionStatus, Side};
use switchboard_protocol::{ErrorCode, ToGateway};

/// `welcome`, sent when the `rx` subscription is made.
pub fn welcome(
    login: &GatewayLogin,
    peer_online: bool,
    ice_servers: Vec<IceServer>,
    session_timeout_s: u64,
) -> String {
    ToGateway::Welcome {
        connection_id: login.connection_id.to_string(),
        side: login.side.as_str().to_owned(),
        kind: login.kind.as_str().to_owned(),
        status: login.status.as_str().to_owned(),
        role: match login.side {
            Side::Source => "offerer",
            Side::Target => "answerer",
        }
        .to_owned(),
        peer_online,
        ice_servers,
        session_timeout_s,
    }
    .to_payload()
}

/// `peer {online}`: the other side came online or went away.
pub fn peer(online: bool) -> String {
    ToGateway::Peer { online }.to_payload()
}

/// `status`: the connection's status changed.
pub fn status(status: ConnectionStatus, reason: Option<&str>) -> String {
    ToGateway::Status {
        status: status.as_str().to_owned(),
        reason: reason.map(str::to_owned),
    }
    .to_payload()
}

/// `error`; `reference` names the refused message's type, `session` its session.
pub fn error(
    code: ErrorCode,
    message: &str,
    reference: Option<&str>,
    session: Option<&str>,
) -> String {
    ToGateway::Error {
        code,
        message: message.to_owned(),
        reference: reference.map(str::to_owned),
        session: session.map(str::to_owned),
    }
    .to_payload()
}
