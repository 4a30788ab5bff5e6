//! The relay with a real TURN client (the `turn` crate's) over UDP on loopback: credentials
//! from the service's issuer allocate and relay data (and the bytes are counted); expired,
//! forged, revoked credentials and unusable connections are refused; dropping a connection
//! deletes its allocations.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard_actors::turn::{TurnIssuer, password, username};
use switchboard_domain::entities::Side;
use switchboard_domain::ids::ConnectionId;
use switchboard_relay::{Relay, RelaySettings};
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const SECRET: &[u8] = b"relay-test-secret";

async fn relay(usable: Arc<AtomicBool>) -> Relay {
    let settings = RelaySettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        advertise: None,
        relay_ip: "127.0.0.1".parse().unwrap(),
        realm: "switchboard".into(),
        secret: SECRET.to_vec(),
        credential_ttl: Duration::from_secs(3600),
        port_min: 40_000,
        port_max: 60_000,
        max_allocations_per_connection: 10,
        accounting_interval: Duration::from_millis(100),
    };
    Relay::start(settings, Arc::new(move |_| usable.load(Ordering::SeqCst)))
        .await
        .unwrap()
}

async fn client(server: SocketAddr, user: &str, pass: &str) -> Client {
    let conn = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let c = Client::new(ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: user.into(),
        password: pass.into(),
        realm: "switchboard".into(),
        software: String::new(),
        rto_in_ms: 0,
        conn: Arc::new(conn),
        vnet: None,
    })
    .await
    .unwrap();
    c.listen().await.unwrap();
    c
}

fn issued(c: &ConnectionId) -> (String, String) {
    let issuer = TurnIssuer {
        urls: vec![],
        secret: SECRET.to_vec(),
        ttl: Duration::from_secs(3600),
    };
    let s = issuer.issue(c, Side::Source, chrono::Utc::now());
    (s.username.unwrap(), s.credential.unwrap())
}

#[tokio::test]
async fn issued_credentials_allocate_and_relay_and_bytes_are_counted() {
    let relay = relay(Arc::new(AtomicBool::new(true))).await;
    let conn = ConnectionId::generate();
    let (user, pass) = issued(&conn);
    let c = client(relay.local_addr(), &user, &pass).await;
    let relayed = c
        .allocate()
        .await
        .expect("allocation with issued credentials");
    let relayed_addr = relayed.local_addr().unwrap();
    assert_eq!(relayed_addr.ip().to_string(), "127.0.0.1");
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relayed
        .send_to(b"hello through the relay", peer.local_addr().unwrap())
        .await
        .unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .expect("nothing relayed")
        .unwrap();
    assert_eq!(&buf[..n], b"hello through the relay");
    assert_eq!(from, relayed_addr);
    peer.send_to(b"and back", relayed_addr).await.unwrap();
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), relayed.recv_from(&mut buf))
        .await
        .expect("nothing came back")
        .unwrap();
    assert_eq!(&buf[..n], b"and back");
    let handle = relay.handle();
    assert_eq!(handle.allocations(&conn).await, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    // The `turn` crate counts what a client sends through its allocation (client → peer).
    while handle.relayed_bytes(&conn) != 23 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relayed bytes not counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn expired_forged_and_unusable_credentials_are_refused() {
    let usable = Arc::new(AtomicBool::new(true));
    let relay = relay(usable.clone()).await;
    let conn = ConnectionId::generate();
    // Expired an hour ago, correctly signed.
    let old = username(chrono::Utc::now().timestamp() - 3600, &conn, Side::Source);
    let c = client(relay.local_addr(), &old, &password(SECRET, &old)).await;
    assert!(c.allocate().await.is_err(), "expired credential allocated");
    // Valid username, password signed with another secret.
    let (user, _) = issued(&conn);
    let c = client(relay.local_addr(), &user, &password(b"other", &user)).await;
    assert!(c.allocate().await.is_err(), "forged credential allocated");
    // Not ours at all.
    let c = client(relay.local_addr(), "alice", "wonderland").await;
    assert!(c.allocate().await.is_err());
    // A connection that is not active/paused.
    usable.store(false, Ordering::SeqCst);
    let (user, pass) = issued(&conn);
    let c = client(relay.local_addr(), &user, &pass).await;
    assert!(
        c.allocate().await.is_err(),
        "terminated connection allocated"
    );
}

#[tokio::test]
async fn dropping_a_connection_deletes_its_allocations_and_refuses_its_credentials() {
    let relay = relay(Arc::new(AtomicBool::new(true))).await;
    let handle = relay.handle();
    let conn = ConnectionId::generate();
    let other = ConnectionId::generate();
    let (user, pass) = issued(&conn);
    let c = client(relay.local_addr(), &user, &pass).await;
    let _relayed = c.allocate().await.unwrap();
    let (ou, op) = issued(&other);
    let oc = client(relay.local_addr(), &ou, &op).await;
    let _other_relayed = oc.allocate().await.unwrap();
    assert_eq!(handle.allocations(&conn).await, 1);
    // Credentials issued in the same second as the revocation count as before it.
    tokio::time::sleep(Duration::from_millis(10)).await;
    handle.drop_connection(&conn);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while handle.allocations(&conn).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "allocation not deleted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        handle.allocations(&other).await,
        1,
        "another connection was touched"
    );
    let again = client(relay.local_addr(), &user, &pass).await;
    assert!(
        again.allocate().await.is_err(),
        "revoked credential allocated"
    );
    // Credentials issued after the revocation work.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (user, pass) = issued(&conn);
    let fresh = client(relay.local_addr(), &user, &pass).await;
    assert!(fresh.allocate().await.is_ok());
}
