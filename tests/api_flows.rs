//! End-to-end flows of the HTTP admin API (SPEC §2–§8) against the real `switchboard serve`
//! binary: two organizations created by the platform admin find each other, peer, grant,
//! provision, move connections through their status machine, view and rotate secrets, enroll a
//! gateway, and revoke; plus admin offers, self-peering, tier limits, members and the platform
//! admin's boundaries.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Harness, TestOrg, assert_error, call, call_full, rfc3339_in};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

fn kinds(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Two peered organizations, each with servers, and A's channels.
struct Partners {
    h: Harness,
    a: TestOrg,
    b: TestOrg,
    agreement: String,
    /// A's server (listener and sender channels live here).
    sa: String,
    /// B's servers.
    sb: String,
    sb2: String,
    /// A listener channel on `sa`, published.
    listener: String,
    /// A sender channel on `sa`, published.
    sender: String,
}

fn partners(a_tier: &str, b_tier: &str) -> Partners {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", a_tier, true);
    let b = h.org("Beta Labs", "beta", b_tier, true);
    let agreement = h.peer(&a, &b);
    let sa = h.server(&a, "acme-mirth");
    let sb = h.server(&b, "beta-oie");
    let sb2 = h.server(&b, "beta-oie-2");
    let listener = h.channel(
        &a,
        &sa,
        "ADT_IN_acme_internal",
        "ADT inbound",
        "listener",
        true,
    );
    let sender = h.channel(
        &a,
        &sa,
        "ORU_OUT_acme_internal",
        "Results outbound",
        "sender",
        true,
    );
    Partners {
        h,
        a,
        b,
        agreement,
        sa,
        sb,
        sb2,
        listener,
        sender,
    }
}

#[test]
fn directory_peering_requests_and_agreements() {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", "free", true);
    let b = h.org("Beta Labs", "beta", "free", true);
    let c = h.org("Hidden Clinic", "hidden", "free", false);

    // Directory: discoverable orgs only, id/name/slug only.
    let dir = h.get_ok("/v1/directory?q=bet", &a.token);
    assert_eq!(
        dir,
        json!([{"id": b.id, "name": "Beta Labs", "slug": "beta"}])
    );
    let all = h.get_ok("/v1/directory", &a.token);
    let slugs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"beta") && slugs.contains(&"acme"), "{all}");
    assert!(
        !slugs.contains(&"hidden"),
        "a non-discoverable org is not listed: {all}"
    );
    assert_eq!(h.get_ok("/v1/directory?q=hidden", &a.token), json!([]));

    // A → B by slug: pending in A's outbox and B's inbox.
    let req = h.post_ok(
        "/v1/peering/requests",
        &a.token,
        Some(&json!({"to_org": "beta"})),
        201,
    );
    let req_id = req["id"].as_str().unwrap().to_owned();
    assert!(req_id.starts_with("pr_"), "{req}");
    assert_eq!(req["status"], "pending");
    assert_eq!(req["from_org"], a.id);
    assert_eq!(req["to_org"], b.id);
    assert_eq!(
        (req["from_name"].as_str(), req["to_name"].as_str()),
        (Some("Acme Health"), Some("Beta Labs"))
    );
    assert_eq!(
        ids(&h.get_ok("/v1/peering/outbox", &a.token)),
        vec![req_id.clone()]
    );
    assert_eq!(
        ids(&h.get_ok("/v1/peering/inbox", &b.token)),
        vec![req_id.clone()]
    );
    assert_eq!(h.get_ok("/v1/peering/inbox", &a.token), json!([]));
    assert_eq!(h.get_ok("/v1/peering/outbox", &b.token), json!([]));
    assert!(
        kinds(&h.get_ok("/v1/notifications", &b.token))
            .contains(&"peering_request_received".to_owned())
    );

    // One pending request per ordered pair; only the recipient accepts.
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &a.token,
            Some(&json!({"to_org": b.id})),
        ),
        409,
        "conflict",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/peering/requests/{req_id}/accept"),
            &a.token,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/peering/requests/{req_id}/withdraw"),
            &b.token,
            None,
        ),
        403,
        "forbidden",
    );

    let accepted = h.post_ok(
        &format!("/v1/peering/requests/{req_id}/accept"),
        &b.token,
        None,
        200,
    );
    assert_eq!(accepted["status"], "accepted");
    assert!(accepted["decided_at"].is_string(), "{accepted}");
    let agreement = accepted["agreement_id"].as_str().unwrap().to_owned();
    assert!(agreement.starts_with("agr_"));
    assert!(
        kinds(&h.get_ok("/v1/notifications", &a.token))
            .contains(&"peering_request_accepted".to_owned()),
        "the sender is notified"
    );
    // Deciding twice is refused.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/peering/requests/{req_id}/accept"),
            &b.token,
            None,
        ),
        409,
        "invalid_transition",
    );

    // Both parties list the agreement with the other's name.
    let la = h.get_ok("/v1/agreements", &a.token);
    let lb = h.get_ok("/v1/agreements", &b.token);
    assert_eq!(ids(&la), vec![agreement.clone()]);
    assert_eq!(ids(&lb), vec![agreement.clone()]);
    assert_eq!(la[0]["peer"], json!({"id": b.id, "name": "Beta Labs"}));
    assert_eq!(lb[0]["peer"], json!({"id": a.id, "name": "Acme Health"}));
    assert_eq!(la[0]["status"], "active");
    assert_eq!(la[0]["is_self"], false);
    let detail = h.get_ok(&format!("/v1/agreements/{agreement}"), &b.token);
    assert_eq!(detail["peer"]["name"], "Acme Health");

    // A request where an active agreement exists is a conflict, in either direction.
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &a.token,
            Some(&json!({"to_org": "beta"})),
        ),
        409,
        "conflict",
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &b.token,
            Some(&json!({"to_org": "acme"})),
        ),
        409,
        "conflict",
    );

    // A non-discoverable org can be reached by slug; the recipient declines.
    let to_c = h.post_ok(
        "/v1/peering/requests",
        &a.token,
        Some(&json!({"to_org": "hidden"})),
        201,
    );
    let to_c_id = to_c["id"].as_str().unwrap();
    let declined = h.post_ok(
        &format!("/v1/peering/requests/{to_c_id}/decline"),
        &c.token,
        None,
        200,
    );
    assert_eq!(declined["status"], "declined");
    assert!(declined["agreement_id"].is_null(), "{declined}");
    assert!(
        kinds(&h.get_ok("/v1/notifications", &a.token))
            .contains(&"peering_request_declined".to_owned())
    );
    // The sender withdraws another.
    let from_c = h.post_ok(
        "/v1/peering/requests",
        &c.token,
        Some(&json!({"to_org": b.id})),
        201,
    );
    let from_c_id = from_c["id"].as_str().unwrap();
    let withdrawn = h.post_ok(
        &format!("/v1/peering/requests/{from_c_id}/withdraw"),
        &c.token,
        None,
        200,
    );
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/peering/requests/{from_c_id}/accept"),
            &b.token,
            None,
        ),
        409,
        "invalid_transition",
    );
    // Neither created an agreement.
    assert_eq!(h.get_ok("/v1/agreements", &c.token), json!([]));
    // An unknown org.
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &a.token,
            Some(&json!({"to_org": "no-such-org"})),
        ),
        404,
        "not_found",
    );
    h.stop();
}

#[test]
fn peers_see_only_published_channels_public_fields() {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", "free", true);
    let b = h.org("Beta Labs", "beta", "free", true);
    let agreement = h.peer(&a, &b);
    let sa = h.server(&a, "acme-mirth");
    let published = h.channel(&a, &sa, "ADT_IN_internal", "ADT inbound", "listener", true);
    let unpublished = h.channel(&a, &sa, "DRAFT_internal", "Draft", "sender", false);

    let seen = h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &b.token);
    assert_eq!(
        seen,
        json!([{"id": published, "public_name": "ADT inbound", "public_description": "ADT inbound (public)", "direction": "listener"}]),
        "public fields of published channels only"
    );
    // A sees B's channels through the agreement: none.
    assert_eq!(
        h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &a.token),
        json!([])
    );
    // Publishing makes the other one visible; unpublishing hides it again.
    let (s, v) = h.call(
        "PATCH",
        &format!("/v1/channels/{unpublished}"),
        &a.token,
        Some(&json!({"published": true})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        ids(&h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &b.token)).len(),
        2
    );
    let (s, v) = h.call(
        "PATCH",
        &format!("/v1/channels/{unpublished}"),
        &a.token,
        Some(&json!({"published": false})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        ids(&h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &b.token)),
        vec![published.clone()]
    );
    // The owner's own views are complete.
    let own = h.get_ok(&format!("/v1/channels/{published}"), &a.token);
    assert_eq!(own["internal_name"], "ADT_IN_internal");
    // The peer cannot open the owner's channel or server directly.
    assert_error(
        &h.call("GET", &format!("/v1/channels/{published}"), &b.token, None),
        404,
        "not_found",
    );
    assert_error(
        &h.call("GET", &format!("/v1/servers/{sa}"), &b.token, None),
        404,
        "not_found",
    );
    assert_error(
        &h.call("GET", &format!("/v1/servers/{sa}/channels"), &b.token, None),
        404,
        "not_found",
    );
    h.stop();
}

#[test]
fn grants_by_offer_and_by_request_with_denials() {
    let p = partners("free", "free");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let more = h.channel(a, &p.sa, "MDM_internal", "Documents", "listener", true);
    let other = h.channel(a, &p.sa, "SIU_internal", "Scheduling", "listener", true);
    let draft = h.channel(a, &p.sa, "DRAFT_internal", "Draft", "listener", false);
    let g = |body: Value, token: &str| h.call("POST", "/v1/grants", token, Some(&body));

    // Offer: owner → pending → grantee approves.
    let (s, offer) = g(
        json!({"agreement_id": p.agreement, "channel_id": p.listener}),
        &a.token,
    );
    assert_eq!(s, 201, "{offer}");
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    assert!(offer_id.starts_with("gr_"));
    assert_eq!(
        (offer["status"].as_str(), offer["path"].as_str()),
        (Some("pending"), Some("offer"))
    );
    assert_eq!(offer["grantee_org"], b.id);
    assert_eq!(offer["channel_public_name"], "ADT inbound");
    assert!(kinds(&h.get_ok("/v1/notifications", &b.token)).contains(&"grant_offered".to_owned()));
    // The offering side cannot approve its own offer.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/grants/{offer_id}/approve"),
            &a.token,
            None,
        ),
        403,
        "forbidden",
    );
    // A second live grant of the same channel to the same peer.
    assert_error(
        &g(
            json!({"agreement_id": p.agreement, "channel_id": p.listener}),
            &a.token,
        ),
        409,
        "conflict",
    );
    assert_error(
        &g(
            json!({"agreement_id": p.agreement, "channel_id": p.listener}),
            &b.token,
        ),
        409,
        "conflict",
    );
    let approved = h.post_ok(
        &format!("/v1/grants/{offer_id}/approve"),
        &b.token,
        None,
        200,
    );
    assert_eq!(approved["status"], "approved");
    assert!(kinds(&h.get_ok("/v1/notifications", &a.token)).contains(&"grant_approved".to_owned()));
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/grants/{offer_id}/approve"),
            &b.token,
            None,
        ),
        409,
        "invalid_transition",
    );
    // Only the owner revokes.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/grants/{offer_id}/revoke"),
            &b.token,
            None,
        ),
        403,
        "forbidden",
    );

    // Request: peer → requested → owner approves (and is notified of the request).
    let (s, request) = g(
        json!({"agreement_id": p.agreement, "channel_id": p.sender}),
        &b.token,
    );
    assert_eq!(s, 201, "{request}");
    let request_id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (request["status"].as_str(), request["path"].as_str()),
        (Some("requested"), Some("request"))
    );
    assert_eq!(request["grantee_org"], b.id);
    assert!(
        kinds(&h.get_ok("/v1/notifications", &a.token)).contains(&"grant_requested".to_owned()),
        "the owner is notified"
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/grants/{request_id}/approve"),
            &b.token,
            None,
        ),
        403,
        "forbidden",
    );
    assert_eq!(
        h.post_ok(
            &format!("/v1/grants/{request_id}/approve"),
            &a.token,
            None,
            200
        )["status"],
        "approved"
    );

    // Deny paths: the grantee denies an offer; the owner denies a request.
    let (_, o2) = g(
        json!({"agreement_id": p.agreement, "channel_id": more}),
        &a.token,
    );
    let o2 = o2["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.post_ok(&format!("/v1/grants/{o2}/deny"), &b.token, None, 200)["status"],
        "denied"
    );
    assert!(kinds(&h.get_ok("/v1/notifications", &a.token)).contains(&"grant_denied".to_owned()));
    assert_error(
        &h.call("POST", &format!("/v1/grants/{o2}/approve"), &b.token, None),
        409,
        "invalid_transition",
    );
    let (_, r2) = g(
        json!({"agreement_id": p.agreement, "channel_id": other}),
        &b.token,
    );
    let r2 = r2["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.post_ok(&format!("/v1/grants/{r2}/deny"), &a.token, None, 200)["status"],
        "denied"
    );
    assert_error(
        &h.call("POST", &format!("/v1/grants/{r2}/deny"), &a.token, None),
        409,
        "invalid_transition",
    );
    // A denied grant does not block a new one.
    assert_eq!(
        g(
            json!({"agreement_id": p.agreement, "channel_id": more}),
            &b.token
        )
        .0,
        201
    );

    // Unpublished channels: invisible to the peer, not grantable by the owner.
    assert_error(
        &g(
            json!({"agreement_id": p.agreement, "channel_id": draft}),
            &b.token,
        ),
        404,
        "not_found",
    );
    assert_error(
        &g(
            json!({"agreement_id": p.agreement, "channel_id": draft}),
            &a.token,
        ),
        409,
        "conflict",
    );

    // Both sides list the grants.
    for token in [&a.token, &b.token] {
        let list = h.get_ok("/v1/grants", token);
        assert_eq!(find(&list, &offer_id)["status"], "approved");
        assert_eq!(find(&list, &request_id)["status"], "approved");
        assert_eq!(find(&list, &o2)["status"], "denied");
        assert_eq!(find(&list, &r2)["status"], "denied");
    }
    // Revoking an approved grant terminates its connections.
    let conn = h.provision(b, &offer_id, &p.sb, &p.sa);
    let revoked = h.post_ok(
        &format!("/v1/grants/{offer_id}/revoke"),
        &a.token,
        None,
        200,
    );
    assert_eq!(revoked["status"], "revoked");
    let c = h.get_ok(&format!("/v1/connections/{conn}"), &b.token);
    assert_eq!(
        (c["status"].as_str(), c["status_reason"].as_str()),
        (Some("terminated"), Some("grant_revoked"))
    );
    assert!(kinds(&h.get_ok("/v1/notifications", &b.token)).contains(&"grant_revoked".to_owned()));
    p.h.stop();
}

#[test]
fn provisioning_follows_the_direction_rules() {
    let p = partners("free", "free");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let listener_grant = h.grant(a, b, &p.agreement, &p.listener);
    let sender_grant = h.grant(a, b, &p.agreement, &p.sender);
    let prov = |token: &str, grant: &str, source: &str, target: &str| {
        h.call(
            "POST",
            "/v1/connections",
            token,
            Some(
                &json!({"grant_id": grant, "source_server_id": source, "target_server_id": target}),
            ),
        )
    };

    // Listener channel on A's server: target = that server, source = a grantee's server.
    let wrong = prov(&a.token, &listener_grant, &p.sa, &p.sb);
    assert_error(&wrong, 422, "invalid");
    assert_eq!(
        wrong.1["error"]["details"]["field"], "target_server_id",
        "{}",
        wrong.1
    );
    assert_error(
        &prov(&a.token, &listener_grant, &p.sb, &p.sb2),
        422,
        "invalid",
    );
    assert_error(
        &prov(&a.token, &listener_grant, &p.sb, &p.sb),
        422,
        "invalid",
    );
    let (s, conn) = prov(&a.token, &listener_grant, &p.sb, &p.sa);
    assert_eq!(s, 201, "{conn}");
    let c1 = conn["id"].as_str().unwrap().to_owned();
    assert!(c1.starts_with("conn_"));
    assert_eq!(conn["kind"], "p2p");
    assert_eq!(conn["mode"], "webrtc");
    assert_eq!(conn["status"], "ready");
    assert_eq!(conn["grant_id"], listener_grant.as_str());
    assert_eq!(conn["route"], "beta-oie → acme-mirth");
    assert_eq!(conn["peer_name"], "Beta Labs");
    assert_eq!(conn["your_sides"], json!(["target"]));
    assert_eq!(conn["source_server"]["id"], p.sb.as_str());
    assert_eq!(
        conn["source_server"]["description"], "beta-oie in the basement",
        "server name and description are visible to both parties"
    );
    assert_eq!(conn["target_server"]["id"], p.sa.as_str());
    assert_eq!(conn["connectivity"]["state"], "never_connected");
    let seen_by_b = h.get_ok(&format!("/v1/connections/{c1}"), &b.token);
    assert_eq!(seen_by_b["peer_name"], "Acme Health");
    assert_eq!(seen_by_b["your_sides"], json!(["source"]));
    assert_eq!(seen_by_b["route"], "beta-oie → acme-mirth");
    // The same grant, source and target again: conflict. Another source: fine (by the grantee).
    assert_error(
        &prov(&b.token, &listener_grant, &p.sb, &p.sa),
        409,
        "conflict",
    );
    let (s, c2) = prov(&b.token, &listener_grant, &p.sb2, &p.sa);
    assert_eq!(s, 201, "{c2}");
    let c2 = c2["id"].as_str().unwrap().to_owned();

    // Sender channel on A's server: source = that server, target = a grantee's server.
    let wrong = prov(&b.token, &sender_grant, &p.sb, &p.sa);
    assert_error(&wrong, 422, "invalid");
    assert_eq!(
        wrong.1["error"]["details"]["field"], "source_server_id",
        "{}",
        wrong.1
    );
    assert_error(&prov(&b.token, &sender_grant, &p.sa, &p.sa), 422, "invalid");
    let (s, c3) = prov(&b.token, &sender_grant, &p.sa, &p.sb);
    assert_eq!(s, 201, "{c3}");
    assert_eq!(c3["route"], "acme-mirth → beta-oie");
    assert_eq!(c3["your_sides"], json!(["target"]));
    // The wrong grant for the channel's servers, a grant that is not approved.
    let (_, pending) = h.call("POST", "/v1/grants", &a.token, Some(&json!({"agreement_id": p.agreement, "channel_id": h.channel(a, &p.sa, "X_internal", "X", "listener", true)})));
    assert_error(
        &prov(&b.token, pending["id"].as_str().unwrap(), &p.sb, &p.sa),
        409,
        "conflict",
    );

    // Status machine on c1.
    let mv = |token: &str, id: &str, action: &str| {
        h.call(
            "POST",
            &format!("/v1/connections/{id}/{action}"),
            token,
            None,
        )
    };
    let refused = mv(&a.token, &c1, "retry");
    assert_error(&refused, 409, "invalid_transition");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ready"),
        "{}",
        refused.1
    );
    assert_error(&mv(&a.token, &c1, "pause"), 409, "invalid_transition");
    assert_error(&mv(&a.token, &c1, "resume"), 409, "invalid_transition");
    assert_eq!(mv(&b.token, &c1, "activate").1["status"], "active");
    assert!(
        kinds(&h.get_ok("/v1/notifications", &a.token))
            .contains(&"connection_status_changed".to_owned())
    );
    assert_error(&mv(&a.token, &c1, "activate"), 409, "invalid_transition");
    // retry needs `failed`, which only the system sets.
    let refused = mv(&a.token, &c1, "retry");
    assert_error(&refused, 409, "invalid_transition");
    assert_eq!(
        refused.1["error"]["details"]["from"], "active",
        "{}",
        refused.1
    );
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("active"),
        "{}",
        refused.1
    );
    // Admin-offer moves are not for p2p connections.
    assert_error(&mv(&b.token, &c1, "decline"), 409, "invalid_transition");
    assert_eq!(mv(&a.token, &c1, "pause").1["status"], "paused");
    assert_error(&mv(&a.token, &c1, "pause"), 409, "invalid_transition");
    assert_eq!(mv(&b.token, &c1, "resume").1["status"], "active");
    let (s, t) = mv(&a.token, &c1, "terminate");
    assert_eq!((s, t["status"].as_str()), (200, Some("terminated")), "{t}");
    assert_eq!(t["status_reason"], "terminated_by_party");
    for action in ["activate", "pause", "resume", "retry", "terminate"] {
        let r = mv(&b.token, &c1, action);
        assert_error(&r, 409, "invalid_transition");
        assert_eq!(
            r.1["error"]["details"]["from"], "terminated",
            "{action}: {}",
            r.1
        );
    }

    // Lists hide terminal connections unless asked; `status=` filters.
    let live = ids(&h.get_ok("/v1/connections", &a.token));
    assert!(!live.contains(&c1) && live.contains(&c2), "{live:?}");
    let every = ids(&h.get_ok("/v1/connections?include_terminal=true", &a.token));
    assert!(every.contains(&c1) && every.contains(&c2));
    assert_eq!(
        ids(&h.get_ok(
            "/v1/connections?status=terminated&include_terminal=true",
            &b.token
        )),
        vec![c1.clone()]
    );
    let ready = ids(&h.get_ok("/v1/connections?status=ready", &b.token));
    assert_eq!(ready.len(), 2, "{ready:?}");
    assert!(ready.contains(&c2));
    // Once terminated, the same triple may be provisioned again.
    assert_eq!(prov(&a.token, &listener_grant, &p.sb, &p.sa).0, 201);
    p.h.stop();
}

#[test]
fn admin_offers_and_the_admin_rw_tier_override() {
    let p = partners("free", "standard");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let offer = |token: &str, server: &str, access: &str| {
        h.call(
            "POST",
            "/v1/connections/admin",
            token,
            Some(&json!({"agreement_id": p.agreement, "server_id": server, "access": access})),
        )
    };
    // Admin RW is refused on free: judged by the tier of the org owning the offered server.
    let refused = offer(&a.token, &p.sa, "rw");
    assert_error(&refused, 403, "tier_forbidden");
    let details = &refused.1["error"]["details"];
    assert_eq!(
        (details["feature"].as_str(), details["tier"].as_str()),
        (Some("admin_rw"), Some("free")),
        "{details}"
    );
    assert!(
        details["available_on"]
            .as_array()
            .unwrap()
            .contains(&json!("standard")),
        "{details}"
    );
    // The offered server must be the caller's.
    assert_error(&offer(&a.token, &p.sb, "ro"), 404, "not_found");

    // Admin RO on free: offered → the recipient accepts with one of its servers.
    let (s, ro) = offer(&a.token, &p.sa, "ro");
    assert_eq!(s, 201, "{ro}");
    let ro_id = ro["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (ro["kind"].as_str(), ro["status"].as_str()),
        (Some("admin_ro"), Some("offered"))
    );
    assert!(
        ro["source_server"].is_null() && ro["offer_expires_at"].is_string(),
        "{ro}"
    );
    assert!(
        kinds(&h.get_ok("/v1/notifications", &b.token))
            .contains(&"admin_offer_received".to_owned())
    );
    // Only the recipient accepts or declines; it must pick its own server.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro_id}/accept"),
            &a.token,
            Some(&json!({"server_id": p.sa})),
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro_id}/decline"),
            &a.token,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro_id}/accept"),
            &b.token,
            Some(&json!({"server_id": p.sa})),
        ),
        404,
        "not_found",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro_id}/activate"),
            &b.token,
            None,
        ),
        409,
        "invalid_transition",
    );
    let (s, accepted) = h.call(
        "POST",
        &format!("/v1/connections/{ro_id}/accept"),
        &b.token,
        Some(&json!({"server_id": p.sb})),
    );
    assert_eq!(s, 200, "{accepted}");
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["source_server"]["id"], p.sb.as_str());
    assert_eq!(accepted["route"], "beta-oie → acme-mirth");
    assert_eq!(accepted["your_sides"], json!(["source"]));
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro_id}/accept"),
            &b.token,
            Some(&json!({"server_id": p.sb2})),
        ),
        409,
        "invalid_transition",
    );

    // Another offer, declined.
    let (_, ro2) = offer(&a.token, &p.sa, "ro");
    let ro2 = ro2["id"].as_str().unwrap().to_owned();
    let declined = h.post_ok(
        &format!("/v1/connections/{ro2}/decline"),
        &b.token,
        None,
        200,
    );
    assert_eq!(declined["status"], "declined");
    assert!(
        !ids(&h.get_ok("/v1/connections", &b.token)).contains(&ro2),
        "declined is terminal and hidden"
    );
    assert!(ids(&h.get_ok("/v1/connections?include_terminal=true", &b.token)).contains(&ro2));

    // Standard offers RW directly.
    let (s, rw_b) = offer(&b.token, &p.sb, "rw");
    assert_eq!(
        (s, rw_b["kind"].as_str()),
        (201, Some("admin_rw")),
        "{rw_b}"
    );

    // A platform-admin override lets the free org offer RW.
    let (s, org) = h.call(
        "POST",
        &format!("/v1/admin/orgs/{}/overrides", a.id),
        &h.admin,
        Some(&json!({"feature": "admin_rw", "expires_at": rfc3339_in(3600)})),
    );
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["tier"], "free");
    assert_eq!(org["overrides"].as_array().unwrap().len(), 1, "{org}");
    let (s, rw) = offer(&a.token, &p.sa, "rw");
    assert_eq!(
        (s, rw["kind"].as_str(), rw["status"].as_str()),
        (201, Some("admin_rw"), Some("offered")),
        "{rw}"
    );
    let rw_id = rw["id"].as_str().unwrap();
    assert_eq!(
        h.post_ok(
            &format!("/v1/connections/{rw_id}/accept"),
            &b.token,
            Some(&json!({"server_id": p.sb2})),
            200
        )["status"],
        "active"
    );
    // Either party may terminate an admin connection.
    assert_eq!(
        h.post_ok(
            &format!("/v1/connections/{rw_id}/terminate"),
            &a.token,
            None,
            200
        )["status"],
        "terminated"
    );
    p.h.stop();
}

#[test]
fn self_peering_joins_two_servers_of_one_org() {
    let h = Harness::start();
    let s = h.org("Solo Hospital", "solo", "free", false);
    let other = h.org("Other", "other", "free", true);
    let req = h.post_ok(
        "/v1/peering/requests",
        &s.token,
        Some(&json!({"to_org": "solo"})),
        201,
    );
    assert_eq!(
        req["status"], "accepted",
        "a self request is accepted at once: {req}"
    );
    let agreement = req["agreement_id"].as_str().unwrap().to_owned();
    let list = h.get_ok("/v1/agreements", &s.token);
    assert_eq!(ids(&list), vec![agreement.clone()]);
    assert_eq!(list[0]["peer"]["name"], "Self");
    assert_eq!(list[0]["is_self"], true);
    assert_eq!(
        h.get_ok("/v1/peering/inbox", &s.token)
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "pending")
            .count(),
        0
    );
    // Only one active self-agreement.
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &s.token,
            Some(&json!({"to_org": s.id})),
        ),
        409,
        "conflict",
    );

    let alpha = h.server(&s, "Alpha");
    let bravo = h.server(&s, "Bravo");
    let ch = h.channel(&s, &bravo, "LAB_internal", "Lab results", "listener", true);
    // In a self-agreement everything is visible.
    let chans = h.get_ok(&format!("/v1/agreements/{agreement}/channels"), &s.token);
    assert_eq!(chans[0]["internal_name"], "LAB_internal", "{chans}");
    let grant = h.grant(&s, &s, &agreement, &ch);
    let (st, bad) = h.call(
        "POST",
        "/v1/connections",
        &s.token,
        Some(&json!({"grant_id": grant, "source_server_id": bravo, "target_server_id": bravo})),
    );
    assert_error(&(st, bad), 422, "invalid");
    let (st, conn) = h.call(
        "POST",
        "/v1/connections",
        &s.token,
        Some(&json!({"grant_id": grant, "source_server_id": alpha, "target_server_id": bravo})),
    );
    assert_eq!(st, 201, "{conn}");
    assert_eq!(conn["route"], "Alpha → Bravo");
    assert_eq!(conn["peer_name"], "Self");
    assert_eq!(conn["your_sides"], json!(["source", "target"]));
    let conn = conn["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get_ok("/v1/connections", &s.token)[0]["route"],
        "Alpha → Bravo"
    );
    // One org owns both sides: two views (source first, then target), then 410.
    let v1 = h.post_ok(
        &format!("/v1/connections/{conn}/secret/view"),
        &s.token,
        None,
        200,
    );
    let v2 = h.post_ok(
        &format!("/v1/connections/{conn}/secret/view"),
        &s.token,
        None,
        200,
    );
    assert_eq!(
        (v1["side"].as_str(), v2["side"].as_str()),
        (Some("source"), Some("target"))
    );
    assert_eq!(v1["secret"], v2["secret"]);
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{conn}/secret/view"),
            &s.token,
            None,
        ),
        410,
        "secret_unavailable",
    );
    // A self-agreement does not count as a peer: a free org still peers with two others.
    let third = h.org("Third", "third", "free", true);
    h.peer(&s, &other);
    h.peer(&third, &s);
    h.stop();
}

/// A p2p connection (source: a server of B, target: A's server) and an accepted admin RO
/// connection managing A's server from B's.
fn with_connections(p: &Partners) -> (String, String) {
    let h = &p.h;
    let grant = h.grant(&p.a, &p.b, &p.agreement, &p.listener);
    let p2p = h.provision(&p.b, &grant, &p.sb, &p.sa);
    let (_, ro) = h.call(
        "POST",
        "/v1/connections/admin",
        &p.a.token,
        Some(&json!({"agreement_id": p.agreement, "server_id": p.sa, "access": "ro"})),
    );
    let ro = ro["id"].as_str().unwrap().to_owned();
    h.post_ok(
        &format!("/v1/connections/{ro}/accept"),
        &p.b.token,
        Some(&json!({"server_id": p.sb})),
        200,
    );
    (p2p, ro)
}

fn is_secret(v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("no secret: {v}"));
    assert!(
        s.starts_with("sbs_") && s.len() == 4 + 43,
        "sbs_ + base64url of 32 bytes: {s}"
    );
    s.to_owned()
}

#[test]
fn secrets_are_viewed_once_per_side_and_rate_limited() {
    let p = partners("free", "free");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let (p2p, ro) = with_connections(&p);
    let view = |token: &str, id: &str| {
        call_full(
            h.addr,
            "POST",
            &format!("/v1/connections/{id}/secret/view"),
            Some(token),
            None,
        )
    };

    assert_eq!(
        h.get_ok(&format!("/v1/connections/{p2p}"), &a.token)["secret"],
        json!({"generation": 0, "viewable": true})
    );
    let va = view(&a.token, &p2p);
    assert_eq!(va.status, 200, "{}", va.text);
    assert_eq!(va.json["side"], "target");
    assert_eq!(va.json["connection_id"], p2p.as_str());
    let secret = is_secret(&va.json["secret"]);
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{p2p}"), &a.token)["secret"]["viewable"],
        false
    );
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{p2p}"), &b.token)["secret"]["viewable"],
        true
    );
    let again = view(&a.token, &p2p);
    assert_error(&again.pair(), 410, "secret_unavailable");
    assert!(
        again.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rotate"),
        "{}",
        again.text
    );
    let vb = view(&b.token, &p2p);
    assert_eq!(vb.status, 200, "{}", vb.text);
    assert_eq!(vb.json["side"], "source");
    assert_eq!(
        is_secret(&vb.json["secret"]),
        secret,
        "both sides get the same secret"
    );
    assert_error(&view(&b.token, &p2p).pair(), 410, "secret_unavailable");
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{p2p}"), &b.token)["secret"]["viewable"],
        false
    );

    // Views, refusals included, are audited without the secret.
    let audit = h.audit_all("/v1/audit", &a.token);
    let views = audit
        .iter()
        .filter(|e| e["action"] == "secret.view" && e["target"] == p2p.as_str())
        .count();
    assert!(views >= 3, "two views and refusals: {views}");
    assert!(!serde_json::to_string(&audit).unwrap().contains(&secret));

    // An admin connection's secret may be viewed again, by either side, up to 5 times a
    // minute; the 6th within 60 s is 429 with Retry-After.
    let mut seen = Vec::new();
    for (i, token) in [&a.token, &a.token, &b.token, &a.token, &b.token]
        .into_iter()
        .enumerate()
    {
        let r = view(token, &ro);
        assert_eq!(r.status, 200, "view {i}: {}", r.text);
        seen.push(is_secret(&r.json["secret"]));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    let limited = view(&a.token, &ro);
    assert_error(&limited.pair(), 429, "rate_limited");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(&view(&b.token, &ro).pair(), 429, "rate_limited");
    // The window is per connection: another connection is not affected.
    let (_, other) = h.call(
        "POST",
        "/v1/connections/admin",
        &a.token,
        Some(&json!({"agreement_id": p.agreement, "server_id": p.sa, "access": "ro"})),
    );
    let other = other["id"].as_str().unwrap();
    assert_eq!(
        view(&a.token, other).status,
        200,
        "the offering side (target) may view an open offer's secret"
    );
    // The recipient has no server in it yet.
    assert_error(&view(&b.token, other).pair(), 409, "conflict");

    // The platform admin never sees a secret.
    assert_error(&view(&h.admin, &p2p).pair(), 403, "forbidden");
    p.h.stop();
}

#[test]
fn rotation_by_tier_and_by_support() {
    // A (free) owns the target, B (standard) the source.
    let p = partners("free", "standard");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let (p2p, _) = with_connections(&p);
    let first = is_secret(
        &h.post_ok(
            &format!("/v1/connections/{p2p}/secret/view"),
            &a.token,
            None,
            200,
        )["secret"],
    );

    let refused = h.call(
        "POST",
        &format!("/v1/connections/{p2p}/secret/rotate"),
        &a.token,
        None,
    );
    assert_error(&refused, 403, "tier_forbidden");
    assert_eq!(
        refused.1["error"]["details"]["feature"], "secret_rotation",
        "{}",
        refused.1
    );
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("support"),
        "{}",
        refused.1
    );
    assert!(
        h.audit_all("/v1/audit", &a.token)
            .iter()
            .any(|e| e["action"] == "secret.rotate" && e["outcome"] == "refused"),
        "refusals are audited"
    );

    // Standard: the new secret is returned once and counts as the caller's side's view.
    let rotated = h.post_ok(
        &format!("/v1/connections/{p2p}/secret/rotate"),
        &b.token,
        None,
        200,
    );
    assert_eq!(
        (rotated["generation"].as_u64(), rotated["side"].as_str()),
        (Some(1), Some("source")),
        "{rotated}"
    );
    let second = is_secret(&rotated["secret"]);
    assert_ne!(second, first);
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{p2p}/secret/view"),
            &b.token,
            None,
        ),
        410,
        "secret_unavailable",
    );
    // The target's view count is reset: it views the new secret (it had viewed the old one).
    let va = h.post_ok(
        &format!("/v1/connections/{p2p}/secret/view"),
        &a.token,
        None,
        200,
    );
    assert_eq!(is_secret(&va["secret"]), second);
    assert_eq!(
        h.get_ok(&format!("/v1/connections/{p2p}"), &a.token)["secret"]["generation"],
        1
    );
    assert!(
        kinds(&h.get_ok("/v1/notifications", &a.token)).contains(&"secret_rotated".to_owned()),
        "the other party is told"
    );

    // Support rotation by the platform admin: any tier, no secret in the answer, both views reset.
    let support = call(
        h.addr,
        "POST",
        &format!("/v1/admin/connections/{p2p}/secret/rotate"),
        Some(&h.admin),
        None,
    );
    assert_eq!(support.0, 200, "{}", support.1);
    assert_eq!(support.1["generation"], 2);
    assert!(
        support.1.get("secret").is_none_or(Value::is_null),
        "{}",
        support.1
    );
    assert!(!support.1.to_string().contains("sbs_"), "{}", support.1);
    let va = is_secret(
        &h.post_ok(
            &format!("/v1/connections/{p2p}/secret/view"),
            &a.token,
            None,
            200,
        )["secret"],
    );
    let vb = is_secret(
        &h.post_ok(
            &format!("/v1/connections/{p2p}/secret/view"),
            &b.token,
            None,
            200,
        )["secret"],
    );
    assert_eq!(va, vb);
    assert!(va != first && va != second);
    // Owners cannot use the support endpoint.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/admin/connections/{p2p}/secret/rotate"),
            &b.token,
            None,
        ),
        403,
        "forbidden",
    );
    p.h.stop();
}

#[test]
fn connector_config_and_gateway_enrollment() {
    let p = partners("standard", "standard");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let (p2p, _) = with_connections(&p);
    let c = h.org("Gamma", "gamma", "free", true);
    let cfg = |token: &str| {
        h.call(
            "GET",
            &format!("/v1/connections/{p2p}/connector-config"),
            token,
            None,
        )
    };
    let enroll = |t: &str| {
        call(
            h.addr,
            "POST",
            "/v1/gateway/enroll",
            None,
            Some(&json!({"registration_token": t})),
        )
    };

    // Only the target server's owner gets it; anyone else: 404.
    assert_error(&cfg(&b.token), 404, "not_found");
    assert_error(&cfg(&c.token), 404, "not_found");
    let (s, config) = cfg(&a.token);
    assert_eq!(s, 200, "{config}");
    assert_eq!(config["connection_id"], p2p.as_str());
    assert_eq!(
        (config["side"].as_str(), config["kind"].as_str()),
        (Some("target"), Some("p2p"))
    );
    assert_eq!(config["listener"]["channel_public_name"], "ADT inbound");
    assert!(config.get("broker").is_some(), "{config}");
    let token = config["registration_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sbr_"), "{token}");
    assert!(
        !config.to_string().contains("sbs_") && config.get("secret").is_none(),
        "never the secret: {config}"
    );

    // Enrollment (no user token) returns the secret once.
    let (s, enrolled) = enroll(&token);
    assert_eq!(s, 200, "{enrolled}");
    assert_eq!(
        (
            enrolled["connection_id"].as_str(),
            enrolled["side"].as_str()
        ),
        (Some(p2p.as_str()), Some("target"))
    );
    let secret = is_secret(&enrolled["secret"]);
    assert_error(&enroll(&token), 401, "unauthorized");
    assert_error(&enroll("sbr_not-a-real-token"), 401, "unauthorized");
    assert_error(&enroll("garbage"), 401, "unauthorized");
    // It was the target's one view; the source still has its own.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{p2p}/secret/view"),
            &a.token,
            None,
        ),
        410,
        "secret_unavailable",
    );
    assert_error(&cfg(&a.token), 410, "secret_unavailable");
    assert_eq!(
        h.post_ok(
            &format!("/v1/connections/{p2p}/secret/view"),
            &b.token,
            None,
            200
        )["secret"],
        secret.as_str()
    );
    assert!(
        h.audit_all("/v1/audit", &a.token)
            .iter()
            .any(|e| e["action"] == "secret.enroll"),
        "enrollment is audited"
    );

    // Rotation issues a new token: an older one stops working.
    let rotated = h.post_ok(
        &format!("/v1/connections/{p2p}/secret/rotate"),
        &b.token,
        None,
        200,
    );
    let new_secret = is_secret(&rotated["secret"]);
    let (s, config) = cfg(&a.token);
    assert_eq!(s, 200, "{config}");
    let stale = config["registration_token"].as_str().unwrap().to_owned();
    h.post_ok(
        &format!("/v1/admin/connections/{p2p}/secret/rotate"),
        &h.admin,
        None,
        200,
    );
    assert_error(&enroll(&stale), 401, "unauthorized");
    let (_, config) = cfg(&a.token);
    let fresh = config["registration_token"].as_str().unwrap().to_owned();
    let (s, enrolled) = enroll(&fresh);
    assert_eq!(s, 200, "{enrolled}");
    let newest = is_secret(&enrolled["secret"]);
    assert_ne!(newest, new_secret);
    assert_eq!(
        h.post_ok(
            &format!("/v1/connections/{p2p}/secret/view"),
            &b.token,
            None,
            200
        )["secret"],
        newest.as_str()
    );
    p.h.stop();
}

#[test]
fn revoking_an_agreement_cascades_and_is_final() {
    let p = partners("free", "free");
    let (h, a, b) = (&p.h, &p.a, &p.b);
    let (p2p, ro) = with_connections(&p);
    let sender_grant = h.grant(&p.a, &p.b, &p.agreement, &p.sender);
    let p2p2 = h.provision(a, &sender_grant, &p.sa, &p.sb);
    h.post_ok(
        &format!("/v1/connections/{p2p}/activate"),
        &a.token,
        None,
        200,
    );
    let pending = h.post_ok("/v1/grants", &b.token, Some(&json!({"agreement_id": p.agreement, "channel_id": h.channel(a, &p.sa, "X_internal", "X", "listener", true)})), 201);
    assert_eq!(pending["status"], "requested");

    let revoked = h.post_ok(
        &format!("/v1/agreements/{}/revoke", p.agreement),
        &b.token,
        None,
        200,
    );
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(!revoked["revoked_by"].is_null(), "{revoked}");

    // Every connection terminated, every grant revoked, for both parties.
    for token in [&a.token, &b.token] {
        let conns = h.get_ok("/v1/connections?include_terminal=true", token);
        for id in [&p2p, &ro, &p2p2] {
            let c = find(&conns, id);
            assert_eq!(
                (c["status"].as_str(), c["status_reason"].as_str()),
                (Some("terminated"), Some("agreement_revoked")),
                "{c}"
            );
        }
        assert_eq!(h.get_ok("/v1/connections", token), json!([]));
        let grants = h.get_ok("/v1/grants", token);
        assert_eq!(grants.as_array().unwrap().len(), 3);
        assert!(
            grants
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["status"] == "revoked"),
            "{grants}"
        );
        // The agreement and its history stay readable.
        assert_eq!(
            h.get_ok(&format!("/v1/agreements/{}", p.agreement), token)["status"],
            "revoked"
        );
    }
    // The peer is notified.
    let notes = h.get_ok("/v1/notifications", &a.token);
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "agreement_revoked" && n["target"] == p.agreement.as_str()),
        "{notes}"
    );
    // Cannot be repeated or undone; nothing can be done inside it.
    let again = h.call(
        "POST",
        &format!("/v1/agreements/{}/revoke", p.agreement),
        &a.token,
        None,
    );
    assert_eq!(again.0, 409, "{}", again.1);
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{p2p}/activate"),
            &a.token,
            None,
        ),
        409,
        "invalid_transition",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{ro}/secret/view"),
            &a.token,
            None,
        ),
        410,
        "secret_unavailable",
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/grants",
            &a.token,
            Some(&json!({"agreement_id": p.agreement, "channel_id": p.listener})),
        ),
        409,
        "conflict",
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/connections/admin",
            &a.token,
            Some(&json!({"agreement_id": p.agreement, "server_id": p.sa, "access": "ro"})),
        ),
        409,
        "conflict",
    );
    // History in the audit log of both.
    for token in [&a.token, &b.token] {
        let audit = h.audit_all("/v1/audit", token);
        let actions: Vec<&str> = audit
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for wanted in [
            "peering.send",
            "peering.accept",
            "grant.offer",
            "grant.approve",
            "connection.provision",
            "connection.activate",
            "agreement.revoke",
        ] {
            assert!(
                actions.contains(&wanted),
                "{wanted} missing from {actions:?}"
            );
        }
        assert!(
            audit.iter().any(|e| e["target"] == p2p.as_str()),
            "the connection's history stays"
        );
    }
    // A new peering request creates a new agreement.
    let again = h.peer(a, b);
    assert_ne!(again, p.agreement);
    let list = h.get_ok("/v1/agreements", &a.token);
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(find(&list, &again)["status"], "active");
    p.h.stop();
}

#[test]
fn tier_limits_are_403_tier_limit_with_the_facts() {
    let h = Harness::start();
    let f = h.org("Free Clinic", "free-clinic", "free", true);
    let s1 = h.server(&f, "one");
    h.server(&f, "two");
    let (st, v) = h.call(
        "POST",
        "/v1/servers",
        &f.token,
        Some(&json!({"name": "three", "kind": "oie"})),
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(
        v["error"]["details"],
        json!({"limit": "servers", "current": 2, "max": 2, "tier": "free"})
    );
    assert_eq!(
        h.get_ok("/v1/servers", &f.token).as_array().unwrap().len(),
        2
    );

    for i in 0..5 {
        h.channel(
            &f,
            &s1,
            &format!("c{i}"),
            &format!("C{i}"),
            "listener",
            false,
        );
    }
    let (st, v) = h.call(
        "POST",
        &format!("/v1/servers/{s1}/channels"),
        &f.token,
        Some(&json!({"internal_name": "c5", "public_name": "C5", "direction": "sender"})),
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(
        v["error"]["details"],
        json!({"limit": "channels_per_server", "current": 5, "max": 5, "tier": "free"})
    );

    // Peers: two, then the sender is refused; accepting checks the recipient too.
    let p1 = h.org("P1", "p1", "free", true);
    let p2 = h.org("P2", "p2", "free", true);
    let p3 = h.org("P3", "p3", "standard", true);
    h.peer(&f, &p1);
    h.peer(&p2, &f);
    let (st, v) = h.call(
        "POST",
        "/v1/peering/requests",
        &f.token,
        Some(&json!({"to_org": "p3"})),
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(
        v["error"]["details"],
        json!({"limit": "peers", "current": 2, "max": 2, "tier": "free"})
    );
    let req = h.post_ok(
        "/v1/peering/requests",
        &p3.token,
        Some(&json!({"to_org": "free-clinic"})),
        201,
    );
    let (st, v) = h.call(
        "POST",
        &format!(
            "/v1/peering/requests/{}/accept",
            req["id"].as_str().unwrap()
        ),
        &f.token,
        None,
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(v["error"]["details"]["limit"], "peers");
    // Self-peering does not count.
    assert_eq!(
        h.post_ok(
            "/v1/peering/requests",
            &f.token,
            Some(&json!({"to_org": "free-clinic"})),
            201
        )["status"],
        "accepted"
    );

    // A limit override, then a tier change, lift the server limit.
    let (st, v) = h.call(
        "POST",
        &format!("/v1/admin/orgs/{}/overrides", f.id),
        &h.admin,
        Some(&json!({"limit": "servers", "value": 3, "expires_at": rfc3339_in(3600)})),
    );
    assert_eq!(st, 200, "{v}");
    h.server(&f, "three");
    let (st, v) = h.call(
        "POST",
        "/v1/servers",
        &f.token,
        Some(&json!({"name": "four", "kind": "oie"})),
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(v["error"]["details"]["max"], 3, "{v}");
    // A tier change (on an org without overrides).
    let g = h.org("Growing Clinic", "growing", "free", false);
    h.server(&g, "one");
    h.server(&g, "two");
    assert_error(
        &h.call(
            "POST",
            "/v1/servers",
            &g.token,
            Some(&json!({"name": "three", "kind": "oie"})),
        ),
        403,
        "tier_limit",
    );
    let (st, v) = h.call(
        "PUT",
        &format!("/v1/admin/orgs/{}/tier", g.id),
        &h.admin,
        Some(&json!({"tier": "standard"})),
    );
    assert_eq!((st, v["tier"].as_str()), (200, Some("standard")), "{v}");
    h.server(&g, "three");
    // Downgrading deletes nothing; it blocks new ones.
    let (st, _) = h.call(
        "PUT",
        &format!("/v1/admin/orgs/{}/tier", g.id),
        &h.admin,
        Some(&json!({"tier": "free"})),
    );
    assert_eq!(st, 200);
    assert_eq!(
        h.get_ok("/v1/servers", &g.token).as_array().unwrap().len(),
        3
    );
    let (st, v) = h.call(
        "POST",
        "/v1/servers",
        &g.token,
        Some(&json!({"name": "four", "kind": "oie"})),
    );
    assert_error(&(st, v.clone()), 403, "tier_limit");
    assert_eq!(
        v["error"]["details"],
        json!({"limit": "servers", "current": 3, "max": 2, "tier": "free"})
    );
    h.stop();
}

#[test]
fn members_roles_and_platform_admin_boundaries() {
    let h = Harness::start();
    let a = h.org("Acme Health", "acme", "standard", true);
    let b = h.org("Beta Labs", "beta", "standard", true);
    let agreement = h.peer(&a, &b);
    let sa = h.server(&a, "acme-mirth");
    let sb = h.server(&b, "beta-oie");
    let ch = h.channel(&a, &sa, "ADT_internal", "ADT", "listener", true);
    let grant = h.grant(&a, &b, &agreement, &ch);
    let conn = h.provision(&a, &grant, &sb, &sa);

    let (s, m) = h.call(
        "POST",
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "mia@acme.example", "name": "Mia", "role": "member"})),
    );
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["user"]["role"], "member");
    let member = m["token"].as_str().unwrap().to_owned();
    assert!(member.starts_with("sbt_"));
    let (s, ad) = h.call(
        "POST",
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "adam@acme.example", "name": "Adam", "role": "admin"})),
    );
    assert_eq!(s, 201, "{ad}");
    let admin = ad["token"].as_str().unwrap().to_owned();
    assert_error(
        &h.call(
            "POST",
            "/v1/org/members",
            &a.token,
            Some(&json!({"email": "mia@acme.example", "name": "Mia 2", "role": "member"})),
        ),
        409,
        "conflict",
    );

    // A member reads but changes nothing.
    let me = h.get_ok("/v1/me", &member);
    assert_eq!(
        (me["user"]["role"].as_str(), me["org"]["id"].as_str()),
        (Some("member"), Some(a.id.as_str()))
    );
    assert_eq!(ids(&h.get_ok("/v1/servers", &member)), vec![sa.clone()]);
    assert_eq!(
        ids(&h.get_ok("/v1/connections", &member)),
        vec![conn.clone()]
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/servers",
            &member,
            Some(&json!({"name": "x", "kind": "mirth"})),
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/servers/{sa}/channels"),
            &member,
            Some(&json!({"internal_name": "i", "public_name": "p", "direction": "sender"})),
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/peering/requests",
            &member,
            Some(&json!({"to_org": "beta"})),
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            "/v1/grants",
            &member,
            Some(&json!({"agreement_id": agreement, "channel_id": ch})),
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{conn}/activate"),
            &member,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{conn}/secret/view"),
            &member,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/agreements/{agreement}/revoke"),
            &member,
            None,
        ),
        403,
        "forbidden",
    );
    assert_error(&h.call("GET", "/v1/audit", &member, None), 403, "forbidden");
    assert_error(
        &h.call(
            "POST",
            "/v1/org/members",
            &member,
            Some(&json!({"email": "x@acme.example", "name": "X", "role": "member"})),
        ),
        403,
        "forbidden",
    );
    // An admin manages servers but not owners.
    assert_eq!(
        h.call(
            "POST",
            "/v1/servers",
            &admin,
            Some(&json!({"name": "admin-made", "kind": "oie"}))
        )
        .0,
        201
    );
    let owner_id = h.get_ok("/v1/me", &a.token)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(
        &h.call(
            "PATCH",
            &format!("/v1/org/members/{owner_id}"),
            &admin,
            Some(&json!({"role": "member"})),
        ),
        403,
        "forbidden",
    );
    // The last owner stays.
    assert_error(
        &h.call(
            "DELETE",
            &format!("/v1/org/members/{owner_id}"),
            &a.token,
            None,
        ),
        409,
        "conflict",
    );
    // Another token for the caller.
    let (s, t) = h.call(
        "POST",
        "/v1/tokens",
        &member,
        Some(&json!({"label": "laptop"})),
    );
    assert_eq!(s, 201, "{t}");
    let second = t["token"].as_str().unwrap().to_owned();
    assert_eq!(h.get_ok("/v1/me", &second)["user"]["role"], "member");
    // Removing a member ends its tokens.
    let mia = m["user"]["id"].as_str().unwrap();
    let (s, _) = h.call("DELETE", &format!("/v1/org/members/{mia}"), &a.token, None);
    assert_eq!(s, 204);
    assert_error(&h.call("GET", "/v1/me", &member, None), 401, "unauthorized");
    assert_error(&h.call("GET", "/v1/me", &second, None), 401, "unauthorized");

    // Platform admin endpoints refuse org owners and admins.
    for token in [&a.token, &admin] {
        for path in ["/v1/admin/orgs", "/v1/admin/users", "/v1/admin/audit"] {
            assert_error(&h.call("GET", path, token, None), 403, "forbidden");
        }
        assert_error(&h.call("POST", "/v1/orgs", token, Some(&json!({"name": "N", "slug": "nn", "owner": {"email": "n@n.example", "name": "N"}}))), 403, "forbidden");
        assert_error(
            &h.call(
                "PUT",
                &format!("/v1/admin/orgs/{}/tier", a.id),
                token,
                Some(&json!({"tier": "enterprise"})),
            ),
            403,
            "forbidden",
        );
        assert_error(
            &h.call(
                "POST",
                &format!("/v1/admin/orgs/{}/overrides", a.id),
                token,
                Some(&json!({"feature": "admin_rw", "expires_at": rfc3339_in(3600)})),
            ),
            403,
            "forbidden",
        );
    }
    assert_eq!(h.get_ok("/v1/org", &a.token)["tier"], "standard");
    // …and serve the platform admin.
    let orgs = h.get_ok("/v1/admin/orgs", &h.admin);
    for org in [&a, &b] {
        assert_eq!(find(&orgs, &org.id)["tier"], "standard");
    }
    let users = h.get_ok("/v1/admin/users", &h.admin);
    let emails: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    for e in [
        "owner@acme.example",
        "owner@beta.example",
        "adam@acme.example",
    ] {
        assert!(emails.contains(&e), "{emails:?}");
    }
    let all = h.audit_all("/v1/admin/audit", &h.admin);
    let concerning = |org: &TestOrg| {
        all.iter()
            .filter(|e| e["orgs"].as_array().unwrap().contains(&json!(org.id)))
            .count()
    };
    assert!(concerning(&a) > 0 && concerning(&b) > 0);
    // A platform admin acts through the admin endpoints only.
    assert_error(
        &h.call(
            "POST",
            "/v1/servers",
            &h.admin,
            Some(&json!({"name": "x", "kind": "mirth"})),
        ),
        403,
        "forbidden",
    );
    h.stop();
}

/// SPEC §2: the connector configuration is visible only to the target server's owner, and
/// anything not visible answers 404 (docs/decisions.md: "404 on connector configuration" for
/// the platform admin).
#[test]
fn connector_config_is_404_for_the_platform_admin() {
    let p = partners("free", "free");
    let (p2p, _) = with_connections(&p);
    let h = &p.h;
    assert_error(
        &h.call(
            "GET",
            &format!("/v1/connections/{p2p}/connector-config"),
            &h.admin,
            None,
        ),
        404,
        "not_found",
    );
    // The target's owner still gets it.
    assert_eq!(
        h.call(
            "GET",
            &format!("/v1/connections/{p2p}/connector-config"),
            &p.a.token,
            None
        )
        .0,
        200
    );
    p.h.stop();
}

/// SPEC §7: every view, rotation and refusal is an audit event (without the secret). Refusals
/// by role do not use up the connection's view window (a member cannot lock out its owners).
#[test]
fn every_secret_refusal_is_audited() {
    let p = partners("free", "free");
    let (h, a) = (&p.h, &p.a);
    let (p2p, ro) = with_connections(&p);
    let member = h.post_ok(
        "/v1/org/members",
        &a.token,
        Some(&json!({"email": "m@acme.example", "name": "M", "role": "member"})),
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let view = |token: &str, id: &str| {
        h.call(
            "POST",
            &format!("/v1/connections/{id}/secret/view"),
            token,
            None,
        )
    };
    let refused = |action: &str, id: &str| {
        h.audit_all("/v1/audit", &a.token)
            .iter()
            .filter(|e| e["action"] == action && e["target"] == id && e["outcome"] == "refused")
            .count()
    };
    // A member, five times over: 403 each, and the owner's views still work afterwards.
    for _ in 0..5 {
        assert_error(&view(&member, &ro), 403, "forbidden");
    }
    let mut missing = Vec::new();
    let mut expect = |what: &str, got: usize, want: usize| {
        if got != want {
            missing.push(format!("{what}: {got} refused events, expected {want}"));
        }
    };
    expect("5 member views", refused("secret.view", &ro), 5);
    assert_eq!(
        view(&a.token, &ro).0,
        200,
        "refusals by role do not use up the window"
    );
    // The platform admin.
    assert_error(&view(&h.admin, &p2p), 403, "forbidden");
    expect("platform admin view", refused("secret.view", &p2p), 1);
    // A second view of a p2p side.
    assert_eq!(view(&a.token, &p2p).0, 200);
    assert_error(&view(&a.token, &p2p), 410, "secret_unavailable");
    expect("platform admin view + 410", refused("secret.view", &p2p), 2);
    // Rotation on free, and by a member.
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{p2p}/secret/rotate"),
            &a.token,
            None,
        ),
        403,
        "tier_forbidden",
    );
    assert_error(
        &h.call(
            "POST",
            &format!("/v1/connections/{p2p}/secret/rotate"),
            &member,
            None,
        ),
        403,
        "forbidden",
    );
    expect(
        "free-tier rotation + member rotation",
        refused("secret.rotate", &p2p),
        2,
    );
    assert!(
        missing.is_empty(),
        "refusals missing from the audit log: {missing:#?}"
    );
    p.h.stop();
}
