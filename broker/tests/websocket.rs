//! MQTT over WebSocket/TLS (SPEC §9: path `/mqtt`, subprotocol `mqtt`) with real clients:
//! rumqttc over `Transport::Wss` (MQTT 3.1.1 and 5), raw HTTP for the refusals, and a
//! hand-driven tungstenite client for the framing rules (packets split across and packed
//! into messages, text frames, oversized messages, pings) and a silent client.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rumqttc::mqttbytes::v4;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// The harness with the WebSocket/TLS listener on an ephemeral port.
fn run_wss<F, Fut>(test: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with(
        |broker, _| broker.wss_listen = Some("127.0.0.1:0".parse().unwrap()),
        test,
    )
}

fn wss_port(env: &Env) -> u16 {
    env.bound.wss.expect("the WSS listener is bound").port()
}

fn wss_url(env: &Env) -> String {
    format!("wss://localhost:{}/mqtt", wss_port(env))
}

fn wss_transport(env: &Env) -> Transport {
    Transport::Wss(TlsConfiguration::Simple {
        ca: env.ca.clone(),
        alpn: None,
        client_auth: None,
    })
}

/// A rumqttc MQTT 3.1.1 client over WebSocket/TLS.
fn v4_wss(env: &Env, client_id: &str, user: &str, pass: &str) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(client_id, wss_url(env), wss_port(env));
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(256 * 1024, 256 * 1024);
    o.set_transport(wss_transport(env));
    AsyncClient::new(o, 10)
}

/// A rumqttc MQTT 5 client over WebSocket/TLS.
fn v5_wss(
    env: &Env,
    client_id: &str,
    user: &str,
    pass: &str,
) -> (rumqttc::v5::AsyncClient, rumqttc::v5::EventLoop) {
    let mut o = rumqttc::v5::MqttOptions::new(client_id, wss_url(env), wss_port(env));
    o.set_credentials(user, pass);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_transport(wss_transport(env));
    rumqttc::v5::AsyncClient::new(o, 10)
}

/// A TLS connection to the WSS port, nothing sent yet.
async fn tls_to_wss(env: &Env) -> TlsStream<TcpStream> {
    tls_to(env, wss_port(env)).await
}

/// Sends a WebSocket upgrade request by hand and returns the whole HTTP answer as text (the
/// connection is closed after a refusal; after a 101 only the head is read).
async fn raw_upgrade(env: &Env, path: &str, protocols: Option<&str>) -> String {
    let mut tls = tls_to_wss(env).await;
    let protocol = protocols
        .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{protocol}\r\n"
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read until the server closes, or until a complete 101 head.
    while let Ok(Ok(n)) = tokio::time::timeout(WAIT, tls.read(&mut chunk)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A WebSocket to `/mqtt` offering `mqtt`, driven by hand (no MQTT client library).
async fn ws_client(env: &Env) -> Ws {
    let tls = tls_to_wss(env).await;
    let mut request = wss_url(env).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    let (ws, response) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "mqtt");
    ws
}

fn encode(packets: &[v4::Packet]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for p in packets {
        p.write(&mut buf, 1 << 20).unwrap();
    }
    buf.to_vec()
}

fn connect_packet(env: &Env, side: &str, password: &str) -> v4::Packet {
    let mut connect = v4::Connect::new(format!("{}.{side}", env.conn));
    connect.keep_alive = 30;
    connect.set_login(env.conn.as_str(), password);
    v4::Packet::Connect(connect)
}

/// Reads MQTT packets from binary messages (however they are split) until `n` are decoded.
async fn read_packets(ws: &mut Ws, buf: &mut BytesMut, n: usize) -> Vec<v4::Packet> {
    let mut out = Vec::new();
    while out.len() < n {
        match v4::Packet::read(buf, 1 << 20) {
            Ok(p) => {
                out.push(p);
                continue;
            }
            Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => panic!("bad MQTT from the broker: {e:?}"),
        }
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no data in time")
        {
            Some(Ok(Message::Binary(data))) => buf.extend_from_slice(&data),
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
    out
}

/// The close frame the server sends, skipping anything before it.
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no close in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("connection failed before a close frame: {e}"),
            None => panic!("connection ended without a close frame"),
        }
    }
}

#[test]
fn good_secret_connects_over_wss_v4_and_gets_welcome() {
    run_wss(|env| async move {
        let id = format!("{}.source", env.conn);
        let (client, mut el) = v4_wss(&env, &id, env.conn.as_str(), &env.secret);
        connack(&mut el).await.unwrap();
        let welcome = subscribe_source_for_welcome(&env, &client, &mut el).await;
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["role"], "offerer");
        assert_eq!(welcome["status"], "active");
        eventually(&env, |c| c.source.online).await;
        client.disconnect().await.unwrap();
        let _ = next_packet(&mut el).await;
        eventually(&env, |c| !c.source.online).await;
    });
}

#[test]
fn good_secret_connects_over_wss_v5_and_gets_welcome() {
    use rumqttc::v5::Event as V5Event;
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode as V5, Packet as V5Packet};
    run_wss(|env| async move {
        let id = format!("{}.target", env.conn);
        let (client, mut el) = v5_wss(&env, &id, env.conn.as_str(), &env.secret);
        let mut subscribed = false;
        let welcome = loop {
            let event = tokio::time::timeout(WAIT, el.poll())
                .await
                .expect("nothing in time")
                .unwrap();
            match event {
                V5Event::Incoming(V5Packet::ConnAck(ack)) => {
                    assert_eq!(ack.code, V5::Success);
                    // The CONNACK says what this broker does not offer.
                    let p = ack.properties.expect("CONNACK properties");
                    assert_eq!(p.retain_available, Some(0));
                    assert_eq!(p.wildcard_subscription_available, Some(0));
                    assert_eq!(p.shared_subscription_available, Some(0));
                    assert_eq!(p.subscription_identifiers_available, Some(0));
                    assert_eq!(p.max_qos, Some(1));
                    assert!(p.max_packet_size.is_some_and(|m| m > 64 * 1024));
                    client
                        .subscribe(rx(&env, "target"), rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                        .await
                        .unwrap();
                    subscribed = true;
                }
                V5Event::Incoming(V5Packet::Publish(p)) => break p,
                _ => {}
            }
        };
        assert!(subscribed);
        assert_eq!(welcome.topic, rx(&env, "target").as_bytes());
        let welcome: serde_json::Value = serde_json::from_slice(&welcome.payload).unwrap();
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["role"], "answerer");
        eventually(&env, |c| c.target.online).await;
    });
}

#[test]
fn bad_secret_gets_the_spec_connack_codes_over_wss() {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode as V5, Packet as V5Packet};
    run_wss(|env| async move {
        let src = format!("{}.source", env.conn);
        let user = env.conn.as_str().to_owned();
        let (_c, mut el) = v4_wss(&env, &src, &user, "sbs_wrong");
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::BadUserNamePassword)
        );
        let (_c, mut el) = v5_wss(&env, &src, &user, "sbs_wrong");
        let code = loop {
            match tokio::time::timeout(WAIT, el.poll())
                .await
                .expect("no CONNACK in time")
            {
                Ok(rumqttc::v5::Event::Incoming(V5Packet::ConnAck(a))) => break a.code,
                Ok(_) => {}
                Err(rumqttc::v5::ConnectionError::ConnectionRefused(code)) => break code,
                Err(e) => panic!("unexpected v5 error: {e:?}"),
            }
        };
        assert_eq!(code, V5::BadUserNamePassword);
        // The raw bytes: CONNACK, session-present 0, return code 4.
        let mut buf = BytesMut::new();
        let mut ws = ws_client(&env).await;
        ws.send(Message::binary(encode(&[connect_packet(
            &env,
            "source",
            "sbs_wrong",
        )])))
        .await
        .unwrap();
        let packets = read_packets(&mut ws, &mut buf, 1).await;
        let v4::Packet::ConnAck(ack) = &packets[0] else {
            panic!("expected CONNACK, got {packets:?}")
        };
        assert_eq!(ack.code, ConnectReturnCode::BadUserNamePassword);
    });
}

#[test]
fn wrong_path_is_refused_with_404() {
    run_wss(|env| async move {
        let answer = raw_upgrade(&env, "/", Some("mqtt")).await;
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(body.contains("/mqtt"), "{answer}");
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("content-length: {}", body.len())),
            "{answer}"
        );
        let answer = raw_upgrade(&env, "/mqtt/extra", Some("mqtt")).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        // A real WebSocket client sees the refusal too.
        let tls = tls_to_wss(&env).await;
        let mut request = format!("wss://localhost:{}/ws", wss_port(&env))
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
        match tokio_tungstenite::client_async(request, tls).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
            other => panic!("expected HTTP 404, got {other:?}"),
        }
    });
}

#[test]
fn a_request_without_the_mqtt_subprotocol_is_refused_with_400() {
    run_wss(|env| async move {
        for offered in [None, Some("chat"), Some("mqttv3.1, MQTT")] {
            let answer = raw_upgrade(&env, "/mqtt", offered).await;
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{offered:?}: {answer}"
            );
            assert!(
                answer.contains("subprotocol \"mqtt\" is required"),
                "{answer}"
            );
        }
        // `mqtt` anywhere in the list is accepted, and the answer names it.
        let answer = raw_upgrade(&env, "/mqtt?x=1", Some("chat, mqtt")).await;
        assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nsec-websocket-protocol: mqtt\r\n"),
            "{answer}"
        );
    });
}

#[test]
fn packets_may_span_messages_and_messages_may_hold_several_packets() {
    run_wss(|env| async move {
        let mut ws = ws_client(&env).await;
        // CONNECT in three binary messages, the first a single byte.
        let connect = encode(&[connect_packet(&env, "source", &env.secret)]);
        for part in [&connect[..1], &connect[1..7], &connect[7..]] {
            ws.send(Message::binary(part.to_vec())).await.unwrap();
        }
        let mut buf = BytesMut::new();
        let packets = read_packets(&mut ws, &mut buf, 1).await;
        let v4::Packet::ConnAck(ack) = &packets[0] else {
            panic!("expected CONNACK, got {packets:?}")
        };
        assert_eq!(ack.code, ConnectReturnCode::Success);
        // SUBSCRIBE and PINGREQ in one message; an empty message in between is harmless.
        ws.send(Message::binary(Vec::new())).await.unwrap();
        let mut subscribe = v4::Subscribe::new(rx(&env, "source"), QoS::AtLeastOnce);
        subscribe.pkid = 1;
        let both = encode(&[v4::Packet::Subscribe(subscribe), v4::Packet::PingReq]);
        ws.send(Message::binary(both)).await.unwrap();
        let packets = read_packets(&mut ws, &mut buf, 3).await;
        assert!(
            matches!(packets[0], v4::Packet::SubAck(ref a) if a.pkid == 1),
            "{packets:?}"
        );
        let welcome = packets
            .iter()
            .find_map(|p| match p {
                v4::Packet::Publish(p) => Some(p),
                _ => None,
            })
            .expect("welcome");
        let welcome: serde_json::Value = serde_json::from_slice(&welcome.payload).unwrap();
        assert_eq!(welcome["type"], "welcome");
        assert!(packets.iter().any(|p| matches!(p, v4::Packet::PingResp)));
        // A WebSocket ping is answered by the WebSocket layer, not seen by MQTT.
        ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Pong(data))) => assert_eq!(&data[..], b"hi"),
            other => panic!("expected a pong, got {other:?}"),
        }
        eventually(&env, |c| c.source.online).await;
        // Closing the WebSocket ends the session (EOF).
        ws.close(None).await.unwrap();
        eventually(&env, |c| !c.source.online).await;
    });
}

#[test]
fn a_text_frame_closes_with_protocol_error() {
    run_wss(|env| async move {
        let mut ws = ws_client(&env).await;
        ws.send(Message::text("CONNECT please")).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Protocol));
        // Also in the middle of a session.
        let mut ws = ws_client(&env).await;
        let mut subscribe = v4::Subscribe::new(rx(&env, "source"), QoS::AtLeastOnce);
        subscribe.pkid = 1;
        let connect = connect_packet(&env, "source", &env.secret);
        ws.send(Message::binary(encode(&[
            connect,
            v4::Packet::Subscribe(subscribe),
        ])))
        .await
        .unwrap();
        let mut buf = BytesMut::new();
        read_packets(&mut ws, &mut buf, 3).await; // CONNACK, SUBACK, welcome
        eventually(&env, |c| c.source.online).await;
        ws.send(Message::text("oops")).await.unwrap();
        assert_eq!(close_code(&mut ws).await, Some(CloseCode::Protocol));
        eventually(&env, |c| !c.source.online).await;
    });
}

#[test]
fn a_message_over_the_packet_limit_closes_with_1009() {
    let limit = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = limit.clone();
    run_with(
        move |broker, _| {
            broker.wss_listen = Some("127.0.0.1:0".parse().unwrap());
            seen.store(broker.max_packet(), std::sync::atomic::Ordering::SeqCst);
        },
        |env| async move {
            use tungstenite::protocol::frame::Frame;
            use tungstenite::protocol::frame::coding::{Data, OpCode};
            let limit = limit.load(std::sync::atomic::Ordering::SeqCst);
            // A message of two frames, each within the limit, together one byte over it:
            // refused when the last frame arrives, with close code 1009.
            let mut ws = ws_client(&env).await;
            let first = Frame::message(vec![0x10; limit], OpCode::Data(Data::Binary), false);
            let last = Frame::message(vec![0], OpCode::Data(Data::Continue), true);
            ws.send(Message::Frame(first)).await.unwrap();
            ws.send(Message::Frame(last)).await.unwrap();
            assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
            // One frame over the limit is refused from its header, before its payload is
            // read, so the client may see a reset instead of the close frame: the
            // connection ends either way.
            let mut ws = ws_client(&env).await;
            let _ = ws.send(Message::binary(vec![0x10; limit + 1])).await;
            let end = tokio::time::timeout(WAIT, ws.next())
                .await
                .expect("still open");
            assert!(
                matches!(end, Some(Ok(Message::Close(_)) | Err(_)) | None),
                "{end:?}"
            );
        },
    );
}

#[test]
fn a_silent_client_on_the_wss_port_does_not_delay_another() {
    run_with(
        |broker, _| {
            broker.wss_listen = Some("127.0.0.1:0".parse().unwrap());
            broker.handshake_timeout = Duration::from_secs(1);
        },
        |env| async move {
            // One silent before TLS, one silent after TLS (no HTTP upgrade).
            let _silent_tcp = TcpStream::connect(("127.0.0.1", wss_port(&env)))
                .await
                .unwrap();
            let mut silent_tls = tls_to_wss(&env).await;
            let start = std::time::Instant::now();
            let (_c, mut el) = v4_wss(
                &env,
                &format!("{}.source", env.conn),
                env.conn.as_str(),
                &env.secret,
            );
            connack(&mut el).await.unwrap();
            assert!(
                start.elapsed() < Duration::from_millis(900),
                "took {:?}",
                start.elapsed()
            );
            // The silent TLS client is dropped once the handshake timeout (1 s) passes.
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(WAIT, silent_tls.read(&mut byte))
                .await
                .expect("the silent client was not dropped");
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
            assert!(start.elapsed() >= Duration::from_millis(500));
        },
    );
}
