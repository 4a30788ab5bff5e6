//! The JSON messages the broker itself sends on a gateway's `rx` (SPEC §9: `welcome`,
//! `status`, `error`) and the envelope check of what a gateway sends on `tx`. Relaying
//! `offer`/`answer`/`candidate`/`bye` through the connection's actor is the next slice; until
//! then a well-formed message is accepted and dropped.

use serde_json::{Value, json};
use switchboard_actors::service::types::GatewayLogin;
use switchboard_domain::entities::{ConnectionStatus, Side};

/// The protocol version every message carries as `"v"`.
pub const PROTOCOL_VERSION: u64 = 1;

/// `welcome`, sent when the `rx` subscription is made.
pub fn welcome(login: &GatewayLogin, peer_online: bool, session_timeout_s: u64) -> Value {
    json!({
        "v": PROTOCOL_VERSION,
        "type": "welcome",
        "connection_id": login.connection_id,
        "side": login.side.as_str(),
        "kind": login.kind.as_str(),
        "status": login.status.as_str(),
        "role": match login.side { Side::Source => "offerer", Side::Target => "answerer" },
        "peer_online": peer_online,
        "ice_servers": [],
        "session_timeout_s": session_timeout_s,
    })
}

/// `status`: the connection's status changed.
pub fn status(status: ConnectionStatus, reason: Option<&str>) -> Value {
    json!({"v": PROTOCOL_VERSION, "type": "status", "status": status.as_str(), "reason": reason})
}

/// `error` with one of SPEC §9's codes; `reference` names the offending message's type.
pub fn error(code: &str, message: &str, reference: Option<&str>) -> Value {
    json!({"v": PROTOCOL_VERSION, "type": "error", "code": code, "message": message, "ref": reference})
}

/// Checks the envelope of a gateway message: a JSON object with `"v": 1` and a string
/// `type`. Returns the type, or what is wrong.
pub fn check_envelope(payload: &[u8]) -> Result<String, &'static str> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| "not a JSON object")?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    if obj.get("v").and_then(Value::as_u64) != Some(PROTOCOL_VERSION) {
        return Err("\"v\" must be 1");
    }
    obj.get("type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or("\"type\" must be a string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert_eq!(
            check_envelope(br#"{"v":1,"type":"offer"}"#),
            Ok("offer".into())
        );
        assert!(check_envelope(b"nope").is_err());
        assert!(check_envelope(b"[1]").is_err());
        assert!(check_envelope(br#"{"v":2,"type":"offer"}"#).is_err());
        assert!(check_envelope(br#"{"v":1}"#).is_err());
        assert!(check_envelope(br#"{"v":1,"type":7}"#).is_err());
    }
}
