//! Server → gateway messages (on `sb/v1/c/C/S/rx`). `offer`, `answer`, `candidate` and `bye`
//! are the peer's own payloads relayed unchanged; the broker writes the others.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::PROTOCOL_VERSION;
use crate::to_server::IceCandidate;

/// A message a gateway receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToGateway {
    /// Sent when the `rx` subscription is made.
    Welcome {
        /// The connection.
        connection_id: String,
        /// `source` or `target`.
        side: String,
        /// `p2p`, `admin_rw` or `admin_ro`.
        kind: String,
        /// The connection's status (`active` or `paused`).
        status: String,
        /// `offerer` (source) or `answerer` (target).
        role: String,
        /// Whether the other side's gateway is online.
        peer_online: bool,
        /// STUN/TURN servers, TURN credentials short-lived (SPEC §10).
        ice_servers: Vec<IceServer>,
        /// Seconds a session may take to become tunnel-connected.
        session_timeout_s: u64,
    },
    /// The other side came online or went away.
    Peer {
        /// Whether it is online now.
        online: bool,
    },
    /// The connection's status changed.
    Status {
        /// The new status.
        status: String,
        /// Why, when known (`shutdown` when the server stops).
        reason: Option<String>,
    },
    /// The peer's offer.
    Offer {
        /// Session id.
        session: String,
        /// SDP.
        sdp: String,
    },
    /// The peer's answer.
    Answer {
        /// Session id.
        session: String,
        /// SDP.
        sdp: String,
    },
    /// The peer's candidate (`None`: end of candidates).
    Candidate {
        /// Session id.
        session: String,
        /// The candidate.
        candidate: Option<IceCandidate>,
    },
    /// The session ended (by the peer, or `reason: "timeout"` from the server).
    Bye {
        /// Session id.
        session: String,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Fresh ICE servers, the answer to `ice_refresh`.
    Ice {
        /// STUN/TURN servers.
        ice_servers: Vec<IceServer>,
    },
    /// A message was refused.
    Error {
        /// What kind of refusal.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
        /// The refused message's `type`, when known.
        #[serde(rename = "ref")]
        reference: Option<String>,
        /// The refused message's session, when it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
}

impl ToGateway {
    /// The JSON payload, with `"v": 1`.
    pub fn to_payload(&self) -> String {
        with_version(self)
    }

    /// Parses a payload received on `rx`.
    pub fn parse(payload: &[u8]) -> Result<ToGateway, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

/// An ICE server (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The codes of `error` (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The connection is not `active` (paused, terminated…): no new session.
    NotActive,
    /// The other side's gateway is not online (or not reading).
    PeerOffline,
    /// Only the offerer (source) may send `offer`; only the answerer (target) `answer`.
    NotOfferer,
    /// The message names a session that is not the current one.
    StaleSession,
    /// Not a valid message.
    BadMessage,
    /// Too many messages or offers; slow down.
    RateLimited,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotActive => "not_active",
            ErrorCode::PeerOffline => "peer_offline",
            ErrorCode::NotOfferer => "not_offerer",
            ErrorCode::StaleSession => "stale_session",
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::RateLimited => "rate_limited",
        }
    }
}

/// Serializes a tagged message and adds `"v": 1`.
pub(crate) fn with_version<T: Serialize>(message: &T) -> String {
    match serde_json::to_value(message) {
        Ok(Value::Object(mut map)) => {
            map.insert("v".into(), Value::from(PROTOCOL_VERSION));
            Value::Object(map).to_string()
        }
        // Every message type is a struct-like enum variant: always an object.
        Ok(other) => other.to_string(),
        Err(e) => format!(r#"{{"v":1,"type":"error","code":"bad_message","message":"{e}"}}"#),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn error_has_ref_and_version() {
        let e = ToGateway::Error {
            code: ErrorCode::StaleSession,
            message: "no such session".into(),
            reference: Some("answer".into()),
            session: Some("s9".into()),
        };
        let v: Value = serde_json::from_str(&e.to_payload()).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["type"], "error");
        assert_eq!(v["code"], "stale_session");
        assert_eq!(v["ref"], "answer");
        assert_eq!(ToGateway::parse(e.to_payload().as_bytes()).unwrap(), e);
    }

    #[test]
    fn relayed_payloads_parse_on_the_gateway() {
        let m = ToGateway::parse(
            br#"{"v":1,"type":"candidate","session":"s","candidate":null,"extra":true}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ToGateway::Candidate {
                session: "s".into(),
                candidate: None
            }
        );
    }
}
