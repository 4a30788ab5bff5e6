//! The effect sink `serve` gives the service: gateway kicks, status pushes and signaling go to
//! the broker's live sessions; allocation drops go to the TURN relay.

use bytes::Bytes;
use switchboard_actors::EffectSink;
use switchboard_broker::BrokerSink;
use switchboard_domain::entities::{ConnectionStatus, Side};
use switchboard_domain::ids::ConnectionId;
use switchboard_relay::RelayHandle;

/// Broker and relay together.
pub struct Effects {
    /// The broker's sessions.
    pub broker: BrokerSink,
    /// The relay.
    pub relay: RelayHandle,
}

impl EffectSink for Effects {
    fn kick_gateways(&self, connection: &ConnectionId) {
        self.broker.kick_gateways(connection);
    }

    fn drop_relay_allocations(&self, connection: &ConnectionId) {
        self.relay.drop_connection(connection);
    }

    fn push_status(
        &self,
        connection: &ConnectionId,
        status: ConnectionStatus,
        reason: Option<&str>,
    ) {
        self.broker.push_status(connection, status, reason);
    }

    fn deliver(&self, connection: &ConnectionId, side: Side, payload: Bytes) -> bool {
        self.broker.deliver(connection, side, payload)
    }
}
