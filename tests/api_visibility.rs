//! Visibility rules of SPEC §2 over real HTTP: a third organization cannot probe ids (404, the
//! same answer as for an id that does not exist), a peer never sees a channel's internal name,
//! secrets and credentials appear only in the responses that exist to reveal them (never in
//! lists, details, audit, notifications, metrics or logs), and the connector configuration is
//! the target owner's alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::cell::RefCell;

use serde_json::{Value, json};
use support::{Harness, TestOrg, assert_error, call};

/// The same id type with a random part that names nothing.
fn unknown_like(id: &str) -> String {
    let (prefix, _) = id.split_once('_').unwrap();
    format!("{prefix}_01ARZ3NDEKTSV4RRFFQ69G5FAV")
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {v}"))
        .to_owned()
}

struct World {
    h: Harness,
    a: TestOrg,
    b: TestOrg,
    agreement: String,
    sa: String,
    sb: String,
    listener: String,
    grant: String,
    conn: String,
}

/// A and B (standard) peered; a published listener on A's server, granted to B; a p2p
/// connection from B's server to A's.
fn world() -> World {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", "standard", true);
    let b = h.org("Beta Labs", "beta", "standard", true);
    let agreement = h.peer(&a, &b);
    let sa = h.server(&a, "acme-mirth");
    let sb = h.server(&b, "beta-oie");
    let listener = h.channel(
        &a,
        &sa,
        "ZZINTERNAL-adt-in",
        "ADT inbound",
        "listener",
        true,
    );
    let grant = h.grant(&a, &b, &agreement, &listener);
    let conn = h.provision(&b, &grant, &sb, &sa);
    World {
        h,
        a,
        b,
        agreement,
        sa,
        sb,
        listener,
        grant,
        conn,
    }
}

#[test]
fn a_third_org_gets_404_for_every_id_exactly_like_an_unknown_one() {
    let w = world();
    let (h, a) = (&w.h, &w.a);
    let c = h.org("Curious Clinic", "curious", "standard", true);
    let sc = h.server(&c, "curious-srv");
    let d = h.org("Delta", "delta", "free", false);
    let request = h.post_ok(
        "/v1/peering/requests",
        &a.token,
        Some(&json!({"to_org": d.slug})),
        201,
    );
    let request = id_of(&request);
    let owner = h.get_ok("/v1/me", &a.token)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, offer) = h.call(
        "POST",
        "/v1/connections/admin",
        &a.token,
        Some(&json!({"agreement_id": w.agreement, "server_id": w.sa, "access": "ro"})),
    );
    let offer = id_of(&offer);

    // (method, path template with {} for the id, the id, body)
    let attempts: Vec<(&str, String, String, Option<Value>)> = vec![
        ("GET", "/v1/servers/{}".into(), w.sa.clone(), None),
        (
            "PATCH",
            "/v1/servers/{}".into(),
            w.sa.clone(),
            Some(json!({"name": "mine now"})),
        ),
        ("DELETE", "/v1/servers/{}".into(), w.sa.clone(), None),
        ("GET", "/v1/servers/{}/channels".into(), w.sa.clone(), None),
        (
            "POST",
            "/v1/servers/{}/channels".into(),
            w.sa.clone(),
            Some(json!({"internal_name": "i", "public_name": "p", "direction": "sender"})),
        ),
        ("GET", "/v1/channels/{}".into(), w.listener.clone(), None),
        (
            "PATCH",
            "/v1/channels/{}".into(),
            w.listener.clone(),
            Some(json!({"published": false})),
        ),
        ("DELETE", "/v1/channels/{}".into(), w.listener.clone(), None),
        ("GET", "/v1/agreements/{}".into(), w.agreement.clone(), None),
        (
            "GET",
            "/v1/agreements/{}/channels".into(),
            w.agreement.clone(),
            None,
        ),
        (
            "POST",
            "/v1/agreements/{}/revoke".into(),
            w.agreement.clone(),
            None,
        ),
        (
            "POST",
            "/v1/grants/{}/approve".into(),
            w.grant.clone(),
            None,
        ),
        ("POST", "/v1/grants/{}/deny".into(), w.grant.clone(), None),
        ("POST", "/v1/grants/{}/revoke".into(), w.grant.clone(), None),
        ("GET", "/v1/connections/{}".into(), w.conn.clone(), None),
        (
            "GET",
            "/v1/connections/{}/diagnostics".into(),
            w.conn.clone(),
            None,
        ),
        (
            "GET",
            "/v1/connections/{}/connector-config".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/activate".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/pause".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/resume".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/retry".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/terminate".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/secret/view".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/secret/rotate".into(),
            w.conn.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/decline".into(),
            offer.clone(),
            None,
        ),
        (
            "POST",
            "/v1/connections/{}/accept".into(),
            offer.clone(),
            Some(json!({"server_id": sc})),
        ),
        (
            "POST",
            "/v1/peering/requests/{}/accept".into(),
            request.clone(),
            None,
        ),
        (
            "POST",
            "/v1/peering/requests/{}/decline".into(),
            request.clone(),
            None,
        ),
        (
            "POST",
            "/v1/peering/requests/{}/withdraw".into(),
            request.clone(),
            None,
        ),
        (
            "PATCH",
            "/v1/org/members/{}".into(),
            owner.clone(),
            Some(json!({"role": "member"})),
        ),
        ("DELETE", "/v1/org/members/{}".into(), owner.clone(), None),
    ];
    for (method, template, id, body) in &attempts {
        let real = h.call(method, &template.replace("{}", id), &c.token, body.as_ref());
        assert_error(&real, 404, "not_found");
        let fake = h.call(
            method,
            &template.replace("{}", &unknown_like(id)),
            &c.token,
            body.as_ref(),
        );
        assert_error(&fake, 404, "not_found");
        assert_eq!(
            real.1, fake.1,
            "{method} {template}: a real id must answer like an unknown one"
        );
    }
    // Ids inside bodies too.
    let bodies = [
        (
            "/v1/grants",
            json!({"agreement_id": w.agreement, "channel_id": w.listener}),
        ),
        (
            "/v1/connections",
            json!({"grant_id": w.grant, "source_server_id": sc, "target_server_id": w.sa}),
        ),
        (
            "/v1/connections/admin",
            json!({"agreement_id": w.agreement, "server_id": sc, "access": "ro"}),
        ),
    ];
    for (path, body) in &bodies {
        assert_error(
            &h.call("POST", path, &c.token, Some(body)),
            404,
            "not_found",
        );
    }
    // C's own lists show none of it.
    for path in [
        "/v1/servers",
        "/v1/connections?include_terminal=true",
        "/v1/grants",
        "/v1/agreements",
        "/v1/peering/inbox",
        "/v1/peering/outbox",
        "/v1/notifications",
        "/v1/audit?limit=1000",
    ] {
        let text = h.get_ok(path, &c.token).to_string();
        for id in [
            &w.sa,
            &w.listener,
            &w.agreement,
            &w.grant,
            &w.conn,
            &offer,
            &request,
            &a.id,
        ] {
            assert!(!text.contains(id.as_str()), "{path} shows {id}: {text}");
        }
    }
    // Nothing changed.
    assert_eq!(
        h.get_ok(&format!("/v1/servers/{}", w.sa), &a.token)["name"],
        "acme-mirth"
    );
    assert_eq!(
        h.get_ok(&format!("/v1/channels/{}", w.listener), &a.token)["published"],
        true
    );
    assert_eq!(
        h.get_ok(&format!("/v1/agreements/{}", w.agreement), &a.token)["status"],
        "active"
    );
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{}", w.conn), &a.token)["status"],
        "ready"
    );
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{offer}"), &a.token)["status"],
        "offered"
    );
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{}", w.conn), &a.token)["secret"]["viewable"],
        true
    );
    assert_eq!(h.get_ok("/v1/grants", &a.token)[0]["status"], "approved");
    let outbox = h.get_ok("/v1/peering/outbox", &a.token);
    let pending = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request.as_str())
        .unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(h.get_ok("/v1/me", &a.token)["user"]["role"], "owner");
    // A member of the right org sees them (the 404s above are about C, not the ids).
    assert_eq!(
        h.call(
            "GET",
            &format!("/v1/connections/{}", w.conn),
            &w.b.token,
            None
        )
        .0,
        200
    );
    w.h.stop();
}

#[test]
fn a_peer_never_sees_internal_names() {
    const MARK: &str = "ZZINTERNAL";
    let w = world();
    let (h, a, b) = (&w.h, &w.a, &w.b);
    let sender = h.channel(
        a,
        &w.sa,
        "ZZINTERNAL-oru-out",
        "Results outbound",
        "sender",
        true,
    );
    let hidden = h.channel(a, &w.sa, "ZZINTERNAL-draft", "Draft", "listener", false);
    let docs = h.channel(a, &w.sa, "ZZINTERNAL-mdm", "Documents", "listener", true);
    // The owner does see them (so the scan below can fail).
    assert!(
        h.get_ok(&format!("/v1/servers/{}/channels", w.sa), &a.token)
            .to_string()
            .contains(MARK)
    );

    // Everything B receives goes through `seen`.
    let seen: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let bcall = |method: &str, path: &str, body: Option<Value>| {
        let (s, v) = call(h.addr, method, path, Some(&b.token), body.as_ref());
        seen.borrow_mut()
            .push(format!("{method} {path} -> {s} {v}"));
        (s, v)
    };
    assert_eq!(
        bcall(
            "GET",
            &format!("/v1/agreements/{}/channels", w.agreement),
            None
        )
        .0,
        200
    );
    let (s, req) = bcall(
        "POST",
        "/v1/grants",
        Some(json!({"agreement_id": w.agreement, "channel_id": sender})),
    );
    assert_eq!(s, 201, "{req}");
    h.post_ok(
        &format!("/v1/grants/{}/approve", id_of(&req)),
        &a.token,
        None,
        200,
    );
    let (_, offer) = h.call(
        "POST",
        "/v1/grants",
        &a.token,
        Some(&json!({"agreement_id": w.agreement, "channel_id": docs})),
    );
    assert_eq!(
        bcall("POST", &format!("/v1/grants/{}/deny", id_of(&offer)), None).0,
        200
    );
    // Probing the unpublished and owner-only views.
    assert_eq!(
        bcall(
            "POST",
            "/v1/grants",
            Some(json!({"agreement_id": w.agreement, "channel_id": hidden}))
        )
        .0,
        404
    );
    assert_eq!(bcall("GET", &format!("/v1/channels/{sender}"), None).0, 404);
    assert_eq!(bcall("GET", &format!("/v1/channels/{hidden}"), None).0, 404);
    assert_eq!(
        bcall("GET", &format!("/v1/servers/{}/channels", w.sa), None).0,
        404
    );
    // A connection where B is the target (sender channel: A's server → B's server).
    let (s, c2) = bcall(
        "POST",
        "/v1/connections",
        Some(json!({"grant_id": id_of(&req), "source_server_id": w.sa, "target_server_id": w.sb})),
    );
    assert_eq!(s, 201, "{c2}");
    let c2 = id_of(&c2);
    for (id, action) in [(&w.conn, "activate"), (&c2, "activate"), (&c2, "pause")] {
        assert_eq!(
            bcall("POST", &format!("/v1/connections/{id}/{action}"), None).0,
            200
        );
    }
    assert_eq!(
        bcall(
            "GET",
            &format!("/v1/connections/{c2}/connector-config"),
            None
        )
        .0,
        200
    );
    assert_eq!(
        bcall(
            "POST",
            &format!("/v1/connections/{}/secret/view", w.conn),
            None
        )
        .0,
        200
    );
    assert_eq!(
        bcall(
            "POST",
            &format!("/v1/connections/{}/secret/rotate", w.conn),
            None
        )
        .0,
        200
    );
    let (_, ro) = h.call(
        "POST",
        "/v1/connections/admin",
        &a.token,
        Some(&json!({"agreement_id": w.agreement, "server_id": w.sa, "access": "ro"})),
    );
    assert_eq!(
        bcall(
            "POST",
            &format!("/v1/connections/{}/accept", id_of(&ro)),
            Some(json!({"server_id": w.sb}))
        )
        .0,
        200
    );
    h.post_ok(
        &format!("/v1/grants/{}/revoke", w.grant),
        &a.token,
        None,
        200,
    );
    // Every read B can make.
    let reads = vec![
        "/v1/me".to_owned(),
        "/v1/org".to_owned(),
        "/v1/directory".to_owned(),
        "/v1/servers".to_owned(),
        "/v1/agreements".to_owned(),
        format!("/v1/agreements/{}", w.agreement),
        format!("/v1/agreements/{}/channels", w.agreement),
        "/v1/grants".to_owned(),
        "/v1/connections?include_terminal=true".to_owned(),
        format!("/v1/connections/{}", w.conn),
        format!("/v1/connections/{c2}"),
        format!("/v1/connections/{}/diagnostics", w.conn),
        format!("/v1/connections/{c2}/diagnostics"),
        "/v1/peering/inbox".to_owned(),
        "/v1/peering/outbox".to_owned(),
        "/v1/notifications?limit=1000".to_owned(),
        "/v1/audit?limit=1000".to_owned(),
    ];
    for path in &reads {
        assert_eq!(bcall("GET", path, None).0, 200, "{path}");
    }
    // Revocation and what B reads afterwards.
    assert_eq!(
        bcall(
            "POST",
            &format!("/v1/agreements/{}/revoke", w.agreement),
            None
        )
        .0,
        200
    );
    for path in &reads {
        bcall("GET", path, None);
    }
    let seen = seen.into_inner();
    assert!(seen.len() > 40);
    assert!(
        seen.iter().any(|r| r.contains("Results outbound")),
        "public names are visible"
    );
    for response in &seen {
        assert!(
            !response.contains(MARK),
            "the peer saw an internal name: {response}"
        );
    }
    w.h.stop();
}

#[test]
fn in_a_self_agreement_internal_names_are_visible() {
    let h = Harness::start();
    let s = h.org("Solo", "solo", "free", false);
    let agreement = h.post_ok(
        "/v1/peering/requests",
        &s.token,
        Some(&json!({"to_org": "solo"})),
        201,
    )["agreement_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let srv = h.server(&s, "alpha");
    h.channel(
        &s,
        &srv,
        "ZZINTERNAL-self",
        "Self channel",
        "listener",
        true,
    );
    let chans = h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &s.token);
    assert!(chans.to_string().contains("ZZINTERNAL-self"), "{chans}");
    h.stop();
}

#[test]
fn secrets_and_credentials_appear_only_where_they_are_revealed() {
    let w = world();
    let (h, a, b) = (&w.h, &w.a, &w.b);
    let (_, ro) = h.call(
        "POST",
        "/v1/connections/admin",
        &a.token,
        Some(&json!({"agreement_id": w.agreement, "server_id": w.sa, "access": "ro"})),
    );
    let ro = id_of(&ro);
    h.post_ok(
        &format!("/v1/connections/{ro}/accept"),
        &b.token,
        Some(&json!({"server_id": w.sb})),
        200,
    );
    h.post_ok(
        &format!("/v1/connections/{}/activate", w.conn),
        &a.token,
        None,
        200,
    );
    let mut secrets: Vec<String> = Vec::new();
    let mut credentials: Vec<String> = vec![a.token.clone(), b.token.clone(), h.admin.clone()];
    let secret_of = |v: &Value| {
        v["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_owned()
    };

    // Target enrolls through the connector configuration; source views.
    let cfg = h.get_ok(
        &format!("/v1/connections/{}/connector-config", w.conn),
        &a.token,
    );
    let reg = cfg["registration_token"].as_str().unwrap().to_owned();
    assert!(!cfg.to_string().contains("sbs_"), "{cfg}");
    let (s, enrolled) = call(
        h.addr,
        "POST",
        "/v1/gateway/enroll",
        None,
        Some(&json!({"registration_token": reg})),
    );
    assert_eq!(s, 200, "{enrolled}");
    secrets.push(secret_of(&enrolled));
    credentials.push(reg);
    assert_eq!(
        secret_of(&h.post_ok(
            &format!("/v1/connections/{}/secret/view", w.conn),
            &b.token,
            None,
            200
        )),
        secrets[0]
    );
    // The 410 that follows does not carry it.
    let gone = h.call(
        "POST",
        &format!("/v1/connections/{}/secret/view", w.conn),
        &b.token,
        None,
    );
    assert_error(&gone, 410, "secret_unavailable");
    // Rotation by a member (returned), then by support (not returned), then views.
    let rotated = h.post_ok(
        &format!("/v1/connections/{}/secret/rotate", w.conn),
        &a.token,
        None,
        200,
    );
    secrets.push(secret_of(&rotated));
    secrets.push(secret_of(&h.post_ok(
        &format!("/v1/connections/{}/secret/view", w.conn),
        &b.token,
        None,
        200,
    )));
    let support = h.post_ok(
        &format!("/v1/admin/connections/{}/secret/rotate", w.conn),
        &h.admin,
        None,
        200,
    );
    assert!(!support.to_string().contains("sbs_"), "{support}");
    secrets.push(secret_of(&h.post_ok(
        &format!("/v1/connections/{}/secret/view", w.conn),
        &a.token,
        None,
        200,
    )));
    secrets.push(secret_of(&h.post_ok(
        &format!("/v1/connections/{ro}/secret/view"),
        &a.token,
        None,
        200,
    )));
    secrets.push(secret_of(&h.post_ok(
        &format!("/v1/connections/{ro}/secret/view"),
        &b.token,
        None,
        200,
    )));
    let (_, member) = h.call(
        "POST",
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "m@acme.example", "name": "M", "role": "member"})),
    );
    credentials.push(member["token"].as_str().unwrap().to_owned());
    let (_, extra) = h.call(
        "POST",
        "/v1/tokens",
        &b.token,
        Some(&json!({"label": "ci"})),
    );
    credentials.push(extra["token"].as_str().unwrap().to_owned());
    // Refusals with the connection id in hand. (Views that reach the connection's 5-per-minute
    // window count, 410s included; the platform admin tries on the other connection so this
    // test does not depend on whether a role refusal counts too.)
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro}/secret/view"),
            &h.admin,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{}/secret/view", w.conn),
            &a.token,
            None,
        ),
        410,
        "secret_unavailable",
    );
    // Terminate, then read everything.
    h.post_ok(
        &format!("/v1/connections/{}/terminate", w.conn),
        &b.token,
        None,
        200,
    );
    assert!(secrets.iter().all(|s| s.starts_with("sbs_")), "{secrets:?}");

    let mut texts: Vec<(String, String)> = Vec::new();
    for org in [a, b] {
        let mut paths = vec![
            "/v1/me".to_owned(),
            "/v1/org".to_owned(),
            "/v1/org/members".to_owned(),
            "/v1/servers".to_owned(),
            "/v1/agreements".to_owned(),
            format!("/v1/agreements/{}", w.agreement),
            "/v1/grants".to_owned(),
            "/v1/connections?include_terminal=true".to_owned(),
            "/v1/peering/inbox".to_owned(),
            "/v1/peering/outbox".to_owned(),
            "/v1/notifications?limit=1000".to_owned(),
        ];
        for id in [&w.conn, &ro] {
            paths.push(format!("/v1/connections/{id}"));
            paths.push(format!("/v1/connections/{id}/diagnostics"));
        }
        for path in paths {
            let v = h.get_ok(&path, &org.token);
            texts.push((format!("{} {path}", org.slug), v.to_string()));
        }
        let audit = h.audit_all("/v1/audit", &org.token);
        assert!(
            audit.iter().any(|e| e["action"] == "secret.view"),
            "views are audited"
        );
        assert!(
            audit.iter().any(|e| e["action"] == "secret.rotate"),
            "rotations are audited"
        );
        texts.push((
            format!("{} audit", org.slug),
            serde_json::to_string(&audit).unwrap(),
        ));
    }
    for path in ["/v1/admin/orgs", "/v1/admin/users"] {
        texts.push((path.to_owned(), h.get_ok(path, &h.admin).to_string()));
    }
    texts.push((
        "admin audit".to_owned(),
        serde_json::to_string(&h.audit_all("/v1/admin/audit", &h.admin)).unwrap(),
    ));
    let (status, metrics) = support::http(h.addr, "GET", "/metrics");
    assert_eq!(status, 200);
    texts.push(("metrics".to_owned(), metrics));
    texts.push((
        "openapi".to_owned(),
        h.get_ok("/v1/openapi.json", &h.admin).to_string(),
    ));
    for (what, text) in &texts {
        // (The OpenAPI document describes the `sbs_` format; it holds no secret.)
        if what != "openapi" {
            assert!(!text.contains("sbs_"), "{what} shows a secret: {text}");
        }
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} shows a secret");
        }
        for credential in &credentials {
            assert!(
                !text.contains(credential.as_str()),
                "{what} shows a token: {text}"
            );
        }
    }
    // Nor do the server's logs.
    let logs = w.h.stop();
    assert!(
        logs.contains("request"),
        "the server logs requests: {}",
        &logs[..logs.len().min(500)]
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
    }
    for credential in &credentials {
        assert!(!logs.contains(credential.as_str()), "a token in the logs");
    }
    assert!(!logs.contains("sbs_"), "a secret in the logs");
}

#[test]
fn connector_config_is_for_the_target_owner_only() {
    let w = world();
    let (h, a, b) = (&w.h, &w.a, &w.b);
    let c = h.org("Curious Clinic", "curious", "standard", true);
    let path = format!("/v1/connections/{}/connector-config", w.conn);
    // The source party, a third org: 404.
    assert_error(&h.call("GET", &path, &b.token, None), 404, "not_found");
    assert_error(&h.call("GET", &path, &c.token, None), 404, "not_found");
    // A plain member of the target org: not an owner/admin.
    let (_, m) = h.call(
        "POST",
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "m@acme.example", "name": "M", "role": "member"})),
    );
    let member = m["token"].as_str().unwrap();
    assert_error(&h.call("GET", &path, member, None), 403, "forbidden");
    // An admin of the target org, and the owner.
    let (_, ad) = h.call(
        "POST",
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "ad@acme.example", "name": "Ad", "role": "admin"})),
    );
    let admin = ad["token"].as_str().unwrap();
    let first = h.get_ok(&path, admin);
    assert!(
        first["registration_token"]
            .as_str()
            .unwrap()
            .starts_with("sbr_")
    );
    let second = h.get_ok(&path, &a.token);
    assert_eq!(second["connection_id"], w.conn.as_str());
    // Refusals left no token behind that B could use.
    assert!(
        !h.audit_all("/v1/audit", &b.token)
            .iter()
            .any(|e| e.to_string().contains("sbr_"))
    );
    w.h.stop();
}
