//! The messages a pairs run exchanges. Each probe is a real gateway message (`candidate`, or
//! `offer` answered by `answer`) that Switchboard's relay accepts and forwards unchanged,
//! padded to a fixed size. The probe carries its sequence number and send times in the
//! candidate line (or SDP), so the receiver computes latency from the payload alone: sender and
//! receiver are the same process and share one monotonic clock.
//!
//! Wire form of the marker: `lt=p n=<seq> t=<ping sent> u=<pong sent> p=<padding>`, times in
//! nanoseconds since the run's start.

use clap::ValueEnum;
use serde::Serialize;

/// Which gateway message type the probes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// `candidate` both ways (trickle ICE after the session is up).
    Candidate,
    /// `offer` from the source, `answer` back from the target (each offer starts a session).
    Offer,
}

/// Ping (source → target) or pong (target → source, echoing the ping's seq and send time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the source at the run's rate.
    Ping,
    /// Sent by the target for each ping it receives.
    Pong,
}

/// What a probe carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Ping or pong.
    pub direction: Direction,
    /// The ping's sequence number within its pair.
    pub seq: u64,
    /// When the ping was sent (ns since the run's start).
    pub ping_ns: u64,
    /// When the pong was sent (ns since the run's start); 0 in a ping.
    pub pong_ns: u64,
}

/// The signaling session every message of a run belongs to.
pub const SESSION: &str = "s1";

/// The start of every probe marker inside the payload.
const MARKER: &str = "lt=";

/// Encodes `probe` as a `kind` message padded to `size` bytes (when `size` is at least the
/// unpadded length, which is about 200 bytes; smaller sizes give the unpadded message).
pub fn encode(kind: ProbeKind, probe: &Probe, size: usize) -> String {
    let (prefix, suffix) = frame(kind, probe.direction);
    let d = match probe.direction {
        Direction::Ping => 'p',
        Direction::Pong => 'q',
    };
    let marker = format!(
        "{MARKER}{d} n={:012} t={:016} u={:016} p=",
        probe.seq, probe.ping_ns, probe.pong_ns
    );
    let bare = prefix.len() + marker.len() + suffix.len();
    let pad = size.saturating_sub(bare);
    let mut out = String::with_capacity(bare + pad);
    out.push_str(prefix);
    out.push_str(&marker);
    out.extend(std::iter::repeat_n('x', pad));
    out.push_str(suffix);
    out
}

/// Reads the probe out of a payload; `None` if it carries no probe marker (welcome, peer,
/// error, the setup offer and answer…).
pub fn decode(payload: &[u8]) -> Option<Probe> {
    let text = std::str::from_utf8(payload).ok()?;
    let rest = &text[text.find(MARKER)? + MARKER.len()..];
    let mut words = rest.split(' ');
    let direction = match words.next()? {
        "p" => Direction::Ping,
        "q" => Direction::Pong,
        _ => return None,
    };
    let mut field = |name: &str| -> Option<u64> { words.next()?.strip_prefix(name)?.parse().ok() };
    Some(Probe {
        direction,
        seq: field("n=")?,
        ping_ns: field("t=")?,
        pong_ns: field("u=")?,
    })
}

/// The setup offer the source sends once both gateways are online.
pub fn setup_offer() -> String {
    format!(r#"{{"v":1,"type":"offer","session":"{SESSION}","sdp":"v=0 loadtest setup"}}"#)
}

/// The target's answer to the setup offer.
pub fn setup_answer() -> String {
    format!(r#"{{"v":1,"type":"answer","session":"{SESSION}","sdp":"v=0 loadtest setup"}}"#)
}

/// The source's report that the session's tunnel is up, which stops the session timeout.
pub fn tunnel_connected() -> String {
    format!(
        r#"{{"v":1,"type":"tunnel","session":"{SESSION}","state":"connected","path":"direct","local_type":"host","remote_type":"host"}}"#
    )
}

/// The JSON around the marker for one kind and direction.
fn frame(kind: ProbeKind, direction: Direction) -> (&'static str, &'static str) {
    const CANDIDATE: &str = r#"{"v":1,"type":"candidate","session":"s1","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host "#;
    const CANDIDATE_END: &str = r#"","sdpMid":"0","sdpMLineIndex":0}}"#;
    const OFFER: &str =
        r#"{"v":1,"type":"offer","session":"s1","sdp":"v=0 o=- 1 1 IN IP4 127.0.0.1 s=- "#;
    const ANSWER: &str =
        r#"{"v":1,"type":"answer","session":"s1","sdp":"v=0 o=- 1 1 IN IP4 127.0.0.1 s=- "#;
    const SDP_END: &str = r#""}"#;
    match (kind, direction) {
        (ProbeKind::Candidate, _) => (CANDIDATE, CANDIDATE_END),
        (ProbeKind::Offer, Direction::Ping) => (OFFER, SDP_END),
        (ProbeKind::Offer, Direction::Pong) => (ANSWER, SDP_END),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::{ToGateway, ToServer};

    fn probe(direction: Direction) -> Probe {
        Probe {
            direction,
            seq: 42,
            ping_ns: 1_234_567_890,
            pong_ns: 0,
        }
    }

    #[test]
    fn padded_to_the_exact_size_and_decoded_back() {
        for kind in [ProbeKind::Candidate, ProbeKind::Offer] {
            for direction in [Direction::Ping, Direction::Pong] {
                for size in [300, 1000, 4096] {
                    let p = probe(direction);
                    let text = encode(kind, &p, size);
                    assert_eq!(text.len(), size, "{kind:?} {direction:?}");
                    assert_eq!(decode(text.as_bytes()), Some(p));
                }
            }
        }
    }

    #[test]
    fn too_small_a_size_gives_the_bare_message() {
        let text = encode(ProbeKind::Candidate, &probe(Direction::Ping), 10);
        assert!(text.len() > 10);
        assert!(text.ends_with(r#" p=","sdpMid":"0","sdpMLineIndex":0}}"#));
        assert!(decode(text.as_bytes()).is_some());
    }

    #[test]
    fn probes_are_valid_gateway_messages_both_ways() {
        let cases = [
            (ProbeKind::Candidate, Direction::Ping, "candidate"),
            (ProbeKind::Candidate, Direction::Pong, "candidate"),
            (ProbeKind::Offer, Direction::Ping, "offer"),
            (ProbeKind::Offer, Direction::Pong, "answer"),
        ];
        for (kind, direction, want) in cases {
            let text = encode(kind, &probe(direction), 300);
            let m = ToServer::parse(text.as_bytes()).unwrap();
            assert_eq!(m.kind(), want);
            assert_eq!(m.session(), Some(SESSION));
            ToGateway::parse(text.as_bytes()).unwrap();
        }
        for setup in [setup_offer(), setup_answer(), tunnel_connected()] {
            ToServer::parse(setup.as_bytes()).unwrap();
            assert_eq!(decode(setup.as_bytes()), None);
        }
    }

    #[test]
    fn other_payloads_are_not_probes() {
        assert_eq!(decode(br#"{"v":1,"type":"peer","online":true}"#), None);
        assert_eq!(decode(b"lt=z n=1 t=2 u=3 p="), None);
        assert_eq!(decode(b"lt=p n=1 t=x u=3 p="), None);
        assert_eq!(decode(&[0xff, 0xfe]), None);
    }
}
