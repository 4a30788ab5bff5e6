//! The real binary with real MQTT/TLS gateways (rumqttc): two gateways signal through the
//! server, presence shows in the API, and presence left behind by a crash (SIGKILL with both
//! gateways online) is cleared when the server starts again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use serde_json::{Value, json};
use support::*;

fn mqtt_port(data_dir: &Path) -> u16 {
    let text = std::fs::read_to_string(data_dir.join("listeners.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["mqtt_tls"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A gateway online on its `rx`; returns the client and a channel of what it receives.
async fn gateway(
    data_dir: &Path,
    conn: &str,
    secret: &str,
    side: &str,
) -> (AsyncClient, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let ca = std::fs::read(data_dir.join("tls/dev-ca.pem")).unwrap();
    let mut o = MqttOptions::new(format!("{conn}.{side}"), "localhost", mqtt_port(data_dir));
    o.set_credentials(conn, secret);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_transport(Transport::Tls(TlsConfiguration::Simple {
        ca,
        alpn: None,
        client_auth: None,
    }));
    let (client, mut el) = AsyncClient::new(o, 10);
    client
        .subscribe(format!("sb/v1/c/{conn}/{side}/rx"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = el.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                let _ = tx.send(serde_json::from_slice(&p.payload).unwrap());
            }
        }
    });
    (client, rx)
}

async fn next_of(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>, kind: &str) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("nothing in time")
            .expect("session ended");
        if m["type"] == kind {
            return m;
        }
    }
}

#[test]
fn gateways_signal_through_the_binary_and_a_crash_leaves_no_ghost_presence() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (conn, secret, owner) = self_connection(&server);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (source, mut source_rx) = gateway(dir.path(), &conn, &secret, "source").await;
        assert_eq!(next_of(&mut source_rx, "welcome").await["role"], "offerer");
        let (target, mut target_rx) = gateway(dir.path(), &conn, &secret, "target").await;
        assert_eq!(
            next_of(&mut target_rx, "welcome").await["peer_online"],
            true
        );
        let offer = json!({"v": 1, "type": "offer", "session": "s1", "sdp": "v=0"});
        source
            .publish(
                format!("sb/v1/c/{conn}/source/tx"),
                QoS::AtLeastOnce,
                false,
                offer.to_string(),
            )
            .await
            .unwrap();
        assert_eq!(next_of(&mut target_rx, "offer").await, offer);
        let c = connectivity(&server, &conn, &owner);
        assert_eq!(
            (c["source"]["online"].clone(), c["target"]["online"].clone()),
            (json!(true), json!(true)),
            "{c}"
        );
        drop((source, target));
    });
    server.kill();
    drop(rt);
    let server = Server::start(dir.path());
    let c = connectivity(&server, &conn, &owner);
    assert_eq!(c["source"]["online"], false, "{c}");
    assert_eq!(c["target"]["online"], false, "{c}");
    assert!(
        server
            .stderr
            .lock()
            .unwrap()
            .contains("presence from the previous run cleared")
    );
    server.terminate();
}

async fn turn_allocate(
    server: std::net::SocketAddr,
    user: &str,
    pass: &str,
) -> Result<(turn::client::Client, impl webrtc_util::Conn), turn::Error> {
    let conn = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: user.into(),
        password: pass.into(),
        realm: "switchboard".into(),
        software: String::new(),
        rto_in_ms: 0,
        conn: std::sync::Arc::new(conn),
        vnet: None,
    })
    .await?;
    client.listen().await?;
    let relayed = client.allocate().await?;
    Ok((client, relayed))
}

#[test]
fn welcome_carries_turn_credentials_that_allocate_until_the_connection_is_terminated() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (conn, secret, owner) = self_connection(&server);
    let turn_addr = listener(dir.path(), "turn");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_source, mut source_rx) = gateway(dir.path(), &conn, &secret, "source").await;
        let welcome = next_of(&mut source_rx, "welcome").await;
        let ice = &welcome["ice_servers"][0];
        assert_eq!(
            ice["urls"][0],
            format!("turn:{turn_addr}?transport=udp"),
            "{welcome}"
        );
        let user = ice["username"].as_str().unwrap().to_owned();
        let pass = ice["credential"].as_str().unwrap().to_owned();
        let (expiry, client_id) = user.split_once(':').unwrap();
        assert_eq!(client_id, format!("{conn}.source"));
        let ttl = expiry.parse::<i64>().unwrap() - chrono::Utc::now().timestamp();
        assert!((3590..=3600).contains(&ttl), "credential lifetime {ttl} s");
        // The coturn REST scheme with the secret in the data dir.
        let turn_secret = std::fs::read_to_string(dir.path().join("turn-secret")).unwrap();
        let expected = {
            use base64::Engine;
            use hmac::Mac;
            let mut mac =
                hmac::Hmac::<sha1::Sha1>::new_from_slice(turn_secret.trim().as_bytes()).unwrap();
            mac.update(user.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(pass, expected);
        let (client, _relayed) = turn_allocate(turn_addr, &user, &pass)
            .await
            .expect("the issued credential allocates");
        // Terminate: the live allocation is deleted and the credential refused from now on.
        let (s, v) = call(
            server.http,
            "POST",
            &format!("/v1/connections/{conn}/terminate"),
            Some(&owner),
            None,
        );
        assert_eq!(s, 200, "{v}");
        assert!(
            turn_allocate(turn_addr, &user, &pass).await.is_err(),
            "terminated connection allocated"
        );
        client.close().await.unwrap();
    });
    server.terminate();
}
