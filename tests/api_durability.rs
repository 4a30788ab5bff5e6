//! Durability of the HTTP flows: SIGKILL in the middle of agreement revocations leaves every
//! agreement either untouched (active, all connections live) or fully revoked (no live grant or
//! connection) — never half — and every acknowledged change survives a SIGKILL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Server, admin_token, call};

struct Org {
    token: String,
    agreement: String,
}

/// An enterprise org that self-peers and provisions `n` connections from one grant.
fn org_with_connections(server: &Server, admin: &str, slug: &str, n: usize) -> Org {
    let (s, body) = call(
        server.http,
        "POST",
        "/v1/orgs",
        Some(admin),
        Some(
            &json!({"name": slug, "slug": slug, "tier": "enterprise", "owner": {"email": format!("o@{slug}.example"), "name": "O"}}),
        ),
    );
    assert_eq!(s, 201, "{body}");
    let token = body["owner_token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());
    let (_, req) = call(
        server.http,
        "POST",
        "/v1/peering/requests",
        t,
        Some(&json!({"to_org": slug})),
    );
    let agreement = req["agreement_id"].as_str().unwrap().to_owned();
    let mut servers = Vec::new();
    for i in 0..=n {
        let (s, srv) = call(
            server.http,
            "POST",
            "/v1/servers",
            t,
            Some(&json!({"name": format!("s{i}"), "kind": "mirth"})),
        );
        assert_eq!(s, 201, "{srv}");
        servers.push(srv["id"].as_str().unwrap().to_owned());
    }
    let target = servers[0].clone();
    let (_, ch) = call(
        server.http,
        "POST",
        &format!("/v1/servers/{target}/channels"),
        t,
        Some(
            &json!({"internal_name": "ADT_IN", "public_name": "ADT", "direction": "listener", "published": true}),
        ),
    );
    let (s, grant) = call(
        server.http,
        "POST",
        "/v1/grants",
        t,
        Some(&json!({"agreement_id": agreement, "channel_id": ch["id"]})),
    );
    assert_eq!(s, 201, "{grant}");
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            server.http,
            "POST",
            &format!("/v1/grants/{grant_id}/approve"),
            t,
            None
        )
        .0,
        200
    );
    for source in &servers[1..] {
        let (s, conn) = call(
            server.http,
            "POST",
            "/v1/connections",
            t,
            Some(
                &json!({"grant_id": grant_id, "source_server_id": source, "target_server_id": target}),
            ),
        );
        assert_eq!(s, 201, "{conn}");
        assert_eq!(
            call(
                server.http,
                "POST",
                &format!("/v1/connections/{}/activate", conn["id"].as_str().unwrap()),
                t,
                None
            )
            .0,
            200
        );
    }
    Org { token, agreement }
}

fn state(server: &Server, org: &Org) -> (String, Vec<String>, Vec<String>) {
    let t = Some(org.token.as_str());
    let (_, agreement) = call(
        server.http,
        "GET",
        &format!("/v1/agreements/{}", org.agreement),
        t,
        None,
    );
    let (_, conns) = call(
        server.http,
        "GET",
        "/v1/connections?include_terminal=true",
        t,
        None,
    );
    let (_, grants) = call(server.http, "GET", "/v1/grants", t, None);
    let statuses = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    (
        agreement["status"].as_str().unwrap().to_owned(),
        statuses(&conns),
        statuses(&grants),
    )
}

#[test]
fn sigkill_during_revocations_never_leaves_half_a_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    for round in 0..3 {
        let server = Server::start(&data);
        let admin = admin_token(&data);
        let orgs: Vec<Org> = (0..3)
            .map(|i| org_with_connections(&server, &admin, &format!("r{round}-o{i}"), 8))
            .collect();
        // Fire the revocations without waiting for answers, then kill at a different moment
        // each round.
        let mut streams = Vec::new();
        for org in &orgs {
            let mut s = std::net::TcpStream::connect(server.http).unwrap();
            use std::io::Write;
            write!(s, "POST /v1/agreements/{}/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\n\r\n", org.agreement, org.token).unwrap();
            streams.push(s);
        }
        std::thread::sleep(std::time::Duration::from_millis([0, 15, 60][round]));
        server.kill();
        let server = Server::start(&data);
        let mut outcomes = Vec::new();
        for org in &orgs {
            let (agreement, conns, grants) = state(&server, org);
            assert_eq!(conns.len(), 8);
            match agreement.as_str() {
                "active" => {
                    assert!(conns.iter().all(|s| s == "active"), "{conns:?}");
                    assert!(grants.iter().all(|s| s == "approved"), "{grants:?}");
                }
                "revoked" => {
                    assert!(conns.iter().all(|s| s == "terminated"), "{conns:?}");
                    assert!(grants.iter().all(|s| s == "revoked"), "{grants:?}");
                }
                other => panic!("{other}"),
            }
            outcomes.push(agreement);
        }
        eprintln!("round {round}: {outcomes:?}");
        let (status, stderr) = server.terminate();
        assert!(status.success(), "{stderr}");
    }
}

#[test]
fn every_acknowledged_change_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let server = Server::start(&data);
    let admin = admin_token(&data);
    let (_, created) = call(
        server.http,
        "POST",
        "/v1/orgs",
        Some(&admin),
        Some(
            &json!({"name": "Acme", "slug": "acme", "tier": "standard", "owner": {"email": "o@acme.example", "name": "O"}}),
        ),
    );
    let token = created["owner_token"].as_str().unwrap().to_owned();
    let mut acknowledged = Vec::new();
    for i in 0..15 {
        let (s, srv) = call(
            server.http,
            "POST",
            "/v1/servers",
            Some(&token),
            Some(&json!({"name": format!("srv-{i}"), "kind": "oie"})),
        );
        if s == 201 {
            acknowledged.push(srv["id"].as_str().unwrap().to_owned());
        }
    }
    server.kill();
    let server = Server::start(&data);
    let (_, servers) = call(server.http, "GET", "/v1/servers", Some(&token), None);
    let ids: Vec<&str> = servers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(acknowledged.len(), 15);
    for id in &acknowledged {
        assert!(ids.contains(&id.as_str()), "{id} lost");
    }
    let (_, audit) = call(server.http, "GET", "/v1/audit", Some(&token), None);
    assert!(
        audit.as_array().unwrap().len() >= 16,
        "org creation and every server are audited"
    );
    server.terminate();
}

#[test]
fn admin_offers_expire_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let ttl = [("SWITCHBOARD_TIMEOUTS_ADMIN_OFFER_TTL_SECS", "2")];
    let server = Server::start_with_env(&data, &ttl);
    let admin = admin_token(&data);
    let org = |slug: &str| {
        let (s, b) = call(
            server.http,
            "POST",
            "/v1/orgs",
            Some(&admin),
            Some(
                &json!({"name": slug, "slug": slug, "owner": {"email": format!("o@{slug}.example"), "name": "O"}}),
            ),
        );
        assert_eq!(s, 201, "{b}");
        b["owner_token"].as_str().unwrap().to_owned()
    };
    let (a, b) = (org("alpha"), org("beta"));
    let (_, req) = call(
        server.http,
        "POST",
        "/v1/peering/requests",
        Some(&a),
        Some(&json!({"to_org": "beta"})),
    );
    let (_, accepted) = call(
        server.http,
        "POST",
        &format!(
            "/v1/peering/requests/{}/accept",
            req["id"].as_str().unwrap()
        ),
        Some(&b),
        None,
    );
    let agreement = accepted["agreement_id"].as_str().unwrap().to_owned();
    let (_, srv) = call(
        server.http,
        "POST",
        "/v1/servers",
        Some(&a),
        Some(&json!({"name": "managed", "kind": "mirth"})),
    );
    let (s, offer) = call(
        server.http,
        "POST",
        "/v1/connections/admin",
        Some(&a),
        Some(&json!({"agreement_id": agreement, "server_id": srv["id"], "access": "ro"})),
    );
    assert_eq!(s, 201, "{offer}");
    assert_eq!(offer["status"], "offered");
    let id = offer["id"].as_str().unwrap().to_owned();
    // Die before the deadline; come back after it: the offer expires on start.
    server.kill();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let server = Server::start_with_env(&data, &ttl);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, conn) = call(
            server.http,
            "GET",
            &format!("/v1/connections/{id}"),
            Some(&b),
            None,
        );
        if conn["status"] == "expired" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {}",
            conn["status"]
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (s, _) = call(
        server.http,
        "POST",
        &format!("/v1/connections/{id}/accept"),
        Some(&b),
        Some(&json!({"server_id": srv["id"]})),
    );
    assert_eq!(s, 409, "an expired offer cannot be accepted");
    server.terminate();
}
