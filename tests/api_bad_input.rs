//! Bad input over real HTTP (SPEC §8): malformed JSON is 400 `bad_request`; JSON of the wrong
//! shape (wrong type, unknown or missing field, bad id or enum value) and bad query parameters
//! are 422 `invalid` naming the field; bodies over 1 MiB are 413 `too_large`; unknown and
//! malformed ids are 404; invalid transitions and clashes are 409; missing, malformed or
//! unknown bearer tokens are 401. None is ever a 500, every answer has the error shape, and
//! after each one the store is unchanged: every list either organization (and the platform
//! admin) can read, audit log included, is identical before and after.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Reply, TestOrg, exchange, request};

const MIB: usize = 1 << 20;
const UNKNOWN_ULID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

struct World {
    h: Harness,
    a: TestOrg,
    b: TestOrg,
    c: TestOrg,
    agreement: String,
    revoked_agreement: String,
    accepted_request: String,
    sa: String,
    sb: String,
    listener: String,
    grant: String,
    conn: String,
    offer: String,
    removed_token: String,
    owner_a: String,
}

fn world() -> World {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", "standard", true);
    let b = h.org("Beta Labs", "beta", "standard", true);
    let c = h.org("Gamma Care", "gamma", "free", true);
    let req = h.post_ok(
        "/v1/peering/requests",
        &a.token,
        Some(&json!({"to_org": "beta"})),
        201,
    );
    let accepted_request = req["id"].as_str().unwrap().to_owned();
    let agreement = h.post_ok(
        &format!("/v1/peering/requests/{accepted_request}/accept"),
        &b.token,
        None,
        200,
    )["agreement_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked_agreement = h.peer(&a, &c);
    h.post_ok(
        &format!("/v1/agreements/{revoked_agreement}/revoke"),
        &c.token,
        None,
        200,
    );
    let sa = h.server(&a, "acme-mirth");
    let sb = h.server(&b, "beta-oie");
    let listener = h.channel(&a, &sa, "ADT_internal", "ADT", "listener", true);
    let grant = h.grant(&a, &b, &agreement, &listener);
    let conn = h.provision(&b, &grant, &sb, &sa);
    let offer = h.post_ok(
        "/v1/connections/admin",
        &a.token,
        Some(&json!({"agreement_id": agreement, "server_id": sa, "access": "ro"})),
        201,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = h.post_ok(
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "gone@acme.example", "name": "Gone", "role": "admin"})),
        201,
    );
    let removed_token = m["token"].as_str().unwrap().to_owned();
    let (s, _) = h.call(
        "DELETE",
        &format!("/v1/org/members/{}", m["user"]["id"].as_str().unwrap()),
        &a.token,
        None,
    );
    assert_eq!(s, 204);
    let owner_a = h.get_ok("/v1/me", &a.token)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        h,
        a,
        b,
        c,
        agreement,
        revoked_agreement,
        accepted_request,
        sa,
        sb,
        listener,
        grant,
        conn,
        offer,
        removed_token,
        owner_a,
    }
}

/// Everything the three organizations and the platform admin can list, audit logs in full.
fn snapshot(w: &World) -> Vec<(String, Value)> {
    let h = &w.h;
    let mut out = Vec::new();
    for org in [&w.a, &w.b, &w.c] {
        let mut paths = vec![
            "/v1/me".to_owned(),
            "/v1/org".to_owned(),
            "/v1/org/members".to_owned(),
            "/v1/servers".to_owned(),
            "/v1/agreements".to_owned(),
            "/v1/grants".to_owned(),
            "/v1/connections?include_terminal=true".to_owned(),
            "/v1/peering/inbox".to_owned(),
            "/v1/peering/outbox".to_owned(),
            "/v1/notifications?limit=1000".to_owned(),
        ];
        let servers = h.get_ok("/v1/servers", &org.token);
        for s in servers.as_array().unwrap() {
            paths.push(format!(
                "/v1/servers/{}/channels",
                s["id"].as_str().unwrap()
            ));
        }
        for path in paths {
            let v = h.get_ok(&path, &org.token);
            out.push((format!("{} {path}", org.slug), v));
        }
        out.push((
            format!("{} audit", org.slug),
            Value::Array(h.audit_all("/v1/audit", &org.token)),
        ));
    }
    for path in ["/v1/admin/orgs", "/v1/admin/users"] {
        out.push((path.to_owned(), h.get_ok(path, &h.admin)));
    }
    out.push((
        "admin audit".to_owned(),
        Value::Array(h.audit_all("/v1/admin/audit", &h.admin)),
    ));
    out
}

#[track_caller]
fn assert_unchanged(before: &[(String, Value)], after: &[(String, Value)], what: &str) {
    assert_eq!(
        before.len(),
        after.len(),
        "{what}: the set of lists changed"
    );
    for ((name, b), (_, a)) in before.iter().zip(after) {
        assert_eq!(b, a, "{what} changed {name}");
    }
}

/// One bad request and what it must get.
struct Case {
    what: String,
    method: &'static str,
    path: String,
    auth: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    /// The field `details.field` must name (422).
    field: Option<&'static str>,
}

fn case(what: &str, method: &'static str, path: impl Into<String>, token: &str) -> Case {
    Case {
        what: what.to_owned(),
        method,
        path: path.into(),
        auth: Some(format!("Bearer {token}")),
        content_type: Some("application/json"),
        body: Vec::new(),
        status: 0,
        code: "",
        field: None,
    }
}

impl Case {
    fn raw(mut self, body: &str) -> Case {
        self.body = body.as_bytes().to_vec();
        self
    }
    fn json(mut self, body: Value) -> Case {
        self.body = body.to_string().into_bytes();
        self
    }
    fn bytes(mut self, body: Vec<u8>) -> Case {
        self.body = body;
        self
    }
    fn auth(mut self, header: Option<&str>) -> Case {
        self.auth = header.map(str::to_owned);
        self
    }
    fn content_type(mut self, ct: Option<&'static str>) -> Case {
        self.content_type = ct;
        self
    }
    fn expect(mut self, status: u16, code: &'static str) -> Case {
        self.status = status;
        self.code = code;
        self
    }
    fn field(mut self, field: &'static str) -> Case {
        self.field = Some(field);
        self
    }

    fn send(&self, w: &World) -> Reply {
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &self.auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(ct) = self.content_type {
            headers.push(("Content-Type", ct));
        }
        request(w.h.addr, self.method, &self.path, &headers, &self.body)
    }
}

#[track_caller]
fn check(reply: &Reply, c: &Case) {
    let what = &c.what;
    assert_ne!(reply.status, 500, "{what}: a 500: {}", reply.text);
    assert_eq!(
        reply.status, c.status,
        "{what}: {} {} -> {}",
        c.method, c.path, reply.text
    );
    assert_eq!(
        reply.json["error"]["code"], c.code,
        "{what}: {}",
        reply.text
    );
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        reply.text
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    if let Some(field) = c.field {
        assert_eq!(
            reply.json["error"]["details"]["field"], field,
            "{what}: {}",
            reply.text
        );
    }
    if c.status == 401 {
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{what}");
    }
}

/// Runs every case, checking the answer and that the store did not change.
fn run(w: &World, cases: &[Case]) {
    let mut before = snapshot(w);
    for c in cases {
        let reply = c.send(w);
        check(&reply, c);
        let after = snapshot(w);
        assert_unchanged(&before, &after, &c.what);
        before = after;
    }
}

#[test]
fn malformed_json_is_400_bad_request() {
    let w = world();
    let (a, admin) = (&w.a.token, &w.h.admin.clone());
    let cases = vec![
        case("truncated", "POST", "/v1/servers", a).raw(r#"{"name": "x", "kind": "#),
        case("unquoted key", "POST", "/v1/servers", a).raw(r#"{name: "x", "kind": "mirth"}"#),
        case("not JSON", "POST", "/v1/servers", a).raw("name=x&kind=mirth"),
        case("trailing data", "POST", "/v1/servers", a)
            .raw(r#"{"name": "x", "kind": "mirth"} {"again": 1}"#),
        case(
            "trailing comma",
            "PATCH",
            format!("/v1/servers/{}", w.sa),
            a,
        )
        .raw(r#"{"name": "renamed",}"#),
        case("invalid UTF-8", "POST", "/v1/servers", a)
            .bytes(b"{\"name\": \"\xff\xfe\", \"kind\": \"mirth\"}".to_vec()),
        case("bad escape", "POST", "/v1/servers", a).raw(r#"{"name": "\q", "kind": "mirth"}"#),
        case("org, truncated", "POST", "/v1/orgs", admin)
            .raw(r#"{"name": "N", "slug": "nn", "owner": {"#),
        case("grant, truncated", "POST", "/v1/grants", a)
            .raw(&format!(r#"{{"agreement_id": "{}", "#, w.agreement)),
        case("provision, garbage", "POST", "/v1/connections", a).raw("{]"),
        case("peering, unterminated", "POST", "/v1/peering/requests", a)
            .raw(r#"{"to_org": "gamma"#),
        case(
            "no-field route",
            "POST",
            format!("/v1/connections/{}/activate", w.conn),
            a,
        )
        .raw("{"),
        case(
            "accept, garbage",
            "POST",
            format!("/v1/connections/{}/accept", w.offer),
            &w.b.token,
        )
        .raw("{\"server_id\" 1}"),
        case("enroll, garbage", "POST", "/v1/gateway/enroll", a)
            .auth(None)
            .raw("{\"registration_token\":"),
        case("text/plain", "POST", "/v1/servers", a)
            .content_type(Some("text/plain"))
            .json(json!({"name": "x", "kind": "mirth"})),
        case("no Content-Type", "POST", "/v1/servers", a)
            .content_type(None)
            .json(json!({"name": "x", "kind": "mirth"})),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| c.expect(400, "bad_request"))
        .collect();
    run(&w, &cases);
    // The message says where.
    let r = case("", "POST", "/v1/servers", a)
        .raw("{\n  \"name\": x}")
        .send(&w);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{}",
        r.text
    );
    w.h.stop();
}

#[test]
fn wrong_shapes_and_values_are_422_invalid_naming_the_field() {
    let w = world();
    let (a, b, admin) = (&w.a.token, &w.b.token, &w.h.admin.clone());
    let org_body = |patch: Value| {
        let mut v = json!({"name": "New", "slug": "new-org", "owner": {"email": "o@new.example", "name": "O"}});
        for (k, x) in patch.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        v
    };
    let overrides = format!("/v1/admin/orgs/{}/overrides", w.a.id);
    let channels = format!("/v1/servers/{}/channels", w.sa);
    let cases = vec![
        case("name is a number", "POST", "/v1/servers", a).json(json!({"name": 5, "kind": "mirth"})).field("name"),
        case("unknown field", "POST", "/v1/servers", a).json(json!({"name": "x", "kind": "mirth", "colour": "red"})).field("colour"),
        case("missing field", "POST", "/v1/servers", a).json(json!({"name": "x"})).field("kind"),
        case("blank name", "POST", "/v1/servers", a).json(json!({"name": "   ", "kind": "mirth"})).field("name"),
        case("name too long", "POST", "/v1/servers", a).json(json!({"name": "x".repeat(1001), "kind": "mirth"})).field("name"),
        case("array body", "POST", "/v1/servers", a).raw("[1, 2]"),
        case("string body", "POST", "/v1/servers", a).raw("\"srv\""),
        case("null body", "POST", "/v1/servers", a).raw("null"),
        case("null field", "POST", "/v1/servers", a).json(json!({"name": null, "kind": "mirth"})).field("name"),
        case("patch, wrong type", "PATCH", format!("/v1/servers/{}", w.sa), a).json(json!({"version": 4.5})).field("version"),
        case("patch, unknown field", "PATCH", format!("/v1/servers/{}", w.sa), a).json(json!({"org_id": w.b.id})).field("org_id"),
        case("direction", "POST", channels.clone(), a).json(json!({"internal_name": "i", "public_name": "p", "direction": "sideways"})).field("direction"),
        case("published as text", "POST", channels.clone(), a).json(json!({"internal_name": "i", "public_name": "p", "direction": "sender", "published": "yes"})).field("published"),
        case("channel patch, internal name blank", "PATCH", format!("/v1/channels/{}", w.listener), a).json(json!({"internal_name": ""})).field("internal_name"),
        case("org, unknown nested field", "POST", "/v1/orgs", admin).json(org_body(json!({"owner": {"email": "o@new.example", "name": "O", "zip": 1}}))).field("owner.zip"),
        case("org, bad e-mail", "POST", "/v1/orgs", admin).json(org_body(json!({"owner": {"email": "not-an-email", "name": "O"}}))).field("owner.email"),
        case("org, bad slug", "POST", "/v1/orgs", admin).json(org_body(json!({"slug": "Not A Slug"}))).field("slug"),
        case("org, unknown tier", "POST", "/v1/orgs", admin).json(org_body(json!({"tier": "platinum"}))).field("tier"),
        case("org, no owner", "POST", "/v1/orgs", admin).json(org_body(json!({"owner": null}))).field("owner"),
        case("grant, malformed id", "POST", "/v1/grants", a).json(json!({"agreement_id": "nope", "channel_id": w.listener})).field("agreement_id"),
        case("grant, id of another type", "POST", "/v1/grants", a).json(json!({"agreement_id": w.agreement, "channel_id": w.sa})).field("channel_id"),
        case("provision, unknown mode", "POST", "/v1/connections", b).json(json!({"grant_id": w.grant, "source_server_id": w.sb, "target_server_id": w.sa, "mode": "carrier_pigeon"})).field("mode"),
        case("provision, source = target", "POST", "/v1/connections", b).json(json!({"grant_id": w.grant, "source_server_id": w.sa, "target_server_id": w.sa})).field("target_server_id"),
        case("provision, wrong direction", "POST", "/v1/connections", b).json(json!({"grant_id": w.grant, "source_server_id": w.sa, "target_server_id": w.sb})),
        case("admin offer, access", "POST", "/v1/connections/admin", a).json(json!({"agreement_id": w.agreement, "server_id": w.sa, "access": "rwx"})).field("access"),
        case("accept, no server", "POST", format!("/v1/connections/{}/accept", w.offer), b).json(json!({})).field("server_id"),
        case("fields on a no-field route", "POST", format!("/v1/connections/{}/activate", w.conn), a).json(json!({"force": true})).field("force"),
        case("override, bad date", "POST", overrides.clone(), admin).json(json!({"feature": "admin_rw", "expires_at": "tomorrow"})).field("expires_at"),
        case("override, in the past", "POST", overrides.clone(), admin).json(json!({"feature": "admin_rw", "expires_at": "2001-01-01T00:00:00Z"})).field("expires_at"),
        case("override, no expiry", "POST", overrides.clone(), admin).json(json!({"feature": "admin_rw"})).field("expires_at"),
        case("override, unknown feature", "POST", overrides.clone(), admin).json(json!({"feature": "teleport", "expires_at": support::rfc3339_in(3600)})).field("feature"),
        case("override, feature and limit", "POST", overrides.clone(), admin).json(json!({"feature": "admin_rw", "limit": "servers", "value": 5, "expires_at": support::rfc3339_in(3600)})),
        case("override, neither", "POST", overrides.clone(), admin).json(json!({"expires_at": support::rfc3339_in(3600)})),
        case("override, negative value", "POST", overrides.clone(), admin).json(json!({"limit": "servers", "value": -1, "expires_at": support::rfc3339_in(3600)})).field("value"),
        case("override, huge value", "POST", overrides.clone(), admin).json(json!({"limit": "servers", "value": 1e30, "expires_at": support::rfc3339_in(3600)})).field("value"),
        case("tier", "PUT", format!("/v1/admin/orgs/{}/tier", w.a.id), admin).json(json!({"tier": "gold"})).field("tier"),
        case("member role", "POST", "/v1/org/members", a).json(json!({"email": "x@acme.example", "name": "X", "role": "superuser"})).field("role"),
        case("member e-mail", "POST", "/v1/org/members", a).json(json!({"email": "x at acme", "name": "X", "role": "member"})).field("email"),
        case("org patch", "PATCH", "/v1/org", a).json(json!({"discoverable": "yes"})).field("discoverable"),
        case("org patch, slug is immutable", "PATCH", "/v1/org", a).json(json!({"slug": "acme-2"})).field("slug"),
        case("peering, missing to_org", "POST", "/v1/peering/requests", a).json(json!({"to": "beta"})),
        case("token label type", "POST", "/v1/tokens", a).json(json!({"label": ["a"]})).field("label"),
        case("enroll, wrong type", "POST", "/v1/gateway/enroll", a).auth(None).json(json!({"registration_token": 42})).field("registration_token"),
        // Query parameters.
        case("unknown query parameter", "GET", "/v1/connections?bogus=1", a).field("bogus"),
        case("unknown status", "GET", "/v1/connections?status=sleeping", a).field("status"),
        case("bad boolean", "GET", "/v1/connections?include_terminal=maybe", a).field("include_terminal"),
        case("repeated parameter", "GET", "/v1/connections?status=ready&status=active", a).field("status"),
        case("limit 0", "GET", "/v1/audit?limit=0", a).field("limit"),
        case("limit too big", "GET", "/v1/audit?limit=5000", a).field("limit"),
        case("negative cursor", "GET", "/v1/audit?after=-1", a).field("after"),
        case("query on a route without any", "GET", "/v1/servers?page=2", a).field("page"),
        case("notifications unread", "GET", "/v1/notifications?unread=2", a).field("unread"),
        case("admin audit limit", "GET", "/v1/admin/audit?limit=x", admin).field("limit"),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| c.expect(422, "invalid"))
        .collect();
    run(&w, &cases);
    w.h.stop();
}

#[test]
fn bodies_over_one_mib_are_413_too_large() {
    let w = world();
    let a = w.a.token.clone();
    // A JSON body of exactly `n` bytes: a server whose description fills it.
    let body_of = |n: usize| {
        let empty = json!({"name": "big", "kind": "mirth", "description": ""}).to_string();
        let v = json!({"name": "big", "kind": "mirth", "description": "x".repeat(n - empty.len())})
            .to_string();
        assert_eq!(v.len(), n);
        v.into_bytes()
    };
    let cases = vec![
        case("1 MiB + 1", "POST", "/v1/servers", &a)
            .bytes(body_of(MIB + 1))
            .expect(413, "too_large"),
        case("2 MiB", "POST", "/v1/servers", &a)
            .bytes(body_of(2 * MIB))
            .expect(413, "too_large"),
        case(
            "2 MiB on a no-field route",
            "POST",
            format!("/v1/connections/{}/activate", w.conn),
            &a,
        )
        .bytes(vec![b' '; 2 * MIB])
        .expect(413, "too_large"),
        case("2 MiB unauthenticated", "POST", "/v1/orgs", "x")
            .auth(None)
            .bytes(body_of(2 * MIB))
            .expect(413, "too_large"),
        // At the limit the body is read and judged on its content (the description is too long).
        case("exactly 1 MiB", "POST", "/v1/servers", &a)
            .bytes(body_of(MIB))
            .expect(422, "invalid")
            .field("description"),
    ];
    run(&w, &cases);

    let before = snapshot(&w);
    // A declared length over the limit is refused before the body is sent.
    let head = format!(
        "POST /v1/servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {a}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1u64 << 31
    );
    let r = exchange(w.h.addr, head.as_bytes());
    assert_eq!(
        (r.status, r.json["error"]["code"].as_str()),
        (413, Some("too_large")),
        "{}",
        r.text
    );
    assert_eq!(r.json["error"]["details"]["max_bytes"], MIB, "{}", r.text);
    // A chunked body is cut off once it passes the limit.
    let mut raw = format!("POST /v1/servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {a}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    let body = body_of(MIB + 4096);
    for chunk in body.chunks(64 * 1024) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(w.h.addr, &raw);
    assert_eq!(
        (r.status, r.json["error"]["code"].as_str()),
        (413, Some("too_large")),
        "{}",
        r.text
    );
    // A chunked body under the limit is fine (so the 413 above is about size).
    let small = json!({"name": "chunked", "kind": "oie"}).to_string();
    let raw = format!(
        "POST /v1/servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{small}\r\n0\r\n\r\n",
        w.c.token,
        small.len()
    );
    let r = exchange(w.h.addr, raw.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text);
    let after = snapshot(&w);
    // Only C's new server (and its audit events) differ.
    let after: std::collections::BTreeMap<_, _> = after.into_iter().collect();
    for (name, b) in &before {
        if !name.starts_with("gamma") && name != "admin audit" {
            assert_eq!(Some(b), after.get(name), "{name} changed");
        }
    }
    assert_eq!(after["gamma /v1/servers"].as_array().unwrap().len(), 1);
    w.h.stop();
}

#[test]
fn unknown_and_malformed_ids_are_404() {
    let w = world();
    let (a, admin) = (&w.a.token, &w.h.admin.clone());
    let unknown = |prefix: &str| format!("{prefix}_{UNKNOWN_ULID}");
    let mut cases = vec![
        case("unknown server", "GET", format!("/v1/servers/{}", unknown("srv")), a),
        case("unknown server, patch", "PATCH", format!("/v1/servers/{}", unknown("srv")), a).json(json!({"name": "x"})),
        case("unknown server, delete", "DELETE", format!("/v1/servers/{}", unknown("srv")), a),
        case("unknown server, channels", "POST", format!("/v1/servers/{}/channels", unknown("srv")), a).json(json!({"internal_name": "i", "public_name": "p", "direction": "sender"})),
        case("unknown channel", "GET", format!("/v1/channels/{}", unknown("ch")), a),
        case("unknown agreement", "GET", format!("/v1/agreements/{}", unknown("agr")), a),
        case("unknown agreement, revoke", "POST", format!("/v1/agreements/{}/revoke", unknown("agr")), a),
        case("unknown grant", "POST", format!("/v1/grants/{}/approve", unknown("gr")), a),
        case("unknown connection", "GET", format!("/v1/connections/{}", unknown("conn")), a),
        case("unknown connection, activate", "POST", format!("/v1/connections/{}/activate", unknown("conn")), a),
        case("unknown connection, view", "POST", format!("/v1/connections/{}/secret/view", unknown("conn")), a),
        case("unknown connection, rotate", "POST", format!("/v1/connections/{}/secret/rotate", unknown("conn")), a),
        case("unknown connection, config", "GET", format!("/v1/connections/{}/connector-config", unknown("conn")), a),
        case("unknown connection, support rotate", "POST", format!("/v1/admin/connections/{}/secret/rotate", unknown("conn")), admin),
        case("unknown request", "POST", format!("/v1/peering/requests/{}/accept", unknown("pr")), a),
        case("unknown member", "PATCH", format!("/v1/org/members/{}", unknown("usr")), a).json(json!({"role": "member"})),
        case("unknown org, tier", "PUT", format!("/v1/admin/orgs/{}/tier", unknown("org")), admin).json(json!({"tier": "standard"})),
        case("unknown org, override", "POST", format!("/v1/admin/orgs/{}/overrides", unknown("org")), admin).json(json!({"feature": "admin_rw", "expires_at": support::rfc3339_in(3600)})),
        case("unknown org, peering", "POST", "/v1/peering/requests", a).json(json!({"to_org": unknown("org")})),
        case("unknown slug, peering", "POST", "/v1/peering/requests", a).json(json!({"to_org": "nobody-here"})),
        case("unknown agreement in a body", "POST", "/v1/grants", a).json(json!({"agreement_id": unknown("agr"), "channel_id": w.listener})),
        case("unknown channel in a body", "POST", "/v1/grants", a).json(json!({"agreement_id": w.agreement, "channel_id": unknown("ch")})),
        case("unknown grant in a body", "POST", "/v1/connections", a).json(json!({"grant_id": unknown("gr"), "source_server_id": w.sb, "target_server_id": w.sa})),
        case("unknown server in a body", "POST", "/v1/connections", a).json(json!({"grant_id": w.grant, "source_server_id": unknown("srv"), "target_server_id": w.sa})),
        case("unknown server, admin offer", "POST", "/v1/connections/admin", a).json(json!({"agreement_id": w.agreement, "server_id": unknown("srv"), "access": "ro"})),
        case("unknown server, accept", "POST", format!("/v1/connections/{}/accept", w.offer), &w.b.token).json(json!({"server_id": unknown("srv")})),
    ];
    for (what, path) in [
        ("not an id", "/v1/servers/nope".to_owned()),
        ("prefix only", "/v1/servers/srv_".to_owned()),
        (
            "bad ULID",
            "/v1/servers/srv_zzzzzzzzzzzzzzzzzzzzzzzzzz".to_owned(),
        ),
        (
            "short ULID",
            format!("/v1/servers/srv_{}", &UNKNOWN_ULID[..25]),
        ),
        ("long ULID", format!("/v1/servers/srv_{UNKNOWN_ULID}0")),
        ("another type's id", format!("/v1/servers/{}", w.listener)),
        (
            "a connection id as a channel",
            format!("/v1/channels/{}", w.conn),
        ),
        (
            "escaped slashes",
            "/v1/connections/..%2F..%2Fetc".to_owned(),
        ),
        ("percent-encoded NUL", "/v1/connections/conn_%00".to_owned()),
        ("unicode", "/v1/agreements/agr_%E2%9C%93".to_owned()),
    ] {
        cases.push(case(what, "GET", path, a));
    }
    cases.push(case(
        "malformed id on a POST",
        "POST",
        "/v1/connections/xyz/activate",
        a,
    ));
    cases.push(case(
        "malformed grant id",
        "POST",
        format!("/v1/grants/{}/approve", w.agreement),
        a,
    ));
    cases.push(case("no such route", "GET", "/v1/nothing-here", a));
    cases.push(case(
        "too deep",
        "GET",
        format!("/v1/servers/{}/channels/extra", w.sa),
        a,
    ));
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| c.expect(404, "not_found"))
        .collect();
    run(&w, &cases);
    // A method the path does not serve.
    let r = case("", "DELETE", "/v1/connections", a).send(&w);
    assert_eq!(r.status, 405, "{}", r.text);
    assert!(
        r.header("allow")
            .is_some_and(|v| v.contains("GET") && v.contains("POST")),
        "{:?}",
        r.headers
    );
    w.h.stop();
}

#[test]
fn invalid_transitions_and_clashes_are_409() {
    let w = world();
    let (a, b, admin) = (&w.a.token, &w.b.token, &w.h.admin.clone());
    let conn = |action: &str| format!("/v1/connections/{}/{action}", w.conn);
    let mut cases = vec![
        case("pause a ready connection", "POST", conn("pause"), a).expect(409, "invalid_transition"),
        case("resume a ready connection", "POST", conn("resume"), b).expect(409, "invalid_transition"),
        case("retry a ready connection", "POST", conn("retry"), a).expect(409, "invalid_transition"),
        case("decline a p2p connection", "POST", conn("decline"), b).expect(409, "invalid_transition"),
        case("activate an offer", "POST", format!("/v1/connections/{}/activate", w.offer), b).expect(409, "invalid_transition"),
        case("approve an approved grant", "POST", format!("/v1/grants/{}/approve", w.grant), b).expect(409, "invalid_transition"),
        case("deny an approved grant", "POST", format!("/v1/grants/{}/deny", w.grant), b).expect(409, "invalid_transition"),
        case("accept an accepted request", "POST", format!("/v1/peering/requests/{}/accept", w.accepted_request), b).expect(409, "invalid_transition"),
        case("withdraw an accepted request", "POST", format!("/v1/peering/requests/{}/withdraw", w.accepted_request), a).expect(409, "invalid_transition"),
        case("revoke a revoked agreement", "POST", format!("/v1/agreements/{}/revoke", w.revoked_agreement), a).expect(409, "invalid_transition"),
        case("duplicate slug", "POST", "/v1/orgs", admin).json(json!({"name": "Other Acme", "slug": "acme", "owner": {"email": "o@other.example", "name": "O"}})).expect(409, "conflict"),
        case("duplicate e-mail", "POST", "/v1/orgs", admin).json(json!({"name": "Other", "slug": "other", "owner": {"email": "owner@acme.example", "name": "O"}})).expect(409, "conflict"),
        case("duplicate member e-mail", "POST", "/v1/org/members", a).json(json!({"email": "owner@beta.example", "name": "X", "role": "member"})).expect(409, "conflict"),
        case("duplicate connection", "POST", "/v1/connections", b).json(json!({"grant_id": w.grant, "source_server_id": w.sb, "target_server_id": w.sa})).expect(409, "conflict"),
        case("duplicate grant", "POST", "/v1/grants", b).json(json!({"agreement_id": w.agreement, "channel_id": w.listener})).expect(409, "conflict"),
        case("peering with an agreement", "POST", "/v1/peering/requests", b).json(json!({"to_org": "acme"})).expect(409, "conflict"),
        case("grant in a revoked agreement", "POST", "/v1/grants", a).json(json!({"agreement_id": w.revoked_agreement, "channel_id": w.listener})).expect(409, "conflict"),
        case("delete a server with channels", "DELETE", format!("/v1/servers/{}", w.sa), a).expect(409, "conflict"),
        case("unpublish a granted channel", "PATCH", format!("/v1/channels/{}", w.listener), a).json(json!({"published": false})).expect(409, "conflict"),
        case("delete a granted channel", "DELETE", format!("/v1/channels/{}", w.listener), a).expect(409, "conflict"),
        case("remove the last owner", "DELETE", format!("/v1/org/members/{}", w.owner_a), a).expect(409, "conflict"),
        case("demote the last owner", "PATCH", format!("/v1/org/members/{}", w.owner_a), a).json(json!({"role": "admin"})).expect(409, "conflict"),
    ];
    // The message and details name the current status.
    let r = cases[0].send(&w);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ready"),
        "{}",
        r.text
    );
    assert_eq!(
        r.json["error"]["details"],
        json!({"from": "ready", "event": "pause"}),
        "{}",
        r.text
    );
    cases.remove(0);
    run(&w, &cases);
    w.h.stop();
}

#[test]
fn missing_malformed_and_unknown_tokens_are_401() {
    let w = world();
    let a = w.a.token.clone();
    let body = json!({"name": "sneaky", "kind": "mirth"});
    let headers: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty", Some(String::new())),
        ("scheme only", Some("Bearer".to_owned())),
        ("scheme and space", Some("Bearer ".to_owned())),
        ("basic", Some("Basic dXNlcjpwYXNz".to_owned())),
        ("other scheme", Some(format!("Token {a}"))),
        ("token without scheme", Some(a.clone())),
        ("garbage", Some("Bearer garbage!!".to_owned())),
        (
            "unknown sbt_",
            Some(format!("Bearer sbt_{}", "A".repeat(43))),
        ),
        (
            "a registration-token shape",
            Some(format!("Bearer sbr_{}", "A".repeat(43))),
        ),
        ("real token plus a byte", Some(format!("Bearer {a}x"))),
        (
            "real token truncated",
            Some(format!("Bearer {}", &a[..a.len() - 1])),
        ),
        ("two tokens", Some(format!("Bearer {a} {a}"))),
        (
            "removed member's token",
            Some(format!("Bearer {}", w.removed_token)),
        ),
        (
            "very long",
            Some(format!("Bearer sbt_{}", "A".repeat(4000))),
        ),
    ];
    let mut cases = Vec::new();
    for (what, header) in &headers {
        cases.push(
            case(what, "POST", "/v1/servers", "")
                .auth(header.as_deref())
                .json(body.clone()),
        );
        cases.push(case(what, "GET", "/v1/servers", "").auth(header.as_deref()));
    }
    cases.push(
        case("unauthenticated org creation", "POST", "/v1/orgs", "")
            .auth(None)
            .json(
                json!({"name": "N", "slug": "nn", "owner": {"email": "n@n.example", "name": "N"}}),
            ),
    );
    cases.push(
        case(
            "unauthenticated support rotation",
            "POST",
            format!("/v1/admin/connections/{}/secret/rotate", w.conn),
            "",
        )
        .auth(None),
    );
    cases.push(
        case(
            "unauthenticated view",
            "POST",
            format!("/v1/connections/{}/secret/view", w.conn),
            "",
        )
        .auth(None),
    );
    cases.push(
        case(
            "unauthenticated revoke",
            "POST",
            format!("/v1/agreements/{}/revoke", w.agreement),
            "",
        )
        .auth(None),
    );
    cases.push(case("bad token, bad body", "POST", "/v1/servers", "sbt_nope").raw("{oops"));
    // Authentication comes before looking anything up: an unknown id is still 401.
    cases.push(case(
        "bad token, unknown id",
        "GET",
        format!("/v1/servers/srv_{UNKNOWN_ULID}"),
        "sbt_nope",
    ));
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| c.expect(401, "unauthorized"))
        .collect();
    run(&w, &cases);
    // A non-ASCII header value.
    let raw = b"GET /v1/servers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\r\n\r\n";
    let r = exchange(w.h.addr, raw);
    assert_eq!(r.status, 401, "{}", r.text);
    // Public routes need no token; the same token works where it should.
    assert_eq!(support::http(w.h.addr, "GET", "/healthz").0, 200);
    assert_eq!(w.h.call("GET", "/v1/servers", &a, None).0, 200);
    w.h.stop();
}

#[test]
fn role_refusals_change_nothing_either() {
    let w = world();
    let (a, b) = (&w.a, &w.b);
    let m = w.h.post_ok(
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "m@acme.example", "name": "M", "role": "member"})),
        201,
    );
    let member = m["token"].as_str().unwrap().to_owned();
    let cases = vec![
        case("member creates a server", "POST", "/v1/servers", &member)
            .json(json!({"name": "x", "kind": "mirth"})),
        case(
            "member activates",
            "POST",
            format!("/v1/connections/{}/activate", w.conn),
            &member,
        ),
        case(
            "member revokes",
            "POST",
            format!("/v1/agreements/{}/revoke", w.agreement),
            &member,
        ),
        case(
            "member revokes a grant",
            "POST",
            format!("/v1/grants/{}/revoke", w.grant),
            &member,
        ),
        case(
            "peer revokes a grant",
            "POST",
            format!("/v1/grants/{}/revoke", w.grant),
            &b.token,
        ),
        case(
            "owner reads admin users",
            "GET",
            "/v1/admin/users",
            &a.token,
        ),
        case(
            "owner sets a tier",
            "PUT",
            format!("/v1/admin/orgs/{}/tier", a.id),
            &a.token,
        )
        .json(json!({"tier": "enterprise"})),
        case(
            "platform admin creates a server",
            "POST",
            "/v1/servers",
            &w.h.admin,
        )
        .json(json!({"name": "x", "kind": "mirth"})),
        case(
            "offerer accepts its own offer",
            "POST",
            format!("/v1/connections/{}/accept", w.offer),
            &a.token,
        )
        .json(json!({"server_id": w.sb})),
    ];
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|c| c.expect(403, "forbidden"))
        .collect();
    run(&w, &cases);
    w.h.stop();
}
