//! The broker over real TLS with real rumqttc clients (MQTT 3.1.1 and 5), a real store in a
//! temp dir and a real actix System: CONNACK codes, lockout, ACL, presence, takeover, kicks
//! and a silent client that must not delay a real one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::*;

#[test]
fn good_secret_connects_gets_welcome_and_presence_shows() {
    run(|env| async move {
        let id = format!("{}.source", env.conn);
        let (client, mut el) = v4(&env, &id, env.conn.as_str(), &env.secret);
        connack(&mut el).await.unwrap();
        let welcome = subscribe_source_for_welcome(&env, &client, &mut el).await;
        assert_eq!(welcome["type"], "welcome");
        assert_eq!(welcome["role"], "offerer");
        assert_eq!(welcome["peer_online"], false);
        assert_eq!(welcome["status"], "active");
        eventually(&env, |c| {
            c.source.online && c.source.last_connected_at.is_some()
        })
        .await;
        // A malformed message on tx gets `error bad_message`, not a disconnect.
        let tx = format!("sb/v1/c/{}/source/tx", env.conn);
        client
            .publish(&tx, QoS::AtMostOnce, false, "nope")
            .await
            .unwrap();
        let Packet::Publish(p) = next_packet(&mut el).await.unwrap() else {
            panic!("no error")
        };
        let err: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some("bad_message"))
        );
        client.disconnect().await.unwrap();
        let _ = next_packet(&mut el).await;
        eventually(&env, |c| {
            !c.source.online && c.source.last_disconnected_at.is_some()
        })
        .await;
    });
}

#[test]
fn refusals_carry_the_spec_connack_codes_in_v4_and_v5() {
    run(|env| async move {
        let src = format!("{}.source", env.conn);
        let user = env.conn.as_str().to_owned();
        let (_c, mut el) = v4(&env, &src, &user, "sbs_wrong");
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::BadUserNamePassword)
        );
        use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as V5;
        assert_eq!(
            v5_code(&env, &src, &user, "sbs_wrong").await,
            V5::BadUserNamePassword
        );
        let unknown = ConnectionId::generate();
        let (_c, mut el) = v4(
            &env,
            &format!("{unknown}.target"),
            unknown.as_str(),
            &env.secret,
        );
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::BadUserNamePassword)
        );
        let (_c, mut el) = v4(&env, &format!("{}.middle", env.conn), &user, &env.secret);
        assert_eq!(connack(&mut el).await, Err(ConnectReturnCode::BadClientId));
        assert_eq!(
            v5_code(&env, "garbage", &user, &env.secret).await,
            V5::ClientIdentifierNotValid
        );
        // The recorded failure shows in the connection (diagnostics).
        let c = side_state(&env).await;
        assert_eq!(
            c.source.last_auth_failure.map(|f| f.reason),
            Some(AuthFailureReason::BadSecret)
        );
        assert!(c.target.last_auth_failure.is_none());
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Terminate)
            .await
            .unwrap();
        let (_c, mut el) = v4(&env, &src, &user, &env.secret);
        // Terminated (credentials revoked with it): rc 5, as SPEC §9 says.
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::NotAuthorized)
        );
        assert_eq!(
            v5_code(&env, &src, &user, &env.secret).await,
            V5::NotAuthorized
        );
        eventually(&env, |c| {
            c.source.last_auth_failure.map(|f| f.reason) == Some(AuthFailureReason::Terminated)
        })
        .await;
    });
}

#[test]
fn paused_connection_still_connects() {
    run(|env| async move {
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Pause)
            .await
            .unwrap();
        let (_c, mut el) = v4(
            &env,
            &format!("{}.target", env.conn),
            env.conn.as_str(),
            &env.secret,
        );
        connack(&mut el).await.unwrap();
    });
}

#[test]
fn lockout_after_ten_failures_then_expiry() {
    run(|env| async move {
        let src = format!("{}.source", env.conn);
        let user = env.conn.as_str().to_owned();
        for _ in 0..10 {
            let (_c, mut el) = v4(&env, &src, &user, "sbs_wrong");
            assert_eq!(
                connack(&mut el).await,
                Err(ConnectReturnCode::BadUserNamePassword)
            );
        }
        let (_c, mut el) = v4(&env, &src, &user, &env.secret);
        assert_eq!(
            connack(&mut el).await,
            Err(ConnectReturnCode::NotAuthorized)
        );
        use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as V5;
        assert_eq!(
            v5_code(&env, &src, &user, &env.secret).await,
            V5::NotAuthorized
        );
        eventually(&env, |c| {
            c.source.last_auth_failure.map(|f| f.reason) == Some(AuthFailureReason::LockedOut)
        })
        .await;
        env.clock.advance(chrono::Duration::seconds(301));
        let (_c, mut el) = v4(&env, &src, &user, &env.secret);
        connack(&mut el).await.unwrap();
    });
}

#[test]
fn acl_refuses_foreign_filters_and_publish_outside_tx_disconnects() {
    run(|env| async move {
        let other = ConnectionId::generate();
        let (client, mut el) = v4(
            &env,
            &format!("{}.target", env.conn),
            env.conn.as_str(),
            &env.secret,
        );
        connack(&mut el).await.unwrap();
        for filter in [
            "#".to_owned(),
            "sb/#".to_owned(),
            "$SYS/#".to_owned(),
            rx(&env, "source"),
            format!("sb/v1/c/{}/+/rx", env.conn),
            format!("sb/v1/c/{other}/target/rx"),
        ] {
            client.subscribe(&filter, QoS::AtMostOnce).await.unwrap();
            let Packet::SubAck(ack) = next_packet(&mut el).await.unwrap() else {
                panic!("no SUBACK")
            };
            assert_eq!(
                ack.return_codes,
                vec![SubscribeReasonCode::Failure],
                "{filter}"
            );
        }
        let state = side_state(&env).await;
        assert!(!state.target.online, "a refused filter is not presence");
        let foreign = format!("sb/v1/c/{}/source/tx", env.conn);
        client
            .publish(&foreign, QoS::AtMostOnce, false, r#"{"v":1,"type":"bye"}"#)
            .await
            .unwrap();
        assert!(
            next_packet(&mut el).await.is_err(),
            "publish outside tx must disconnect"
        );
    });
}

#[test]
fn second_session_takes_over_and_presence_stays() {
    run(|env| async move {
        let id = format!("{}.source", env.conn);
        let (c1, mut el1) = v4(&env, &id, env.conn.as_str(), &env.secret);
        connack(&mut el1).await.unwrap();
        c1.subscribe(rx(&env, "source"), QoS::AtMostOnce)
            .await
            .unwrap();
        let _suback = next_packet(&mut el1).await.unwrap();
        let _welcome = next_packet(&mut el1).await.unwrap();
        let (_c2, mut el2) = v4(&env, &id, env.conn.as_str(), &env.secret);
        connack(&mut el2).await.unwrap();
        assert!(
            next_packet(&mut el1).await.is_err(),
            "the first session is closed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            side_state(&env).await.source.online,
            "takeover keeps the gateway online"
        );
    });
}

#[test]
fn terminate_kicks_live_sessions_within_a_second() {
    run(|env| async move {
        let (c, mut el) = v4(
            &env,
            &format!("{}.target", env.conn),
            env.conn.as_str(),
            &env.secret,
        );
        connack(&mut el).await.unwrap();
        c.subscribe(rx(&env, "target"), QoS::AtMostOnce)
            .await
            .unwrap();
        let _suback = next_packet(&mut el).await.unwrap();
        let _welcome = next_packet(&mut el).await.unwrap();
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Terminate)
            .await
            .unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let m: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                        assert_eq!(
                            (m["type"].as_str(), m["status"].as_str()),
                            (Some("status"), Some("terminated"))
                        );
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "not disconnected within a second");
        eventually(&env, |c| !c.target.online).await;
    });
}

#[test]
fn a_silent_tcp_client_does_not_delay_a_real_one() {
    run(|env| async move {
        let _silent = tokio::net::TcpStream::connect(("127.0.0.1", env.port))
            .await
            .unwrap();
        let start = std::time::Instant::now();
        let (_c, mut el) = v4(
            &env,
            &format!("{}.source", env.conn),
            env.conn.as_str(),
            &env.secret,
        );
        connack(&mut el).await.unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "took {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn connack_bytes_on_the_wire() {
    run(|env| async move {
        let src = format!("{}.source", env.conn);
        let user = env.conn.as_str().to_owned();
        // v4: [CONNACK, len 2, flags, rc].
        assert_eq!(
            raw_connack(&env, 4, &src, &user, "sbs_wrong").await,
            [0x20, 2, 0, 4]
        );
        assert_eq!(
            raw_connack(&env, 4, "bad", &user, "x").await,
            [0x20, 2, 0, 2]
        );
        // v5: [CONNACK, len 3, flags, reason, no properties].
        assert_eq!(
            raw_connack(&env, 5, &src, &user, "sbs_wrong").await,
            [0x20, 3, 0, 0x86, 0]
        );
        assert_eq!(
            raw_connack(&env, 5, "bad", &user, "x").await,
            [0x20, 3, 0, 0x85, 0]
        );
        env.svc
            .move_connection(&env.me, &env.conn, ConnectionMove::Terminate)
            .await
            .unwrap();
        // Terminated: not usable, v5 0x87 and v4 rc 5.
        let refused = raw_connack(&env, 5, &src, &user, &env.secret).await;
        assert_eq!(refused, [0x20, 3, 0, 0x87, 0]);
        assert_eq!(
            raw_connack(&env, 4, &src, &user, "anything").await,
            [0x20, 2, 0, 5]
        );
    });
}

#[test]
fn shutdown_tells_gateways_then_disconnects_them() {
    // Read the wire directly: rumqttc surfaces the close before the last packet it read.
    run(|env| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let src = format!("{}.source", env.conn);
        let mut tls = raw_connect(&env, 4, &src, env.conn.as_str(), &env.secret).await;
        let mut connack = [0u8; 4];
        tls.read_exact(&mut connack).await.unwrap();
        assert_eq!(connack, [0x20, 2, 0, 0]);
        let topic = format!("sb/v1/c/{}/source/rx", env.conn);
        let mut subscribe = vec![0x82, u8::try_from(2 + 2 + topic.len() + 1).unwrap(), 0, 1];
        subscribe.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
        subscribe.extend_from_slice(topic.as_bytes());
        subscribe.push(0);
        tls.write_all(&subscribe).await.unwrap();
        let mut seen = Vec::new();
        let welcome = tokio::time::timeout(WAIT, async {
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("\"welcome\"") {
                let n = tls.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before welcome");
                seen.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        assert!(welcome.is_ok(), "no welcome");
        env.stop.lock().unwrap().take().unwrap().send(()).unwrap();
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(3), tls.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "not disconnected within three seconds");
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.contains(r#""reason":"shutdown""#)
                && text.contains(r#""status":"active""#)
                && text.contains(r#""type":"status""#),
            "no shutdown notice before the close: {text:?}"
        );
    });
}

#[test]
fn connection_attempts_per_ip_are_capped_before_tls() {
    run_with(
        |broker, _| broker.connect_attempts_per_ip_per_minute = 3,
        |env| async move {
            let id = format!("{}.source", env.conn);
            for _ in 0..3 {
                let (_c, mut el) = v4(&env, &id, env.conn.as_str(), &env.secret);
                connack(&mut el).await.unwrap();
            }
            let (_c, mut el) = v4(&env, &id, env.conn.as_str(), &env.secret);
            let refused = tokio::time::timeout(WAIT, el.poll())
                .await
                .expect("the 4th attempt was neither accepted nor closed");
            assert!(refused.is_err(), "4th attempt in a minute got {refused:?}");
        },
    );
}
