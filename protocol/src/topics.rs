//! A gateway's two topics (SPEC §9). `side` is `source` or `target`.

/// Server → gateway: the only filter a gateway may subscribe to.
pub fn rx(connection_id: &str, side: &str) -> String {
    format!("sb/v1/c/{connection_id}/{side}/rx")
}

/// Gateway → server: the only topic a gateway may publish to.
pub fn tx(connection_id: &str, side: &str) -> String {
    format!("sb/v1/c/{connection_id}/{side}/tx")
}

/// The MQTT client id of a gateway: `{connection_id}.{side}`.
pub fn client_id(connection_id: &str, side: &str) -> String {
    format!("{connection_id}.{side}")
}
