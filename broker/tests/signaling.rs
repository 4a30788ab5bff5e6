//! The signaling relay over real TLS with real rumqttc clients (SPEC §9): offer / answer /
//! candidate / bye relayed unchanged between the two sides, `peer` presence messages, every
//! `error` refusal, the session timeout, rate limits, malformed and oversized messages,
//! `tunnel` reports reaching the API, `ice_refresh`, and kicks on rotate and revoke.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::*;

/// A connected gateway holding its `rx` subscription, with its `welcome` read. Its event
/// loop runs in a task of its own (as in a real client), forwarding what arrives on `rx`.
struct Gw {
    client: AsyncClient,
    inbox: tokio::sync::mpsc::UnboundedReceiver<Result<Vec<u8>, String>>,
    tx: String,
    welcome: Value,
}

impl Gw {
    async fn online(env: &Env, side: &str) -> Gw {
        let id = format!("{}.{side}", env.conn);
        let (client, mut el) = v4(env, &id, env.conn.as_str(), &env.secret);
        connack(&mut el).await.unwrap();
        client
            .subscribe(rx(env, side), QoS::AtLeastOnce)
            .await
            .unwrap();
        let (tx, inbox) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(Ok(p.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:?}")));
                        return;
                    }
                }
            }
        });
        let mut gw = Gw {
            client,
            inbox,
            tx: format!("sb/v1/c/{}/{side}/tx", env.conn),
            welcome: Value::Null,
        };
        gw.welcome = gw.recv().await;
        assert_eq!(gw.welcome["type"], "welcome", "welcome comes first");
        gw
    }

    async fn send(&self, message: &Value) {
        self.send_raw(message.to_string().into_bytes()).await;
    }

    async fn send_raw(&self, payload: Vec<u8>) {
        self.client
            .publish(&self.tx, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// The next payload received on `rx`.
    async fn recv_raw(&mut self) -> Vec<u8> {
        match tokio::time::timeout(WAIT, self.inbox.recv()).await {
            Ok(Some(Ok(payload))) => payload,
            Ok(Some(Err(e))) => panic!("session ended: {e}"),
            Ok(None) => panic!("session ended"),
            Err(_) => panic!("nothing received in time"),
        }
    }

    async fn recv(&mut self) -> Value {
        serde_json::from_slice(&self.recv_raw().await).unwrap()
    }

    /// The next message of `kind`, skipping others (e.g. `peer`).
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let m = self.recv().await;
            if m["type"] == kind {
                return m;
            }
        }
    }

    /// Asserts nothing arrives for `wait`.
    async fn quiet(&mut self, wait: Duration) {
        if let Ok(Some(got)) = tokio::time::timeout(wait, self.inbox.recv()).await {
            panic!(
                "unexpected: {:?}",
                got.map(|p| String::from_utf8_lossy(&p).into_owned())
            );
        }
    }

    /// Waits until the session ends; how it ended.
    async fn closed(&mut self) -> String {
        loop {
            match tokio::time::timeout(WAIT, self.inbox.recv())
                .await
                .expect("still connected")
            {
                Some(Ok(_)) => {}
                Some(Err(e)) => return e,
                None => return "gone".into(),
            }
        }
    }
}

fn offer(session: &str) -> Value {
    json!({"v": 1, "type": "offer", "session": session, "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"})
}

fn candidate(session: &str, n: u32) -> Value {
    json!({"v": 1, "type": "candidate", "session": session,
           "candidate": {"candidate": format!("candidate:{n} 1 udp 2122260223 10.0.0.{n} 5000{n} typ host"),
                         "sdpMid": "0", "sdpMLineIndex": 0}})
}

/// Both sides online; the target has seen the source's offer.
async fn pair_with_session(env: &Env, session: &str) -> (Gw, Gw) {
    let mut source = Gw::online(env, "source").await;
    let mut target = Gw::online(env, "target").await;
    assert_eq!(source.next_of("peer").await["online"], true);
    source.send(&offer(session)).await;
    assert_eq!(target.next_of("offer").await["session"], session);
    (source, target)
}

async fn expect_error(gw: &mut Gw, code: &str, reference: &str) -> Value {
    let e = gw.next_of("error").await;
    assert_eq!(e["code"], code, "{e}");
    assert_eq!(e["ref"], reference, "{e}");
    assert_eq!(e["v"], 1);
    e
}

#[test]
fn offer_answer_candidates_and_bye_are_relayed_unchanged() {
    run(|env| async move {
        let mut source = Gw::online(&env, "source").await;
        assert_eq!(source.welcome["role"], "offerer");
        assert_eq!(source.welcome["peer_online"], false);
        assert_eq!(source.welcome["session_timeout_s"], 30);
        let mut target = Gw::online(&env, "target").await;
        assert_eq!(target.welcome["role"], "answerer");
        assert_eq!(target.welcome["peer_online"], true);
        assert_eq!(
            source.next_of("peer").await,
            json!({"v": 1, "type": "peer", "online": true})
        );

        // Byte for byte, including fields the server does not know.
        let sent = br#"{"v":1,"type":"offer","session":"s1","sdp":"v=0\r\n","x-trace":"abc"}"#;
        source.send_raw(sent.to_vec()).await;
        assert_eq!(target.recv_raw().await, sent);
        let answer = json!({"v": 1, "type": "answer", "session": "s1", "sdp": "v=0 answer"});
        target.send(&answer).await;
        assert_eq!(source.recv().await, answer);
        for n in 1..=3 {
            source.send(&candidate("s1", n)).await;
            assert_eq!(target.recv().await, candidate("s1", n));
            target.send(&candidate("s1", 10 + n)).await;
            assert_eq!(source.recv().await, candidate("s1", 10 + n));
        }
        let end = json!({"v": 1, "type": "candidate", "session": "s1", "candidate": null});
        target.send(&end).await;
        assert_eq!(source.recv().await, end);
        let bye = json!({"v": 1, "type": "bye", "session": "s1", "reason": "done"});
        source.send(&bye).await;
        assert_eq!(target.recv().await, bye);
        // The session is over: its messages are stale now.
        target.send(&candidate("s1", 9)).await;
        let e = expect_error(&mut target, "stale_session", "candidate").await;
        assert_eq!(e["session"], "s1");
        // A new offer starts a new session, replacing any other.
        source.send(&offer("s2")).await;
        assert_eq!(target.next_of("offer").await["session"], "s2");
        source.send(&offer("s3")).await;
        assert_eq!(target.next_of("offer").await["session"], "s3");
        target
            .send(&json!({"v": 1, "type": "answer", "session": "s2", "sdp": "x"}))
            .await;
        expect_error(&mut target, "stale_session", "answer").await;

        // The target leaves: the source is told.
        target.client.disconnect().await.unwrap();
        let _ = target.closed().await;
        assert_eq!(source.next_of("peer").await["online"], false);
        source.send(&offer("s4")).await;
        expect_error(&mut source, "peer_offline", "offer").await;
    });
}

#[test]
fn role_status_and_session_refusals() {
    run(|env| async move {
        let mut source = Gw::online(&env, "source").await;
        // Peer offline: nothing to relay to.
        source.send(&offer("s1")).await;
        expect_error(&mut source, "peer_offline", "offer").await;
        let mut target = Gw::online(&env, "target").await;
        source.next_of("peer").await;
        // Roles.
        target.send(&offer("t1")).await;
        expect_error(&mut target, "not_offerer", "offer").await;
        source
            .send(&json!({"v": 1, "type": "answer", "session": "s1", "sdp": "x"}))
            .await;
        expect_error(&mut source, "not_offerer", "answer").await;
        // No session yet.
        target
            .send(&json!({"v": 1, "type": "answer", "session": "s1", "sdp": "x"}))
            .await;
        expect_error(&mut target, "stale_session", "answer").await;
        source.send(&candidate("s1", 1)).await;
        expect_error(&mut source, "stale_session", "candidate").await;
        // Paused: no new session; the status push arrives first.
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Pause)
            .await
            .unwrap();
        assert_eq!(source.next_of("status").await["status"], "paused");
        assert_eq!(target.next_of("status").await["status"], "paused");
        source.send(&offer("s2")).await;
        let e = expect_error(&mut source, "not_active", "offer").await;
        assert!(e["message"].as_str().unwrap().contains("paused"), "{e}");
        target.quiet(Duration::from_millis(300)).await;
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Resume)
            .await
            .unwrap();
        assert_eq!(source.next_of("status").await["status"], "active");
        source.send(&offer("s3")).await;
        assert_eq!(target.next_of("offer").await["session"], "s3");
    });
}

#[test]
fn bad_and_oversized_messages_get_bad_message_and_the_session_survives() {
    run(|env| async move {
        let (mut source, mut target) = pair_with_session(&env, "s1").await;
        source.send_raw(b"not json".to_vec()).await;
        let e = source.next_of("error").await;
        assert_eq!(e["code"], "bad_message");
        assert_eq!(e["ref"], Value::Null);
        source.send(&json!({"v": 1, "type": "hello"})).await;
        let e = expect_error(&mut source, "bad_message", "hello").await;
        assert!(
            e["message"].as_str().unwrap().contains("unknown type"),
            "{e}"
        );
        source
            .send(&json!({"v": 2, "type": "offer", "session": "s", "sdp": "x"}))
            .await;
        expect_error(&mut source, "bad_message", "offer").await;
        source
            .send(&json!({"v": 1, "type": "offer", "session": "s"}))
            .await;
        let e = expect_error(&mut source, "bad_message", "offer").await;
        assert!(e["message"].as_str().unwrap().contains("sdp"), "{e}");
        // 70 KiB: over the 64 KiB limit, refused with an error, not a disconnect.
        let big = json!({"v": 1, "type": "candidate", "session": "s1",
                         "candidate": {"candidate": "a".repeat(70 * 1024)}});
        source.send(&big).await;
        let e = source.next_of("error").await;
        assert_eq!(e["code"], "bad_message");
        assert!(
            e["message"].as_str().unwrap().contains("larger than"),
            "{e}"
        );
        // Nothing reached the peer, and the session still relays.
        source.send(&candidate("s1", 1)).await;
        assert_eq!(target.recv().await, candidate("s1", 1));
    });
}

#[test]
fn too_many_malformed_messages_disconnect() {
    run_with(
        |broker, _| broker.malformed_per_minute = 5,
        |env| async move {
            let mut source = Gw::online(&env, "source").await;
            for _ in 0..5 {
                source.send_raw(b"{".to_vec()).await;
                assert_eq!(source.next_of("error").await["code"], "bad_message");
            }
            source.send_raw(b"{".to_vec()).await;
            let _ = source.closed().await;
            // A fresh session is accepted.
            Gw::online(&env, "source").await;
        },
    );
}

#[test]
fn rate_limits_per_connection() {
    run_with(
        |_, actors| {
            actors.offers_per_minute = 3;
            actors.signaling_messages_per_minute = 12;
        },
        |env| async move {
            let (mut source, mut target) = pair_with_session(&env, "s0").await;
            for n in 1..=2 {
                source.send(&offer(&format!("s{n}"))).await;
                target.next_of("offer").await;
            }
            source.send(&offer("s9")).await;
            let e = expect_error(&mut source, "rate_limited", "offer").await;
            assert!(e["message"].as_str().unwrap().contains("3 offers"), "{e}");
            // 4 messages so far; 8 more candidates pass, then the budget is spent.
            for n in 0..8 {
                source.send(&candidate("s2", n)).await;
                assert_eq!(target.recv().await["type"], "candidate");
            }
            target.send(&candidate("s2", 99)).await;
            expect_error(&mut target, "rate_limited", "candidate").await;
        },
    );
}

#[test]
fn a_session_not_connected_in_time_ends_with_bye_timeout() {
    run_with(
        |_, actors| actors.session_timeout = Duration::from_millis(600),
        |env| async move {
            let (mut source, mut target) = pair_with_session(&env, "s1").await;
            assert_eq!(source.welcome["session_timeout_s"], 0);
            let started = std::time::Instant::now();
            let bye = json!({"v": 1, "type": "bye", "session": "s1", "reason": "timeout"});
            assert_eq!(source.next_of("bye").await, bye);
            assert_eq!(target.next_of("bye").await, bye);
            assert!(started.elapsed() < Duration::from_secs(2));
            target
                .send(&json!({"v": 1, "type": "answer", "session": "s1", "sdp": "x"}))
                .await;
            expect_error(&mut target, "stale_session", "answer").await;

            // Tunnel-connected in time: no timeout, and the API shows it.
            source.send(&offer("s2")).await;
            target.next_of("offer").await;
            source
                .send(
                    &json!({"v": 1, "type": "tunnel", "session": "s2", "state": "connected",
                               "path": "relay", "local_type": "relay", "remote_type": "host"}),
                )
                .await;
            eventually(&env, |c| {
                c.state == switchboard_domain::entities::OverallConnectivity::Connected
                    && c.last_path == Some(switchboard_domain::entities::TunnelPath::Relay)
                    && c.last_connected_at.is_some()
            })
            .await;
            target.quiet(Duration::from_millis(1200)).await;
            source
                .send(&json!({"v": 1, "type": "tunnel", "session": "s2", "state": "closed"}))
                .await;
            eventually(&env, |c| {
                c.state == switchboard_domain::entities::OverallConnectivity::Disconnected
            })
            .await;

            // A `bye` ends a connected tunnel just as `tunnel closed` does, and is relayed.
            source.send(&offer("s3")).await;
            target.next_of("offer").await;
            target
                .send(
                    &json!({"v": 1, "type": "tunnel", "session": "s3", "state": "connected",
                              "path": "direct"}),
                )
                .await;
            eventually(&env, |c| {
                c.state == switchboard_domain::entities::OverallConnectivity::Connected
            })
            .await;
            let bye = json!({"v": 1, "type": "bye", "session": "s3", "reason": "shutdown"});
            source.send(&bye).await;
            assert_eq!(target.next_of("bye").await, bye);
            eventually(&env, |c| {
                c.state == switchboard_domain::entities::OverallConnectivity::Disconnected
            })
            .await;
        },
    );
}

#[test]
fn ice_refresh_answers_with_ice_servers() {
    run(|env| async move {
        env.svc.set_gateway_info(GatewayInfo {
            ice_servers: vec![IceServer {
                urls: vec!["stun:stun.example.org:3478".into()],
                username: None,
                credential: None,
            }],
            ..GatewayInfo::default()
        });
        let mut target = Gw::online(&env, "target").await;
        assert_eq!(
            target.welcome["ice_servers"],
            json!([{"urls": ["stun:stun.example.org:3478"]}])
        );
        target.send(&json!({"v": 1, "type": "ice_refresh"})).await;
        let ice = target.next_of("ice").await;
        assert_eq!(ice["ice_servers"], target.welcome["ice_servers"]);
    });
}

#[test]
fn rotating_the_secret_kicks_and_the_old_secret_is_refused() {
    run(|env| async move {
        let mut source = Gw::online(&env, "source").await;
        let started = std::time::Instant::now();
        let rotated = env.svc.rotate_secret(&env.me, &env.conn).await.unwrap();
        let _ = source.closed().await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let id = format!("{}.source", env.conn);
        let (_c, mut el) = v4(&env, &id, env.conn.as_str(), &env.secret);
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::BadUserNamePassword)
        );
        let new_secret = rotated
            .secret
            .expect("the rotating owner sees the new secret");
        let (_c, mut el) = v4(&env, &id, env.conn.as_str(), &new_secret);
        connack(&mut el).await.unwrap();
    });
}

#[test]
fn revoking_the_agreement_kicks_both_sides() {
    run(|env| async move {
        let mut source = Gw::online(&env, "source").await;
        let mut target = Gw::online(&env, "target").await;
        let agreement = env
            .svc
            .get_connection(&env.me, &env.conn)
            .await
            .unwrap()
            .agreement_id;
        let started = std::time::Instant::now();
        env.svc.revoke_agreement(&env.me, &agreement).await.unwrap();
        let _ = source.closed().await;
        let _ = target.closed().await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let id = format!("{}.target", env.conn);
        let (_c, mut el) = v4(&env, &id, env.conn.as_str(), &env.secret);
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::NotAuthorized)
        );
    });
}

#[test]
fn a_v5_gateway_and_a_v4_gateway_signal_each_other() {
    run(|env| async move {
        use rumqttc::v5::mqttbytes::v5::Packet as P5;
        use rumqttc::v5::{AsyncClient as Client5, Event as Event5, MqttOptions as Options5};
        let mut o = Options5::new(format!("{}.target", env.conn), "localhost", env.port);
        o.set_credentials(env.conn.as_str(), env.secret.as_str());
        o.set_keep_alive(Duration::from_secs(30));
        o.set_transport(tls(&env));
        let (target, mut el) = Client5::new(o, 10);
        target
            .subscribe(rx(&env, "target"), rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
            .await
            .unwrap();
        let (fwd, mut inbox) = tokio::sync::mpsc::unbounded_channel::<Value>();
        tokio::spawn(async move {
            while let Ok(event) = el.poll().await {
                if let Event5::Incoming(P5::Publish(p)) = event {
                    let m: Value = serde_json::from_slice(&p.payload).unwrap();
                    if m["type"] != "peer" && fwd.send(m).is_err() {
                        return;
                    }
                }
            }
        });
        let mut next5 = async || {
            tokio::time::timeout(WAIT, inbox.recv())
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(next5().await["type"], "welcome");
        let mut source = Gw::online(&env, "source").await;
        source.send(&offer("s1")).await;
        assert_eq!(next5().await, offer("s1"));
        let answer = json!({"v": 1, "type": "answer", "session": "s1", "sdp": "v=0"});
        target
            .publish(
                format!("sb/v1/c/{}/target/tx", env.conn),
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                false,
                answer.to_string(),
            )
            .await
            .unwrap();
        assert_eq!(source.next_of("answer").await, answer);
    });
}

/// Both gateways coming online at the same moment, again and again: each one's `welcome`
/// (always its first message) and the `peer` messages after it must end with the peer
/// online. (With the presence write and the `peer` message unordered, a gateway could read
/// `peer {online: true}` before a `welcome` saying the peer was offline.)
#[test]
fn simultaneous_arrivals_always_learn_the_peer_is_online() {
    run(|env| async move {
        for round in 0..15 {
            let (mut source, mut target) =
                tokio::join!(Gw::online(&env, "source"), Gw::online(&env, "target"));
            for gw in [&mut source, &mut target] {
                let mut online = gw.welcome["peer_online"] == true;
                while let Ok(Some(Ok(p))) =
                    tokio::time::timeout(Duration::from_millis(150), gw.inbox.recv()).await
                {
                    let m: Value = serde_json::from_slice(&p).unwrap();
                    assert_eq!(m["type"], "peer", "round {round}: {m}");
                    online = m["online"] == true;
                }
                assert!(
                    online,
                    "round {round}: {} thinks its peer is offline",
                    gw.tx
                );
            }
            source.client.disconnect().await.unwrap();
            target.client.disconnect().await.unwrap();
            source.closed().await;
            target.closed().await;
            eventually(&env, |c| !c.source.online && !c.target.online).await;
        }
    });
}
