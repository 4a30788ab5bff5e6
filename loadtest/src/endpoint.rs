//! Where the clients connect: `mqtt://host:port` (plain TCP) or `mqtts://host:port` (TLS with
//! the given CA), turned into rumqttc options with TCP_NODELAY, as a gateway would set them.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, EventLoop, MqttOptions, NetworkOptions, TlsConfiguration, Transport};

/// Largest packet a client sends or accepts: the protocol's 64 KiB message plus headers.
const MAX_PACKET_BYTES: usize = 64 * 1024 + 1024;

/// Seconds a client may take for TCP, TLS and CONNACK.
const CONNECT_TIMEOUT_SECS: u64 = 30;

/// A parsed `--broker` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// `mqtts://`.
    pub tls: bool,
    /// Host name or IP (also the TLS server name).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl FromStr for BrokerUrl {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let (tls, rest) = if let Some(rest) = s.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = s.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            bail!("broker URL {s:?} must start with mqtt:// or mqtts://");
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .with_context(|| format!("broker URL {s:?} needs a port (mqtt://host:port)"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            bail!("broker URL {s:?} has no host");
        }
        let port = port
            .parse()
            .with_context(|| format!("broker URL {s:?}: bad port {port:?}"))?;
        Ok(BrokerUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }
}

/// A broker and how to reach it.
#[derive(Clone)]
pub struct Endpoint {
    url: BrokerUrl,
    /// PEM of the CA that signs the broker's certificate (TLS only).
    ca: Option<Vec<u8>>,
    keep_alive: Duration,
}

impl Endpoint {
    /// Checks that a TLS URL comes with a CA file and reads it.
    pub fn new(
        url: BrokerUrl,
        ca: Option<&std::path::Path>,
        keep_alive: Duration,
    ) -> anyhow::Result<Self> {
        let ca = match (url.tls, ca) {
            (true, Some(path)) => Some(
                std::fs::read(path).with_context(|| format!("reading CA {}", path.display()))?,
            ),
            (true, None) => bail!("an mqtts:// broker needs --ca (the PEM that signs its cert)"),
            (false, _) => None,
        };
        Ok(Endpoint {
            url,
            ca,
            keep_alive,
        })
    }

    /// The broker URL.
    pub fn url(&self) -> &BrokerUrl {
        &self.url
    }

    /// A client and its event loop (not yet connected: the first poll connects).
    pub fn client(
        &self,
        client_id: &str,
        login: Option<(&str, &str)>,
        request_capacity: usize,
    ) -> (AsyncClient, EventLoop) {
        let mut o = MqttOptions::new(client_id, &self.url.host, self.url.port);
        o.set_keep_alive(self.keep_alive);
        o.set_clean_session(true);
        o.set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
        if let Some((user, password)) = login {
            o.set_credentials(user, password);
        }
        if let Some(ca) = &self.ca {
            o.set_transport(Transport::Tls(TlsConfiguration::Simple {
                ca: ca.clone(),
                alpn: None,
                client_auth: None,
            }));
        }
        let (client, mut eventloop) = AsyncClient::new(o, request_capacity);
        let mut network = NetworkOptions::new();
        network.set_tcp_nodelay(true);
        network.set_connection_timeout(CONNECT_TIMEOUT_SECS);
        eventloop.set_network_options(network);
        (client, eventloop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u: BrokerUrl = "mqtts://localhost:8883".parse().unwrap();
        assert_eq!(
            u,
            BrokerUrl {
                tls: true,
                host: "localhost".into(),
                port: 8883
            }
        );
        let u: BrokerUrl = "mqtt://127.0.0.1:1883/".parse().unwrap();
        assert!(!u.tls);
        assert_eq!(u.port, 1883);
        let u: BrokerUrl = "mqtt://[::1]:1883".parse().unwrap();
        assert_eq!(u.host, "::1");
        for bad in ["tcp://x:1", "mqtt://x", "mqtt://:1", "mqtt://x:port"] {
            assert!(bad.parse::<BrokerUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_needs_a_ca() {
        let url: BrokerUrl = "mqtts://localhost:1".parse().unwrap();
        assert!(Endpoint::new(url, None, Duration::from_secs(60)).is_err());
    }
}
