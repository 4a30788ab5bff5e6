//! MQTT framing for both protocol versions on the rumqtt project's codec
//! (`rumqttc::mqttbytes::v4` and `rumqttc::v5::mqttbytes::v5`), reduced to the few packets a
//! gateway session needs. The version comes from the CONNECT's protocol level; everything
//! after that is read and written in the version the client chose.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4;
use rumqttc::mqttbytes::{Error as V4Error, QoS};
use rumqttc::v5::mqttbytes::v5;
use rumqttc::v5::mqttbytes::{Error as V5Error, QoS as V5QoS};

/// Bytes a PUBLISH may carry beyond its payload (fixed header, topic, properties).
pub const PACKET_OVERHEAD_BYTES: usize = 1024;

/// MQTT protocol level of 3.1.1.
const LEVEL_V4: u8 = 4;
/// MQTT protocol level of 5.0.
const LEVEL_V5: u8 = 5;

/// The protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1.1.
    V4,
    /// MQTT 5.
    V5,
}

/// A framing failure: the session ends.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The first packet is not a CONNECT.
    #[error("the first packet is not a CONNECT")]
    NotConnect,
    /// A protocol level other than 3.1.1 or 5.
    #[error("unsupported protocol level {0}")]
    UnsupportedLevel(u8),
    /// A packet larger than the limit.
    #[error("packet too large")]
    TooLarge,
    /// MQTT 3.1.1 framing error.
    #[error("malformed MQTT 3.1.1 packet: {0}")]
    V4(V4Error),
    /// MQTT 5 framing error.
    #[error("malformed MQTT 5 packet: {0}")]
    V5(V5Error),
}

/// A packet from a gateway, version-independent.
#[derive(Debug)]
pub enum Inbound {
    /// CONNECT.
    Connect {
        /// Client identifier.
        client_id: String,
        /// Username, empty if absent.
        username: String,
        /// Password, empty if absent.
        password: String,
        /// Requested keep-alive in seconds.
        keep_alive: u16,
    },
    /// SUBSCRIBE with its filters.
    Subscribe {
        /// Packet id.
        pkid: u16,
        /// Filters in order.
        filters: Vec<String>,
    },
    /// UNSUBSCRIBE with its filters.
    Unsubscribe {
        /// Packet id.
        pkid: u16,
        /// Filters in order.
        filters: Vec<String>,
    },
    /// PUBLISH.
    Publish {
        /// Topic (empty if not UTF-8 or aliased).
        topic: String,
        /// QoS.
        qos: QoS,
        /// Packet id (QoS > 0).
        pkid: u16,
        /// Payload.
        payload: Bytes,
    },
    /// PINGREQ.
    PingReq,
    /// DISCONNECT.
    Disconnect,
    /// Anything a gateway has no use for (acks of our QoS 0 sends never come; AUTH...).
    Other,
}

/// Why a CONNECT is refused, as the CONNACK says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnackRefusal {
    /// Malformed client id: v4 rc 2, v5 0x85.
    ClientId,
    /// Unknown connection or bad secret: v4 rc 4, v5 0x86.
    BadCredentials,
    /// Not usable or locked out: v4 rc 5, v5 0x87.
    NotAuthorized,
    /// Temporarily unavailable: v4 rc 3, v5 0x88.
    Unavailable,
}

/// A packet to a gateway.
#[derive(Debug)]
pub enum Outbound {
    /// CONNACK success; `server_keep_alive` tells a v5 client the keep-alive in force.
    ConnAckOk {
        /// Set when the requested keep-alive was clamped.
        server_keep_alive: Option<u16>,
        /// The largest packet the broker accepts (told to v5 clients).
        max_packet_size: u32,
    },
    /// CONNACK refusal.
    ConnAckRefused(ConnackRefusal),
    /// SUBACK: per filter, granted (QoS 0) or refused.
    SubAck {
        /// Packet id.
        pkid: u16,
        /// Per filter.
        granted: Vec<bool>,
    },
    /// UNSUBACK.
    UnsubAck {
        /// Packet id.
        pkid: u16,
        /// Number of filters.
        count: usize,
    },
    /// PUBACK.
    PubAck {
        /// Packet id.
        pkid: u16,
    },
    /// PINGRESP.
    PingResp,
    /// A QoS 0 PUBLISH.
    Publish {
        /// Topic.
        topic: String,
        /// Payload.
        payload: Bytes,
    },
    /// DISCONNECT (v5 only; a v4 server just closes).
    Disconnect,
}

/// The protocol of a CONNECT at the front of `buf`: `Ok(None)` while more bytes are needed.
pub fn sniff_version(buf: &[u8]) -> Result<Option<Version>, CodecError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first >> 4 != 1 {
        return Err(CodecError::NotConnect);
    }
    // Remaining length: up to 4 bytes of 7 bits each.
    let mut at = 1;
    loop {
        let Some(&b) = buf.get(at) else {
            return Ok(None);
        };
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        if at > 4 {
            return Err(CodecError::V4(V4Error::MalformedRemainingLength));
        }
    }
    let (Some(&hi), Some(&lo)) = (buf.get(at), buf.get(at + 1)) else {
        return Ok(None);
    };
    let name_len = usize::from(u16::from_be_bytes([hi, lo]));
    let Some(&level) = buf.get(at + 2 + name_len) else {
        return Ok(None);
    };
    match level {
        LEVEL_V4 => Ok(Some(Version::V4)),
        LEVEL_V5 => Ok(Some(Version::V5)),
        other => Err(CodecError::UnsupportedLevel(other)),
    }
}

/// Reads one packet from the front of `buf`: `Ok(None)` while more bytes are needed.
pub fn read(
    buf: &mut BytesMut,
    version: Version,
    max: usize,
) -> Result<Option<Inbound>, CodecError> {
    match version {
        Version::V4 => match v4::Packet::read(buf, max) {
            Ok(p) => Ok(Some(from_v4(p))),
            Err(V4Error::InsufficientBytes(_)) => Ok(None),
            Err(V4Error::PayloadSizeLimitExceeded(_)) => Err(CodecError::TooLarge),
            Err(e) => Err(CodecError::V4(e)),
        },
        // MQTT 5 lets a normal DISCONNECT omit its reason code (remaining length 0, which
        // Paho sends); rumqttc's decoder insists on one, so this form is read here.
        Version::V5 if buf.len() >= 2 && buf[0] == 0xE0 && buf[1] == 0 => {
            let _ = buf.split_to(2);
            Ok(Some(Inbound::Disconnect))
        }
        Version::V5 => match v5::Packet::read(buf, u32::try_from(max).ok()) {
            Ok(p) => Ok(Some(from_v5(p))),
            Err(V5Error::InsufficientBytes(_)) => Ok(None),
            Err(V5Error::PayloadSizeLimitExceeded { .. }) => Err(CodecError::TooLarge),
            Err(e) => Err(CodecError::V5(e)),
        },
    }
}

/// Appends `packet` to `out` in the client's version.
pub fn write(packet: Outbound, version: Version, out: &mut BytesMut) -> Result<(), CodecError> {
    match version {
        Version::V4 => {
            let Some(p) = to_v4(packet) else {
                return Ok(());
            };
            p.write(out, usize::MAX).map(|_| ()).map_err(CodecError::V4)
        }
        Version::V5 => to_v5(packet)
            .write(out, None)
            .map(|_| ())
            .map_err(CodecError::V5),
    }
}

fn from_v4(p: v4::Packet) -> Inbound {
    match p {
        v4::Packet::Connect(c) => {
            let (username, password) = c
                .login
                .map(|l| (l.username, l.password))
                .unwrap_or_default();
            Inbound::Connect {
                client_id: c.client_id,
                username,
                password,
                keep_alive: c.keep_alive,
            }
        }
        v4::Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s.filters.into_iter().map(|f| f.path).collect(),
        },
        v4::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
            pkid: u.pkid,
            filters: u.topics,
        },
        v4::Packet::Publish(p) => Inbound::Publish {
            topic: p.topic,
            qos: p.qos,
            pkid: p.pkid,
            payload: p.payload,
        },
        v4::Packet::PingReq => Inbound::PingReq,
        v4::Packet::Disconnect => Inbound::Disconnect,
        _ => Inbound::Other,
    }
}

fn from_v5(p: v5::Packet) -> Inbound {
    match p {
        v5::Packet::Connect(c, _, login) => {
            let (username, password) = login.map(|l| (l.username, l.password)).unwrap_or_default();
            Inbound::Connect {
                client_id: c.client_id,
                username,
                password,
                keep_alive: c.keep_alive,
            }
        }
        v5::Packet::Subscribe(s) => Inbound::Subscribe {
            pkid: s.pkid,
            filters: s.filters.into_iter().map(|f| f.path).collect(),
        },
        v5::Packet::Unsubscribe(u) => Inbound::Unsubscribe {
            pkid: u.pkid,
            filters: u.filters,
        },
        v5::Packet::Publish(p) => Inbound::Publish {
            // A topic alias arrives with an empty topic: gateways must not use aliases, and
            // an empty topic fails the ACL.
            topic: String::from_utf8(p.topic.to_vec()).unwrap_or_default(),
            qos: match p.qos {
                V5QoS::AtMostOnce => QoS::AtMostOnce,
                V5QoS::AtLeastOnce => QoS::AtLeastOnce,
                V5QoS::ExactlyOnce => QoS::ExactlyOnce,
            },
            pkid: p.pkid,
            payload: p.payload,
        },
        v5::Packet::PingReq(_) => Inbound::PingReq,
        v5::Packet::Disconnect(_) => Inbound::Disconnect,
        _ => Inbound::Other,
    }
}

fn to_v4(p: Outbound) -> Option<v4::Packet> {
    use v4::ConnectReturnCode as Rc;
    Some(match p {
        Outbound::ConnAckOk { .. } => v4::Packet::ConnAck(v4::ConnAck::new(Rc::Success, false)),
        Outbound::ConnAckRefused(r) => {
            let code = match r {
                ConnackRefusal::ClientId => Rc::BadClientId,
                ConnackRefusal::BadCredentials => Rc::BadUserNamePassword,
                ConnackRefusal::NotAuthorized => Rc::NotAuthorized,
                ConnackRefusal::Unavailable => Rc::ServiceUnavailable,
            };
            v4::Packet::ConnAck(v4::ConnAck::new(code, false))
        }
        Outbound::SubAck { pkid, granted } => v4::Packet::SubAck(v4::SubAck::new(
            pkid,
            granted
                .into_iter()
                .map(|ok| {
                    if ok {
                        v4::SubscribeReasonCode::Success(QoS::AtMostOnce)
                    } else {
                        v4::SubscribeReasonCode::Failure
                    }
                })
                .collect(),
        )),
        Outbound::UnsubAck { pkid, .. } => v4::Packet::UnsubAck(v4::UnsubAck::new(pkid)),
        Outbound::PubAck { pkid } => v4::Packet::PubAck(v4::PubAck::new(pkid)),
        Outbound::PingResp => v4::Packet::PingResp,
        Outbound::Publish { topic, payload } => v4::Packet::Publish(v4::Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            pkid: 0,
            payload,
        }),
        Outbound::Disconnect => return None,
    })
}

fn to_v5(p: Outbound) -> v5::Packet {
    use v5::ConnectReturnCode as Rc;
    match p {
        Outbound::ConnAckOk {
            server_keep_alive,
            max_packet_size,
        } => {
            // What this broker does not offer, said up front (MQTT 5 §3.2.2.3): no retain,
            // no wildcards, no subscription identifiers, no shared subscriptions, QoS ≤ 1.
            let properties = Some(v5::ConnAckProperties {
                session_expiry_interval: None,
                receive_max: None,
                max_qos: Some(1),
                retain_available: Some(0),
                max_packet_size: Some(max_packet_size),
                assigned_client_identifier: None,
                topic_alias_max: None,
                reason_string: None,
                user_properties: Vec::new(),
                wildcard_subscription_available: Some(0),
                subscription_identifiers_available: Some(0),
                shared_subscription_available: Some(0),
                server_keep_alive,
                response_information: None,
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
            });
            v5::Packet::ConnAck(v5::ConnAck {
                session_present: false,
                code: Rc::Success,
                properties,
            })
        }
        Outbound::ConnAckRefused(r) => {
            let code = match r {
                ConnackRefusal::ClientId => Rc::ClientIdentifierNotValid,
                ConnackRefusal::BadCredentials => Rc::BadUserNamePassword,
                ConnackRefusal::NotAuthorized => Rc::NotAuthorized,
                ConnackRefusal::Unavailable => Rc::ServerUnavailable,
            };
            v5::Packet::ConnAck(v5::ConnAck {
                session_present: false,
                code,
                properties: None,
            })
        }
        Outbound::SubAck { pkid, granted } => v5::Packet::SubAck(v5::SubAck {
            pkid,
            return_codes: granted
                .into_iter()
                .map(|ok| {
                    if ok {
                        v5::SubscribeReasonCode::Success(V5QoS::AtMostOnce)
                    } else {
                        v5::SubscribeReasonCode::NotAuthorized
                    }
                })
                .collect(),
            properties: None,
        }),
        Outbound::UnsubAck { pkid, count } => v5::Packet::UnsubAck(v5::UnsubAck {
            pkid,
            reasons: vec![v5::UnsubAckReason::Success; count],
            properties: None,
        }),
        Outbound::PubAck { pkid } => v5::Packet::PubAck(v5::PubAck::new(pkid, None)),
        Outbound::PingResp => v5::Packet::PingResp(v5::PingResp),
        Outbound::Publish { topic, payload } => {
            v5::Packet::Publish(v5::Publish::new(topic, V5QoS::AtMostOnce, payload, None))
        }
        Outbound::Disconnect => v5::Packet::Disconnect(v5::Disconnect::new(
            v5::DisconnectReasonCode::AdministrativeAction,
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_v5_disconnect_without_reason_code_is_a_disconnect() {
        let mut buf = bytes::BytesMut::from(&[0xE0u8, 0x00, 0xC0, 0x00][..]);
        assert!(matches!(
            super::read(&mut buf, super::Version::V5, 1024),
            Ok(Some(super::Inbound::Disconnect))
        ));
        assert!(matches!(
            super::read(&mut buf, super::Version::V5, 1024),
            Ok(Some(super::Inbound::PingReq))
        ));
    }

    #[test]
    fn sniffs_both_levels_and_waits_for_bytes() {
        let mut v4c = BytesMut::new();
        v4::Packet::Connect(v4::Connect::new("c"))
            .write(&mut v4c, usize::MAX)
            .unwrap();
        assert_eq!(sniff_version(&v4c).unwrap(), Some(Version::V4));
        assert_eq!(sniff_version(&v4c[..3]).unwrap(), None);
        let mut raw = v4c.to_vec();
        raw[8] = 5;
        assert_eq!(sniff_version(&raw).unwrap(), Some(Version::V5));
        raw[8] = 3;
        assert!(sniff_version(&raw).is_err());
        assert!(sniff_version(&[0x30, 0]).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64u8 {
            let mut buf =
                BytesMut::from(&(0..len).map(|i| i.wrapping_mul(37)).collect::<Vec<_>>()[..]);
            let _ = read(&mut buf.clone(), Version::V4, 1024);
            let _ = read(&mut buf, Version::V5, 1024);
        }
    }
}
