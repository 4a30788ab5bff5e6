//! The gateway's MQTT link to the broker (SPEC §9): one connection attempt per [`Link`]
//! (the gateway decides about retries, re-reading its secret first), the `rx` subscription
//! made on CONNACK, messages from `rx` parsed, messages published on `tx`.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS,
    TlsConfiguration, Transport,
};
use switchboard_protocol::{ToGateway, ToServer, topics};
use tokio::sync::mpsc;

use crate::options::Options;

/// What the link reports.
#[derive(Debug)]
pub enum LinkEvent {
    /// CONNACK accepted and the `rx` subscription requested.
    Up,
    /// A message on `rx`.
    Message(ToGateway),
    /// The link ended; no further events.
    Down(LinkDown),
}

/// Why the link ended.
#[derive(Debug)]
pub enum LinkDown {
    /// Bad connection id or secret (3.1.1 rc 4 / v5 0x86): retrying with the same secret
    /// only walks into the lockout.
    BadCredentials,
    /// The connection is not usable (terminated…) or locked out (rc 5 / 0x87).
    NotAuthorized,
    /// Refused for another reason (client id, protocol).
    Refused(String),
    /// Network, TLS or protocol failure; worth retrying.
    Lost(String),
}

/// A connected (or connecting) MQTT session.
pub struct Link {
    client: AsyncClient,
    tx_topic: String,
}

impl Link {
    /// Starts connecting with `secret`; events arrive on the returned receiver.
    pub fn connect(
        opts: &Options,
        secret: &str,
    ) -> anyhow::Result<(Link, mpsc::UnboundedReceiver<LinkEvent>)> {
        let side = opts.side.as_str();
        let client_id = topics::client_id(&opts.connection_id, side);
        let tls = TlsConfiguration::Simple {
            ca: opts.ca_pem.clone(),
            alpn: None,
            client_auth: None,
        };
        let mut mqtt = if let Some(rest) = opts.broker.strip_prefix("mqtts://") {
            let (host, port) = split_host_port(rest, 8883)?;
            let mut o = MqttOptions::new(client_id, host, port);
            o.set_transport(Transport::Tls(tls));
            o
        } else if let Some(rest) = opts.broker.strip_prefix("wss://") {
            let authority = rest.split('/').next().unwrap_or(rest);
            let (_, port) = split_host_port(authority, 443)?;
            let url = if rest.contains('/') {
                opts.broker.clone()
            } else {
                format!("{}/mqtt", opts.broker)
            };
            let mut o = MqttOptions::new(client_id, url, port);
            o.set_transport(Transport::Wss(tls));
            o
        } else {
            anyhow::bail!(
                "broker URL {:?} must start with mqtts:// or wss://",
                opts.broker
            );
        };
        mqtt.set_credentials(opts.connection_id.clone(), secret);
        mqtt.set_keep_alive(opts.keep_alive);
        mqtt.set_clean_session(true);
        mqtt.set_max_packet_size(
            switchboard_protocol::MAX_MESSAGE_BYTES * 2,
            switchboard_protocol::MAX_MESSAGE_BYTES * 2,
        );
        let (client, mut eventloop) = AsyncClient::new(mqtt, 64);
        let rx_topic = topics::rx(&opts.connection_id, side);
        let (events, receiver) = mpsc::unbounded_channel();
        let subscriber = client.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if subscriber
                            .subscribe(rx_topic.clone(), QoS::AtLeastOnce)
                            .await
                            .is_err()
                        {
                            let _ = events.send(LinkEvent::Down(LinkDown::Lost(
                                "could not subscribe".into(),
                            )));
                            return;
                        }
                        let _ = events.send(LinkEvent::Up);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => match ToGateway::parse(&p.payload) {
                        Ok(message) => {
                            if events.send(LinkEvent::Message(message)).is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable message on rx ignored"),
                    },
                    Ok(_) => {}
                    Err(e) => {
                        // What arrived just before the close (e.g. `status terminated` ahead
                        // of a kick) is still queued in the event loop: deliver it first.
                        for event in eventloop.state.events.drain(..) {
                            if let Event::Incoming(Packet::Publish(p)) = event
                                && let Ok(message) = ToGateway::parse(&p.payload)
                            {
                                let _ = events.send(LinkEvent::Message(message));
                            }
                        }
                        let _ = events.send(LinkEvent::Down(classify(e)));
                        return;
                    }
                }
            }
        });
        Ok((
            Link {
                client,
                tx_topic: topics::tx(&opts.connection_id, side),
            },
            receiver,
        ))
    }

    /// Publishes `message` on `tx` (QoS 1). A full request queue or a closed link drops it:
    /// signaling is retried at the session level.
    pub fn send(&self, message: &ToServer) {
        let payload = message.to_payload();
        if let Err(e) = self
            .client
            .try_publish(&self.tx_topic, QoS::AtLeastOnce, false, payload)
        {
            tracing::debug!(error = %e, kind = message.kind(), "message not sent");
        }
    }

    /// Sends DISCONNECT, waiting at most `wait` for it to be queued.
    pub async fn close(&self, wait: Duration) {
        let _ = tokio::time::timeout(wait, self.client.disconnect()).await;
    }
}

fn classify(e: ConnectionError) -> LinkDown {
    match e {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => LinkDown::BadCredentials,
            ConnectReturnCode::NotAuthorized => LinkDown::NotAuthorized,
            other => LinkDown::Refused(format!("{other:?}")),
        },
        other => LinkDown::Lost(other.to_string()),
    }
}

fn split_host_port(authority: &str, default_port: u16) -> anyhow::Result<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| anyhow::anyhow!("bad IPv6 host in {authority:?}"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse()?,
            None => default_port,
        };
        return Ok((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_owned(), port.parse()?)),
        None => Ok((authority.to_owned(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("localhost:8883", 1).unwrap(),
            ("localhost".into(), 8883)
        );
        assert_eq!(
            split_host_port("example.org", 443).unwrap(),
            ("example.org".into(), 443)
        );
        assert_eq!(split_host_port("[::1]:9", 1).unwrap(), ("::1".into(), 9));
        assert!(split_host_port("h:x", 1).is_err());
    }
}
