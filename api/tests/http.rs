//! The HTTP layer against the real service and store: routing misses, authentication, body
//! limits and strict JSON, the error mapping of every code on the wire, request ids,
//! `Retry-After`, metrics, graceful shutdown, and the OpenAPI document against the router.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use reqwest::{Method, header};
use serde_json::{Value, json};
use support::{Api, assert_schema, run, send};
use switchboard_domain::ids::{
    AgreementId, ChannelId, ConnectionId, GrantId, OrgId, PeeringRequestId, ServerId, UserId,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    run(|| async {
        let api = Api::start().await;
        let r = api.call(Method::GET, "/v1/nothing-here", None, None).await;
        r.expect(404, Some("not_found"));
        assert_eq!(r.body["error"]["message"], "no such route");
        let r = api.call(Method::PUT, "/v1/servers", None, None).await;
        r.expect(405, Some("method_not_allowed"));
        assert_eq!(r.headers[header::ALLOW], "GET, POST");
        let r = api.call(Method::DELETE, "/healthz", None, None).await;
        r.expect(405, Some("method_not_allowed"));
        assert_eq!(r.headers[header::ALLOW], "GET");
        api.stop().await;
    });
}

#[test]
fn bearer_routes_need_a_valid_token() {
    run(|| async {
        let api = Api::start().await;
        let unauthorized = |r: &support::Reply| {
            r.expect(401, Some("unauthorized"));
            assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
        };
        unauthorized(&api.call(Method::GET, "/v1/me", None, None).await);
        for value in [
            "Basic dXNlcjpwdw==",
            "Bearer",
            "Bearer nope",
            "Bearer sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let r = send(
                api.req(Method::GET, "/v1/me")
                    .header(header::AUTHORIZATION, value),
            )
            .await;
            unauthorized(&r);
        }
        // Authentication comes before the body is looked at.
        let r = send(api.req(Method::POST, "/v1/servers").body("{not json")).await;
        unauthorized(&r);
        // Public routes need none.
        for path in ["/healthz", "/readyz", "/v1/openapi.json"] {
            let r = api.call(Method::GET, path, None, None).await;
            assert_eq!(r.status, 200, "{path}");
        }
        let r = api
            .call(
                Method::POST,
                "/v1/gateway/enroll",
                None,
                Some(json!({"registration_token": "sbr_nope"})),
            )
            .await;
        r.expect(401, Some("unauthorized"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("registration"),
            "{}",
            r.text
        );
        // A real token works and the response has the documented shape.
        let (_, owner) = api.org("acme", "free").await;
        let doc = api
            .call(Method::GET, "/v1/openapi.json", None, None)
            .await
            .body;
        let me = api.get("/v1/me", &owner).await;
        assert_schema(&doc, "Me", me.expect(200, None));
        api.stop().await;
    });
}

#[test]
fn request_ids_are_echoed_or_generated() {
    run(|| async {
        let api = Api::start().await;
        let r = send(
            api.req(Method::GET, "/healthz")
                .header("x-request-id", "client-id_42"),
        )
        .await;
        assert_eq!(r.headers["x-request-id"], "client-id_42");
        let r = send(
            api.req(Method::GET, "/nope")
                .header("x-request-id", "client-id_43"),
        )
        .await;
        assert_eq!(r.headers["x-request-id"], "client-id_43");
        for bad in ["has space", "semi;colon", &"x".repeat(65)] {
            let r = send(api.req(Method::GET, "/healthz").header("x-request-id", bad)).await;
            let echoed = r.headers["x-request-id"].to_str().unwrap();
            assert_ne!(echoed, bad);
            assert_eq!(echoed.len(), 26, "a ULID replaces {bad:?}");
        }
        let a = api.call(Method::GET, "/healthz", None, None).await;
        let b = api.call(Method::GET, "/healthz", None, None).await;
        assert_ne!(a.headers["x-request-id"], b.headers["x-request-id"]);
        api.stop().await;
    });
}

#[test]
fn bodies_are_limited_strict_json() {
    run(|| async {
        let api = Api::start_with(|s| s.settings.max_body_bytes = 1024).await;
        let (_, owner) = api.org("acme", "standard").await;

        // Declared too large: refused before reading.
        let big = json!({"name": "x".repeat(2000), "kind": "mirth"});
        let r = api.post("/v1/servers", &owner, big).await;
        r.expect(413, Some("too_large"));
        assert_eq!(r.body["error"]["details"]["max_bytes"], 1024);

        // Streamed (chunked) past the limit: refused once the limit is crossed.
        let status = chunked_post(&api, "/v1/tokens", &owner, 3000).await;
        assert!(status.starts_with("HTTP/1.1 413"), "{status}");

        // Malformed JSON: 400 naming line and column.
        let r = send(
            api.req(Method::POST, "/v1/servers")
                .bearer_auth(&owner)
                .header(header::CONTENT_TYPE, "application/json")
                .body("{\"name\": \"a\",\n \"kind\" \"mirth\"}"),
        )
        .await;
        r.expect(400, Some("bad_request"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("line 2 column"),
            "{}",
            r.text
        );
        assert_eq!(r.body["error"]["details"]["line"], 2);

        // Shape errors: 422 naming the field.
        for (body, field) in [
            (
                json!({"name": "a", "kind": "mirth", "colour": "red"}),
                "colour",
            ),
            (json!({"name": "a"}), "kind"),
            (json!({"name": 5, "kind": "mirth"}), "name"),
        ] {
            let r = api.post("/v1/servers", &owner, body.clone()).await;
            r.expect(422, Some("invalid"));
            assert_eq!(r.body["error"]["details"]["field"], field, "{body}");
        }
        let r = api
            .post(
                "/v1/grants",
                &owner,
                json!({"agreement_id": "srv_x", "channel_id": ChannelId::generate()}),
            )
            .await;
        r.expect(422, Some("invalid"));
        assert_eq!(r.body["error"]["details"]["field"], "agreement_id");
        let r = api
            .post(
                "/v1/orgs",
                &api.admin_token,
                json!({"name": "n", "slug": "nn", "owner": {"email": "a@b.example", "nme": "x"}}),
            )
            .await;
        r.expect(422, Some("invalid"));
        assert_eq!(r.body["error"]["details"]["field"], "owner.nme");

        // A body needs a JSON content type.
        let r = send(
            api.req(Method::POST, "/v1/servers")
                .bearer_auth(&owner)
                .header(header::CONTENT_TYPE, "text/plain")
                .body("{}"),
        )
        .await;
        r.expect(400, Some("bad_request"));
        let r = send(
            api.req(Method::POST, "/v1/servers")
                .bearer_auth(&owner)
                .body("{}"),
        )
        .await;
        r.expect(400, Some("bad_request"));

        // Routes without fields take an empty body or `{}`, nothing else.
        let r = send(api.req(Method::POST, "/v1/tokens").bearer_auth(&owner)).await;
        r.expect(201, None);
        let id = ConnectionId::generate();
        let path = format!("/v1/connections/{id}/activate");
        api.post(&path, &owner, json!({}))
            .await
            .expect(404, Some("not_found"));
        api.post(&path, &owner, json!({"now": true}))
            .await
            .expect(422, Some("invalid"));

        // Query parameters are typed and checked.
        for path in [
            "/v1/audit?limit=0",
            "/v1/audit?limit=1001",
            "/v1/audit?after=-3",
            "/v1/notifications?unread=maybe",
            "/v1/notifications?unread_only=true",
            "/v1/connections?status=bogus",
            "/v1/connections?include_terminal=2",
            "/v1/servers?page=2",
        ] {
            api.get(path, &owner).await.expect(422, Some("invalid"));
        }
        api.get("/v1/audit?after=0&limit=1000", &owner)
            .await
            .expect(200, None);
        api.get(
            "/v1/connections?status=active&include_terminal=true",
            &owner,
        )
        .await
        .expect(200, None);
        api.get("/v1/directory?q=ac", &owner)
            .await
            .expect(200, None);
        api.stop().await;
    });
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_408() {
    run(|| async {
        let api = Api::start_with(|s| s.settings.body_timeout = Duration::from_millis(200)).await;
        let mut stream = tokio::net::TcpStream::connect(api.addr).await.unwrap();
        let head = "POST /v1/gateway/enroll HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"regis";
        stream.write_all(head.as_bytes()).await.unwrap();
        let status = read_status(&mut stream).await;
        assert!(status.starts_with("HTTP/1.1 408"), "{status}");
        api.stop().await;
    });
}

#[test]
fn refusals_map_to_their_codes_on_the_wire() {
    run(|| async {
        let api = Api::start().await;
        let doc = api
            .call(Method::GET, "/v1/openapi.json", None, None)
            .await
            .body;
        let (_, free) = api.org("free-org", "free").await;

        // forbidden: a platform admin acts only through the admin endpoints; a member may
        // not manage servers.
        api.get("/v1/org", &api.admin_token)
            .await
            .expect(403, Some("forbidden"));
        let member = api
            .post(
                "/v1/org/members",
                &free,
                json!({"email": "m@free.example", "name": "M", "role": "member"}),
            )
            .await;
        assert_schema(&doc, "MemberCreated", member.expect(201, None));
        let member = member.body["token"].as_str().unwrap().to_owned();
        api.post(
            "/v1/servers",
            &member,
            json!({"name": "s", "kind": "mirth"}),
        )
        .await
        .expect(403, Some("forbidden"));

        // not_found: unknown ids and malformed ids alike.
        let r = api
            .get(&format!("/v1/servers/{}", ServerId::generate()), &free)
            .await;
        r.expect(404, Some("not_found"));
        assert_eq!(r.body["error"]["details"]["kind"], "server");
        api.get("/v1/servers/not-an-id", &free)
            .await
            .expect(404, Some("not_found"));
        api.get(&format!("/v1/servers/{}", ChannelId::generate()), &free)
            .await
            .expect(404, Some("not_found"));

        // invalid (service validation).
        let r = api
            .post("/v1/servers", &free, json!({"name": "  ", "kind": "mirth"}))
            .await;
        r.expect(422, Some("invalid"));
        assert_eq!(r.body["error"]["details"]["field"], "name");

        // conflict: a taken slug; a server that still has channels.
        let r = api
            .post("/v1/orgs", &api.admin_token, json!({"name": "x", "slug": "free-org", "owner": {"email": "o2@x.example", "name": "O"}}))
            .await;
        r.expect(409, Some("conflict"));

        // tier_limit: the free tier allows two servers.
        let mut servers = Vec::new();
        for name in ["a", "b"] {
            let s = api
                .post("/v1/servers", &free, json!({"name": name, "kind": "mirth"}))
                .await;
            assert_schema(&doc, "Server", s.expect(201, None));
            servers.push(s.body["id"].as_str().unwrap().to_owned());
        }
        let r = api
            .post("/v1/servers", &free, json!({"name": "c", "kind": "mirth"}))
            .await;
        r.expect(403, Some("tier_limit"));
        assert_eq!(
            r.body["error"]["details"],
            json!({"limit": "servers", "current": 2, "max": 2, "tier": "free"})
        );
        let ch = api
            .post(
                &format!("/v1/servers/{}/channels", servers[0]),
                &free,
                json!({"internal_name": "i", "public_name": "p", "direction": "sender"}),
            )
            .await;
        assert_schema(&doc, "Channel", ch.expect(201, None));
        let r = api
            .call(
                Method::DELETE,
                &format!("/v1/servers/{}", servers[0]),
                Some(&free),
                None,
            )
            .await;
        r.expect(409, Some("conflict"));
        let r = api
            .call(
                Method::DELETE,
                &format!("/v1/servers/{}", servers[1]),
                Some(&free),
                None,
            )
            .await;
        assert_eq!(r.status, 204);
        assert!(r.text.is_empty());

        // A connection: invalid_transition, tier_forbidden, secret_unavailable, rate_limited.
        let (owner, conn) = api.self_connection("selfish", "free").await;
        let c = api.get(&format!("/v1/connections/{conn}"), &owner).await;
        assert_schema(&doc, "ConnectionView", c.expect(200, None));
        // (Before the views: once the target side viewed the secret there is nothing to enroll.)
        let cfg = api
            .get(&format!("/v1/connections/{conn}/connector-config"), &owner)
            .await;
        assert_schema(&doc, "ConnectorConfig", cfg.expect(200, None));
        let r = api
            .post(&format!("/v1/connections/{conn}/pause"), &owner, json!({}))
            .await;
        r.expect(409, Some("invalid_transition"));
        assert_eq!(
            r.body["error"]["details"],
            json!({"from": "ready", "event": "pause"})
        );
        let r = api
            .post(
                &format!("/v1/connections/{conn}/secret/rotate"),
                &owner,
                json!({}),
            )
            .await;
        r.expect(403, Some("tier_forbidden"));
        let details = &r.body["error"]["details"];
        assert_eq!(
            (details["feature"].as_str(), details["tier"].as_str()),
            (Some("secret_rotation"), Some("free"))
        );
        assert!(
            details["available_on"]
                .as_array()
                .unwrap()
                .contains(&json!("standard"))
        );

        // Self-agreement: two views (one per side), then 410, then the window is spent: 429.
        let view = format!("/v1/connections/{conn}/secret/view");
        for _ in 0..2 {
            let r = api.post(&view, &owner, json!({})).await;
            assert_schema(&doc, "SecretReveal", r.expect(200, None));
            assert!(r.body["secret"].as_str().unwrap().starts_with("sbs_"));
        }
        for _ in 0..3 {
            let r = api.post(&view, &owner, json!({})).await;
            r.expect(410, Some("secret_unavailable"));
            assert!(!r.text.contains("sbs_"));
        }
        let r = api.post(&view, &owner, json!({})).await;
        r.expect(429, Some("rate_limited"));
        let retry: u64 = r.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(r.body["error"]["details"]["retry_after"], retry);

        // Feeds carry the documented shapes, and never the secret.
        let audit = api.get("/v1/audit", &owner).await;
        let entries = audit.expect(200, None).as_array().unwrap();
        assert!(!entries.is_empty());
        assert!(!audit.text.contains("sbs_"));
        for e in entries {
            assert_schema(&doc, "AuditEntry", e);
        }
        let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        let after = api
            .get(&format!("/v1/audit?after={}&limit=1", seqs[0]), &owner)
            .await;
        let page = after.expect(200, None).as_array().unwrap();
        assert_eq!(page.len(), 1);
        assert!(page[0]["seq"].as_u64().unwrap() > seqs[0]);
        let notes = api
            .get("/v1/notifications?unread=true&limit=5", &owner)
            .await;
        for n in notes.expect(200, None).as_array().unwrap() {
            assert_schema(&doc, "Notification", n);
        }
        let list = api.get("/v1/connections", &owner).await;
        for c in list.expect(200, None).as_array().unwrap() {
            assert_schema(&doc, "ConnectionView", c);
        }
        for (path, schema) in [
            ("/v1/agreements", "AgreementView"),
            ("/v1/grants", "GrantView"),
            ("/v1/peering/outbox", "PeeringRequestView"),
            ("/v1/servers", "Server"),
        ] {
            let r = api.get(path, &owner).await;
            for item in r.expect(200, None).as_array().unwrap() {
                assert_schema(&doc, schema, item);
            }
        }
        let diag = api
            .get(&format!("/v1/connections/{conn}/diagnostics"), &owner)
            .await;
        assert_schema(&doc, "Diagnostics", diag.expect(200, None));
        let orgs = api.get("/v1/admin/orgs", &api.admin_token).await;
        for o in orgs.expect(200, None).as_array().unwrap() {
            assert_schema(&doc, "Organization", o);
        }
        let rotated = api
            .post(
                &format!("/v1/admin/connections/{conn}/secret/rotate"),
                &api.admin_token,
                json!({}),
            )
            .await;
        assert_schema(&doc, "Rotated", rotated.expect(200, None));
        assert!(rotated.body["secret"].is_null());
        api.stop().await;
    });
}

#[test]
fn openapi_document_matches_the_router() {
    run(|| async {
        let api = Api::start().await;
        let (_, owner) = api.org("acme", "standard").await;
        let r = api.call(Method::GET, "/v1/openapi.json", None, None).await;
        let doc = r.expect(200, None).clone();
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();

        // Every route of the table is documented.
        for route in switchboard_api::routes::ROUTES {
            let op = &paths[route.path][route.verb.as_str().to_ascii_lowercase()];
            assert_eq!(
                op["operationId"],
                route.name,
                "{} {}",
                route.verb.as_str(),
                route.path
            );
        }

        // Every documented operation is routed by the running server.
        let mut operations = 0;
        for (path, methods) in paths {
            for (method, op) in methods.as_object().unwrap() {
                operations += 1;
                let concrete = substitute_ids(path);
                let method: Method = method.to_ascii_uppercase().parse().unwrap();
                let body = op.get("requestBody").map(|_| json!({}));
                let r = api
                    .call(method.clone(), &concrete, Some(&owner), body)
                    .await;
                let what = format!("{method} {concrete}: {}", r.text);
                assert_ne!(r.status, 405, "{what}");
                assert_ne!(r.status, 500, "{what}");
                assert!(
                    !(r.status == 404 && r.body["error"]["message"] == "no such route"),
                    "{what}"
                );
                let documented = op["responses"].as_object().unwrap();
                assert!(
                    documented.contains_key(r.status.as_str()),
                    "{what}: status {} is not documented",
                    r.status.as_u16()
                );
                if r.status.is_success()
                    && r.status != 204
                    && concrete.starts_with("/v1/")
                    && concrete != "/v1/openapi.json"
                {
                    let schema = &op["responses"][r.status.as_str()]["content"]["application/json"]
                        ["schema"];
                    check_against(&doc, schema, &r.body);
                }
            }
        }
        assert_eq!(operations, switchboard_api::routes::ROUTES.len());
        api.stop().await;
    });
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    run(|| async {
        let api = Api::start().await;
        let before = counter(&api, "ops.healthz", "200").await;
        let misses_before = counter(&api, "not_found", "404").await;
        for _ in 0..3 {
            api.call(Method::GET, "/healthz", None, None).await;
        }
        api.call(Method::GET, "/no/such/path/at/all", None, None)
            .await;
        let r = api.call(Method::GET, "/metrics", None, None).await;
        assert_eq!(r.status, 200);
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        assert!(
            r.text.contains("switchboard_http_request_duration_seconds"),
            "{}",
            r.text
        );
        assert!(
            !r.text.contains("/no/such/path"),
            "raw paths never become labels"
        );
        assert!(counter(&api, "ops.healthz", "200").await >= before + 3);
        assert!(counter(&api, "not_found", "404").await > misses_before);
        api.stop().await;

        let api = Api::start_with(|s| s.metrics = None).await;
        api.call(Method::GET, "/metrics", None, None)
            .await
            .expect(404, Some("not_found"));
        api.stop().await;
    });
}

#[test]
fn readiness_reports_the_check() {
    run(|| async {
        let api =
            Api::start_with(|s| s.ready = std::sync::Arc::new(|| Err("store closed".to_owned())))
                .await;
        let r = api.call(Method::GET, "/readyz", None, None).await;
        r.expect(503, Some("unavailable"));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("store closed")
        );
        api.call(Method::GET, "/healthz", None, None)
            .await
            .expect(200, None);
        api.stop().await;
    });
}

#[test]
fn shutdown_stops_accepting() {
    run(|| async {
        let api = Api::start().await;
        let addr = api.addr;
        api.call(Method::GET, "/healthz", None, None)
            .await
            .expect(200, None);
        api.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    });
}

/// Replaces `{id}` segments with a fresh id of the type the preceding segment names.
fn substitute_ids(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        if s.starts_with('{') {
            let id = match segments[i - 1] {
                "orgs" => OrgId::generate().to_string(),
                "members" => UserId::generate().to_string(),
                "servers" => ServerId::generate().to_string(),
                "channels" => ChannelId::generate().to_string(),
                "requests" => PeeringRequestId::generate().to_string(),
                "agreements" => AgreementId::generate().to_string(),
                "grants" => GrantId::generate().to_string(),
                "connections" => ConnectionId::generate().to_string(),
                other => panic!("no id type for /{other}/{{id}}"),
            };
            out.push(id);
        } else {
            out.push((*s).to_owned());
        }
    }
    out.join("/")
}

/// Checks a value against an inline response schema (a `$ref` or an array of one).
fn check_against(doc: &Value, schema: &Value, value: &Value) {
    if let Some(r) = schema["$ref"].as_str() {
        assert_schema(doc, r.trim_start_matches("#/components/schemas/"), value);
    } else if let Some(r) = schema["items"]["$ref"].as_str() {
        for item in value.as_array().unwrap() {
            assert_schema(doc, r.trim_start_matches("#/components/schemas/"), item);
        }
    }
}

/// The value of `switchboard_http_requests_total{route,status}` (0 when absent).
async fn counter(api: &Api, route: &str, status: &str) -> u64 {
    let text = api.call(Method::GET, "/metrics", None, None).await.text;
    text.lines()
        .filter(|l| l.starts_with("switchboard_http_requests_total{"))
        .filter(|l| {
            l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// POSTs `total` bytes with chunked encoding; returns the response's status line.
async fn chunked_post(api: &Api, path: &str, token: &str, total: usize) -> String {
    let mut stream = tokio::net::TcpStream::connect(api.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "x".repeat(500);
    let mut sent = 0;
    while sent < total {
        // The server may answer and close before everything is sent.
        if stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    read_status(&mut stream).await
}

async fn read_status(stream: &mut tokio::net::TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("a response")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}
