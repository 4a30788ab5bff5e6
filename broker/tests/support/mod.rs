//! The broker test harness: a real store in a temp dir, a real actix System, the broker on
//! an ephemeral TLS port, a self-peering connection made active through the service, and
//! helpers for rumqttc clients and hand-written MQTT over TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    dead_code,
    unused_imports
)]

pub use std::future::Future;
pub use std::sync::Arc;
pub use std::time::Duration;

pub use chrono::{DateTime, Utc};
pub use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS,
    SubscribeReasonCode, TlsConfiguration, Transport,
};
pub use switchboard_actors::service::types::*;
pub use switchboard_actors::{ActorSettings, ManualClock, StoreHandle, Switchboard};
pub use switchboard_broker::{Broker, BrokerSettings, BrokerSink, LiveSessions};
pub use switchboard_domain::Caller;
pub use switchboard_domain::entities::{AuthFailureReason, Direction};
pub use switchboard_domain::ids::{ConnectionId, UserId};
pub use switchboard_domain::tiers::{Tier, TierTable};
pub use switchboard_storage::{MasterKey, Store};

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Env {
    pub svc: Switchboard,
    pub clock: Arc<ManualClock>,
    pub port: u16,
    /// Every address the broker bound.
    pub bound: switchboard_broker::Bound,
    pub ca: Vec<u8>,
    pub me: Caller,
    pub conn: ConnectionId,
    pub secret: String,
    /// Starts the broker's shutdown (the harness does it after the test otherwise).
    pub stop: Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

pub fn run<F, Fut>(test: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(|_, _| {}, test)
}

/// [`run`] with the broker's and the actors' settings adjusted first.
pub fn run_with<C, F, Fut>(configure: C, test: F)
where
    C: FnOnce(&mut BrokerSettings, &mut ActorSettings),
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb"), MasterKey::generate()).unwrap();
    let sys = actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    });
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![ck.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into()),
        )
        .unwrap();
    let mut settings = BrokerSettings::new("127.0.0.1:0".parse().unwrap(), Arc::new(server));
    settings.handshake_timeout = Duration::from_secs(3);
    let mut actor_settings = ActorSettings::default();
    configure(&mut settings, &mut actor_settings);
    sys.block_on(async move {
        let arbiter = actix::Arbiter::new();
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let clock = Arc::new(ManualClock::new(t0));
        let sessions = LiveSessions::new();
        let svc = Switchboard::new(
            StoreHandle::new(Arc::new(store)),
            arbiter.handle(),
            Arc::new(BrokerSink::new(sessions.clone())),
            clock.clone(),
            TierTable::default(),
            actor_settings,
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (bound, task) = Broker::start(svc.clone(), sessions, settings, async {
            let _ = stop_rx.await;
        })
        .await
        .unwrap();
        let (me, conn) = self_connection(&svc).await;
        let secret = svc.view_secret(&me, &conn).await.unwrap().secret;
        let stop = Arc::new(std::sync::Mutex::new(Some(stop_tx)));
        let env = Env {
            svc,
            clock,
            port: bound.tls.port(),
            bound,
            ca: ck.cert.pem().into_bytes(),
            me,
            conn,
            secret,
            stop: stop.clone(),
        };
        test(env).await;
        if let Some(stop_tx) = stop.lock().unwrap().take() {
            let _ = stop_tx.send(());
        }
        let _ = task.await;
        arbiter.stop();
    });
}

pub async fn self_connection(svc: &Switchboard) -> (Caller, ConnectionId) {
    let admin = Caller::PlatformAdmin {
        user: UserId::generate(),
    };
    let created = svc
        .create_org(
            &admin,
            NewOrg {
                name: "SOLO".into(),
                slug: "solo".into(),
                tier: Some(Tier::Standard),
                discoverable: Some(true),
                description: None,
                owner: NewUser {
                    email: "owner@solo.example".into(),
                    name: "Owner".into(),
                },
            },
        )
        .await
        .unwrap();
    let me = svc.authenticate(&created.owner_token).await.unwrap();
    let mut servers = Vec::new();
    for name in ["one", "two"] {
        let s = svc
            .create_server(
                &me,
                NewServer {
                    name: name.into(),
                    description: None,
                    kind: "mirth".into(),
                    version: None,
                },
            )
            .await
            .unwrap();
        servers.push(s.id);
    }
    let ch = svc
        .create_channel(
            &me,
            &servers[1],
            NewChannel {
                internal_name: "ADT_IN".into(),
                public_name: "ADT".into(),
                public_description: None,
                direction: Direction::Listener,
                published: Some(true),
            },
        )
        .await
        .unwrap();
    let req = svc
        .send_peering_request(
            &me,
            NewPeeringRequest {
                to_org: "solo".into(),
            },
        )
        .await
        .unwrap();
    let grant = svc
        .create_grant(
            &me,
            NewGrant {
                agreement_id: req.request.agreement_id.clone().unwrap(),
                channel_id: ch.id,
            },
        )
        .await
        .unwrap();
    svc.decide_grant(
        &me,
        &grant.grant.id,
        switchboard_domain::rules::grant::GrantEvent::Approve,
    )
    .await
    .unwrap();
    let conn = svc
        .provision(
            &me,
            NewP2p {
                grant_id: grant.grant.id,
                source_server_id: servers[0].clone(),
                target_server_id: servers[1].clone(),
                mode: None,
            },
        )
        .await
        .unwrap();
    svc.move_connection(&me, &conn.id, ConnectionMove::Activate)
        .await
        .unwrap();
    (me, conn.id)
}

pub fn tls(env: &Env) -> Transport {
    Transport::Tls(TlsConfiguration::Simple {
        ca: env.ca.clone(),
        alpn: None,
        client_auth: None,
    })
}

pub fn v4(env: &Env, client_id: &str, user: &str, pass: &str) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(client_id, "localhost", env.port);
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(256 * 1024, 256 * 1024);
    o.set_transport(tls(env));
    AsyncClient::new(o, 10)
}

/// Polls until CONNACK: `Ok` on success, the refusal code otherwise.
pub async fn connack(el: &mut EventLoop) -> Result<(), ConnectReturnCode> {
    loop {
        match tokio::time::timeout(WAIT, el.poll())
            .await
            .expect("no CONNACK in time")
        {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Err(e) => panic!("unexpected error before CONNACK: {e:?}"),
        }
    }
}

/// The next incoming packet other than pings and acks of our own sends.
pub async fn next_packet(el: &mut EventLoop) -> Result<Packet, ConnectionError> {
    loop {
        match tokio::time::timeout(WAIT, el.poll())
            .await
            .expect("nothing in time")?
        {
            Event::Incoming(Packet::PingResp) | Event::Outgoing(_) => {}
            Event::Incoming(p) => return Ok(p),
        }
    }
}

pub fn rx(env: &Env, side: &str) -> String {
    format!("sb/v1/c/{}/{side}/rx", env.conn)
}

pub async fn v5_code(
    env: &Env,
    client_id: &str,
    user: &str,
    pass: &str,
) -> rumqttc::v5::mqttbytes::v5::ConnectReturnCode {
    use rumqttc::v5::{AsyncClient, ConnectionError, MqttOptions};
    let mut o = MqttOptions::new(client_id, "localhost", env.port);
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_transport(tls(env));
    let (_c, mut el) = AsyncClient::new(o, 10);
    loop {
        match tokio::time::timeout(WAIT, el.poll())
            .await
            .expect("no CONNACK in time")
        {
            Ok(rumqttc::v5::Event::Incoming(rumqttc::v5::mqttbytes::v5::Packet::ConnAck(a))) => {
                return a.code;
            }
            Ok(_) => {}
            Err(ConnectionError::ConnectionRefused(code)) => return code,
            Err(e) => panic!("unexpected v5 error: {e:?}"),
        }
    }
}

pub async fn side_state(env: &Env) -> switchboard_domain::entities::Connectivity {
    env.svc
        .get_connection(&env.me, &env.conn)
        .await
        .unwrap()
        .connectivity
}

pub async fn eventually<F: Fn(&switchboard_domain::entities::Connectivity) -> bool>(
    env: &Env,
    f: F,
) {
    for _ in 0..20 {
        if f(&side_state(env).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "condition not reached within a second: {:?}",
        side_state(env).await
    );
}

/// The CONNACK bytes on the wire, read with a raw TLS client (no MQTT library decoding).
pub async fn raw_connack(env: &Env, level: u8, client_id: &str, user: &str, pass: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut tls = raw_connect(env, level, client_id, user, pass).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut out)).await;
    out
}

/// A TLS connection to `port` on loopback, the server checked against the test CA (as
/// `localhost`); nothing sent yet.
pub async fn tls_to(
    env: &Env,
    port: u16,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(&env.ca) {
        roots.add(cert).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// Subscribes a v4 source to its `rx`, checks the SUBACK grants it, and returns the `welcome`
/// that follows (checked to be on `rx`).
pub async fn subscribe_source_for_welcome(
    env: &Env,
    client: &AsyncClient,
    el: &mut EventLoop,
) -> serde_json::Value {
    client
        .subscribe(rx(env, "source"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let Packet::SubAck(ack) = next_packet(el).await.unwrap() else {
        panic!("no SUBACK")
    };
    assert!(matches!(
        ack.return_codes[0],
        SubscribeReasonCode::Success(_)
    ));
    let Packet::Publish(p) = next_packet(el).await.unwrap() else {
        panic!("no welcome")
    };
    assert_eq!(p.topic, rx(env, "source"));
    serde_json::from_slice(&p.payload).unwrap()
}

/// A TLS connection that has sent a CONNECT, written by hand (no client library in between).
pub async fn raw_connect(
    env: &Env,
    level: u8,
    client_id: &str,
    user: &str,
    pass: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let mut tls = tls_to(env, env.port).await;
    let mut body = Vec::new();
    let field = |b: &mut Vec<u8>, s: &[u8]| {
        b.extend_from_slice(&u16::try_from(s.len()).unwrap().to_be_bytes());
        b.extend_from_slice(s);
    };
    field(&mut body, b"MQTT");
    body.extend_from_slice(&[level, 0b1100_0010, 0, 30]);
    if level == 5 {
        body.push(0); // no properties
    }
    field(&mut body, client_id.as_bytes());
    field(&mut body, user.as_bytes());
    field(&mut body, pass.as_bytes());
    let mut packet = vec![0x10];
    let mut len = body.len();
    loop {
        let byte = u8::try_from(len % 128).unwrap();
        len /= 128;
        packet.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    tls.write_all(&packet).await.unwrap();
    tls
}

pub fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .map(Result::unwrap)
        .collect()
}
