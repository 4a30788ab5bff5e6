//! The gateway ACL (SPEC §9): a gateway of connection `C`, side `S` may subscribe to exactly
//! `sb/v1/c/C/S/rx` and publish to exactly `sb/v1/c/C/S/tx`. Nothing else, wildcards
//! included, so the topic a message arrives on proves who sent it.

use switchboard_domain::entities::Side;
use switchboard_domain::ids::ConnectionId;

/// The topic a gateway receives on (server → gateway).
pub fn rx_topic(connection: &ConnectionId, side: Side) -> String {
    format!("sb/v1/c/{}/{}/rx", connection, side.as_str())
}

/// The topic a gateway sends on (gateway → server).
pub fn tx_topic(connection: &ConnectionId, side: Side) -> String {
    format!("sb/v1/c/{}/{}/tx", connection, side.as_str())
}

/// Whether the gateway may hold this subscription filter.
pub fn may_subscribe(filter: &str, connection: &ConnectionId, side: Side) -> bool {
    filter == rx_topic(connection, side)
}

/// Whether the gateway may publish to this topic.
pub fn may_publish(topic: &str, connection: &ConnectionId, side: Side) -> bool {
    topic == tx_topic(connection, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_own_topics() {
        let c = ConnectionId::generate();
        let other = ConnectionId::generate();
        assert!(may_subscribe(&rx_topic(&c, Side::Source), &c, Side::Source));
        for f in [
            "#".to_owned(),
            "sb/#".to_owned(),
            "$SYS/#".to_owned(),
            format!("sb/v1/c/{c}/+/rx"),
            format!("sb/v1/c/{c}/#"),
            rx_topic(&c, Side::Target),
            tx_topic(&c, Side::Source),
            rx_topic(&other, Side::Source),
        ] {
            assert!(!may_subscribe(&f, &c, Side::Source), "{f}");
        }
        assert!(may_publish(&tx_topic(&c, Side::Target), &c, Side::Target));
        assert!(!may_publish(&tx_topic(&c, Side::Source), &c, Side::Target));
        assert!(!may_publish(&rx_topic(&c, Side::Target), &c, Side::Target));
    }
}
