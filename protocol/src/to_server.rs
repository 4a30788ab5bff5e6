//! Gateway → server messages (on `sb/v1/c/C/S/tx`), and how a payload is checked: a JSON
//! object, `"v": 1`, a known `"type"` and that type's fields. Whatever is wrong comes back as
//! a [`BadMessage`] that names it, for the `error bad_message` reply.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{MAX_MESSAGE_BYTES, MAX_SESSION_ID_CHARS, PROTOCOL_VERSION};

/// A message a gateway sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToServer {
    /// Starts (or restarts) a session; only the offerer (source) sends it.
    Offer {
        /// Session id chosen by the offerer.
        session: String,
        /// The SDP offer.
        sdp: String,
    },
    /// Answers the current session; only the answerer (target) sends it.
    Answer {
        /// The session answered.
        session: String,
        /// The SDP answer.
        sdp: String,
    },
    /// A trickled ICE candidate; `null` ends the candidates.
    Candidate {
        /// The session it belongs to.
        session: String,
        /// The candidate, or `None` for end-of-candidates.
        candidate: Option<IceCandidate>,
    },
    /// Ends the session.
    Bye {
        /// The session ended.
        session: String,
        /// Why, free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The state of the session's tunnel, for connectivity and statistics.
    Tunnel {
        /// The session reported on.
        session: String,
        /// Connected, failed or closed.
        state: TunnelState,
        /// Direct or through the relay (required when connected).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<TunnelPath>,
        /// The local candidate type (`host`, `srflx`, `prflx`, `relay`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local_type: Option<String>,
        /// The remote candidate type.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote_type: Option<String>,
    },
    /// Asks for fresh ICE servers and TURN credentials.
    IceRefresh {},
}

/// An ICE candidate as a browser's `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    /// The `candidate:` line.
    pub candidate: String,
    /// The media stream id.
    #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The media line index.
    #[serde(
        rename = "sdpMLineIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment.
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

/// What a `tunnel` report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelState {
    /// The DataChannel is open.
    Connected,
    /// ICE failed.
    Failed,
    /// The tunnel was closed.
    Closed,
}

/// How a tunnel travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelPath {
    /// Peer to peer.
    Direct,
    /// Through the TURN relay.
    Relay,
}

/// Why a payload is not a valid message; the text goes into `error bad_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMessage {
    /// What is wrong.
    pub problem: String,
    /// The message's `type`, when it had one.
    pub kind: Option<String>,
}

impl std::fmt::Display for BadMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem)
    }
}

impl ToServer {
    /// Parses and checks one payload.
    pub fn parse(payload: &[u8]) -> Result<ToServer, BadMessage> {
        let bad = |problem: String, kind: Option<&str>| BadMessage {
            problem,
            kind: kind.map(str::to_owned),
        };
        if payload.len() > MAX_MESSAGE_BYTES {
            return Err(bad(
                format!(
                    "message of {} bytes is larger than the {MAX_MESSAGE_BYTES}-byte limit",
                    payload.len()
                ),
                None,
            ));
        }
        let value: Value = serde_json::from_slice(payload)
            .map_err(|e| bad(format!("not valid JSON: {e}"), None))?;
        let Some(object) = value.as_object() else {
            return Err(bad("a message must be a JSON object".into(), None));
        };
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind = kind.as_deref();
        if object.get("v").and_then(Value::as_u64) != Some(PROTOCOL_VERSION) {
            return Err(bad(format!("\"v\" must be {PROTOCOL_VERSION}"), kind));
        }
        let Some(name) = kind else {
            return Err(bad("\"type\" must be a string".into(), None));
        };
        if !KNOWN.contains(&name) {
            return Err(bad(
                format!("unknown type \"{}\"", name.escape_debug()),
                kind,
            ));
        }
        let message: ToServer =
            serde_json::from_value(value).map_err(|e| bad(format!("bad {name}: {e}"), kind))?;
        if let Some(session) = message.session()
            && !valid_session(session)
        {
            return Err(bad(
                format!(
                    "\"session\" must be 1 to {MAX_SESSION_ID_CHARS} characters without control characters"
                ),
                kind,
            ));
        }
        if let ToServer::Tunnel {
            state: TunnelState::Connected,
            path: None,
            ..
        } = message
        {
            return Err(bad(
                "a connected tunnel report needs \"path\": \"direct\" or \"relay\"".into(),
                kind,
            ));
        }
        Ok(message)
    }

    /// The `type` of the message.
    pub fn kind(&self) -> &'static str {
        match self {
            ToServer::Offer { .. } => "offer",
            ToServer::Answer { .. } => "answer",
            ToServer::Candidate { .. } => "candidate",
            ToServer::Bye { .. } => "bye",
            ToServer::Tunnel { .. } => "tunnel",
            ToServer::IceRefresh {} => "ice_refresh",
        }
    }

    /// The session the message belongs to (all but `ice_refresh`).
    pub fn session(&self) -> Option<&str> {
        match self {
            ToServer::Offer { session, .. }
            | ToServer::Answer { session, .. }
            | ToServer::Candidate { session, .. }
            | ToServer::Bye { session, .. }
            | ToServer::Tunnel { session, .. } => Some(session),
            ToServer::IceRefresh {} => None,
        }
    }

    /// The JSON payload of this message, with `"v": 1`.
    pub fn to_payload(&self) -> String {
        crate::to_gateway::with_version(self)
    }
}

fn valid_session(session: &str) -> bool {
    !session.is_empty()
        && session.chars().count() <= MAX_SESSION_ID_CHARS
        && !session.chars().any(char::is_control)
}

const KNOWN: [&str; 6] = [
    "offer",
    "answer",
    "candidate",
    "bye",
    "tunnel",
    "ice_refresh",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn problem(payload: &str) -> String {
        ToServer::parse(payload.as_bytes()).unwrap_err().problem
    }

    #[test]
    fn every_type_parses_and_round_trips() {
        let samples = [
            r#"{"v":1,"type":"offer","session":"s1","sdp":"v=0"}"#,
            r#"{"v":1,"type":"answer","session":"s1","sdp":"v=0"}"#,
            r#"{"v":1,"type":"candidate","session":"s1","candidate":{"candidate":"candidate:1 1 udp 1 10.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}}"#,
            r#"{"v":1,"type":"candidate","session":"s1","candidate":null}"#,
            r#"{"v":1,"type":"bye","session":"s1","reason":"done"}"#,
            r#"{"v":1,"type":"tunnel","session":"s1","state":"connected","path":"relay","local_type":"relay","remote_type":"host"}"#,
            r#"{"v":1,"type":"tunnel","session":"s1","state":"failed"}"#,
            r#"{"v":1,"type":"ice_refresh"}"#,
        ];
        for s in samples {
            let m = ToServer::parse(s.as_bytes()).unwrap();
            assert_eq!(
                ToServer::parse(m.to_payload().as_bytes()).unwrap(),
                m,
                "{s}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let m = ToServer::parse(br#"{"v":1,"type":"bye","session":"s","x":1}"#).unwrap();
        assert_eq!(m.kind(), "bye");
    }

    #[test]
    fn every_problem_is_named() {
        assert!(problem("nope").starts_with("not valid JSON"));
        assert_eq!(problem("[1]"), "a message must be a JSON object");
        assert_eq!(problem(r#"{"v":2,"type":"offer"}"#), "\"v\" must be 1");
        assert_eq!(problem(r#"{"v":1}"#), "\"type\" must be a string");
        assert_eq!(
            problem(r#"{"v":1,"type":"hello"}"#),
            "unknown type \"hello\""
        );
        assert!(problem(r#"{"v":1,"type":"offer","session":"s"}"#).contains("missing field `sdp`"));
        assert!(problem(r#"{"v":1,"type":"offer","session":"","sdp":"x"}"#).contains("session"));
        assert!(
            problem(r#"{"v":1,"type":"tunnel","session":"s","state":"connected"}"#)
                .contains("path")
        );
        assert!(
            problem(r#"{"v":1,"type":"tunnel","session":"s","state":"up"}"#)
                .contains("unknown variant")
        );
        let big = format!(
            r#"{{"v":1,"type":"offer","session":"s","sdp":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(problem(&big).contains("larger than"));
        let err = ToServer::parse(br#"{"v":1,"type":"answer","session":5,"sdp":"x"}"#).unwrap_err();
        assert_eq!(err.kind.as_deref(), Some("answer"));
    }
}
