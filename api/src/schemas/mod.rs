//! JSON schemas (OpenAPI 3.0 dialect) of every response (here) and request body (`requests`),
//! written by hand to match the serde shapes of `switchboard_actors::service::types` and the
//! domain entities. Request bodies refuse unknown fields (`additionalProperties: false`), as the
//! service does. The API tests check real responses against these schemas, so drift shows up.

mod requests;

use serde_json::{Map, Value, json};

/// `{"$ref": "#/components/schemas/<name>"}`.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Every named schema, for `components.schemas`.
pub fn components() -> Map<String, Value> {
    let mut m = Map::new();
    let mut add = |name: &str, schema: Value| {
        m.insert(name.to_owned(), schema);
    };

    // Enumerations and scalars.
    add("Tier", enumeration(&["free", "standard", "enterprise"]));
    add("Role", enumeration(&["owner", "admin", "member"]));
    add(
        "Limit",
        enumeration(&["servers", "peers", "channels_per_server"]),
    );
    add("Feature", enumeration(&["admin_rw", "secret_rotation"]));
    add("Direction", enumeration(&["listener", "sender"]));
    add(
        "ConnectionKind",
        enumeration(&["p2p", "admin_rw", "admin_ro"]),
    );
    add("ConnectionMode", enumeration(&["webrtc", "direct_mtls"]));
    add(
        "ConnectionStatus",
        enumeration(&[
            "ready",
            "active",
            "paused",
            "offered",
            "failed",
            "terminated",
            "declined",
            "expired",
        ]),
    );
    add("Side", enumeration(&["source", "target"]));
    add("AgreementStatus", enumeration(&["active", "revoked"]));
    add(
        "GrantStatus",
        enumeration(&["pending", "requested", "approved", "denied", "revoked"]),
    );
    add("GrantPath", enumeration(&["offer", "request"]));
    add(
        "PeeringStatus",
        enumeration(&["pending", "accepted", "declined", "withdrawn"]),
    );
    add("AuditOutcome", enumeration(&["success", "refused"]));
    add(
        "NotificationKind",
        enumeration(&[
            "peering_request_received",
            "peering_request_accepted",
            "peering_request_declined",
            "peering_request_withdrawn",
            "agreement_revoked",
            "grant_offered",
            "grant_requested",
            "grant_approved",
            "grant_denied",
            "grant_revoked",
            "admin_offer_received",
            "connection_status_changed",
            "secret_rotated",
        ]),
    );
    add(
        "OverallConnectivity",
        enumeration(&["connected", "disconnected", "never_connected"]),
    );
    add("TunnelPath", enumeration(&["direct", "relay"]));
    add(
        "AuthFailureReason",
        enumeration(&[
            "unknown_connection",
            "bad_secret",
            "not_active",
            "terminated",
            "locked_out",
        ]),
    );
    add(
        "Principal",
        json!({"type": "string", "description": "A user id (`usr_…`) or `system`."}),
    );

    // Operations and errors.
    add("Health", object(&[("status", string())], &[]));
    add(
        "Error",
        object(
            &[(
                "error",
                object(
                    &[
                        (
                            "code",
                            enumeration(&[
                                "bad_request",
                                "unauthorized",
                                "forbidden",
                                "tier_limit",
                                "tier_forbidden",
                                "not_found",
                                "method_not_allowed",
                                "request_timeout",
                                "conflict",
                                "invalid_transition",
                                "secret_unavailable",
                                "too_large",
                                "invalid",
                                "rate_limited",
                                "internal",
                                "unavailable",
                            ]),
                        ),
                        ("message", string()),
                        (
                            "details",
                            json!({"type": "object", "additionalProperties": true}),
                        ),
                    ],
                    &[],
                ),
            )],
            &[],
        ),
    );

    // Organizations, users, tokens.
    add(
        "TierOverride",
        object(
            &[
                (
                    "kind",
                    json!({"oneOf": [
                        object(&[("type", enumeration(&["feature"])), ("feature", reference("Feature"))], &[]),
                        object(&[("type", enumeration(&["limit"])), ("limit", reference("Limit")), ("value", nullable(integer()))], &[]),
                    ]}),
                ),
                ("expires_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "Organization",
        object(
            &[
                ("id", id("org")),
                ("name", string()),
                ("slug", string()),
                ("description", string()),
                ("discoverable", boolean()),
                ("tier", reference("Tier")),
                ("overrides", array(reference("TierOverride"))),
                ("created_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "User",
        object(
            &[
                ("id", id("usr")),
                ("org_id", id("org")),
                ("email", string()),
                ("name", string()),
                ("role", reference("Role")),
                ("platform_admin", boolean()),
                ("created_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "Me",
        object(
            &[
                ("user", reference("User")),
                ("org", reference("Organization")),
            ],
            &[],
        ),
    );
    add(
        "OrgCreated",
        object(
            &[
                ("org", reference("Organization")),
                ("owner", reference("User")),
                (
                    "owner_token",
                    secret("The owner's API token (`sbt_…`); shown only here."),
                ),
            ],
            &[],
        ),
    );
    add(
        "MemberCreated",
        object(
            &[
                ("user", reference("User")),
                (
                    "token",
                    secret("The member's API token (`sbt_…`); shown only here."),
                ),
            ],
            &[],
        ),
    );
    add(
        "TokenCreated",
        object(
            &[("token", secret("The API token (`sbt_…`); shown only here."))],
            &[],
        ),
    );
    add(
        "DirectoryEntry",
        object(
            &[("id", id("org")), ("name", string()), ("slug", string())],
            &[],
        ),
    );

    // Servers and channels.
    add(
        "Server",
        object(
            &[
                ("id", id("srv")),
                ("org_id", id("org")),
                ("name", string()),
                ("description", string()),
                ("kind", string()),
                ("version", string()),
                ("created_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "Channel",
        object(
            &[
                ("id", id("ch")),
                ("server_id", id("srv")),
                ("org_id", id("org")),
                ("internal_name", string()),
                ("public_name", string()),
                ("public_description", string()),
                ("direction", reference("Direction")),
                ("published", boolean()),
                ("created_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "PeerChannel",
        object(
            &[
                ("id", id("ch")),
                ("public_name", string()),
                ("public_description", string()),
                ("direction", reference("Direction")),
            ],
            &[],
        ),
    );
    add(
        "ChannelView",
        json!({
            "description": "The owner's full view, or a peer's public view.",
            "oneOf": [reference("Channel"), reference("PeerChannel")],
        }),
    );

    // Peering, agreements, grants.
    add(
        "PeeringRequestView",
        object(
            &[
                ("id", id("pr")),
                ("from_org", id("org")),
                ("to_org", id("org")),
                ("status", reference("PeeringStatus")),
                ("created_at", datetime()),
                ("decided_at", nullable(datetime())),
                ("agreement_id", nullable(id("agr"))),
                ("from_name", string()),
                ("to_name", string()),
            ],
            &[],
        ),
    );
    add(
        "AgreementView",
        object(
            &[
                ("id", id("agr")),
                (
                    "peer",
                    object(&[("id", id("org")), ("name", string())], &[]),
                ),
                ("is_self", boolean()),
                ("status", reference("AgreementStatus")),
                ("created_at", datetime()),
                ("revoked_at", nullable(datetime())),
                ("revoked_by", nullable(reference("Principal"))),
            ],
            &[],
        ),
    );
    add(
        "GrantView",
        object(
            &[
                ("id", id("gr")),
                ("agreement_id", id("agr")),
                ("channel_id", id("ch")),
                ("owner_org", id("org")),
                ("grantee_org", id("org")),
                ("status", reference("GrantStatus")),
                ("path", reference("GrantPath")),
                ("initiated_by", reference("Principal")),
                ("created_at", datetime()),
                ("decided_at", nullable(datetime())),
                ("channel_public_name", string()),
                ("channel_direction", reference("Direction")),
            ],
            &[],
        ),
    );

    // Connections.
    add(
        "ServerSummary",
        object(
            &[
                ("id", id("srv")),
                ("name", string()),
                ("description", string()),
            ],
            &[],
        ),
    );
    add(
        "SideConnectivity",
        object(
            &[
                ("online", boolean()),
                ("last_connected_at", nullable(datetime())),
                ("last_disconnected_at", nullable(datetime())),
                (
                    "last_auth_failure",
                    nullable(object(
                        &[
                            ("at", datetime()),
                            ("reason", reference("AuthFailureReason")),
                        ],
                        &[],
                    )),
                ),
            ],
            &[],
        ),
    );
    add(
        "Connectivity",
        object(
            &[
                ("source", reference("SideConnectivity")),
                ("target", reference("SideConnectivity")),
                ("state", reference("OverallConnectivity")),
                ("last_connected_at", nullable(datetime())),
                ("last_path", nullable(reference("TunnelPath"))),
            ],
            &[],
        ),
    );
    add(
        "ConnectionView",
        object(
            &[
                ("id", id("conn")),
                ("kind", reference("ConnectionKind")),
                ("mode", reference("ConnectionMode")),
                ("agreement_id", id("agr")),
                ("grant_id", nullable(id("gr"))),
                ("source_server", nullable(reference("ServerSummary"))),
                ("target_server", reference("ServerSummary")),
                ("route", string()),
                ("peer_name", string()),
                ("your_sides", array(reference("Side"))),
                ("status", reference("ConnectionStatus")),
                ("status_reason", nullable(string())),
                (
                    "secret",
                    object(&[("generation", integer()), ("viewable", boolean())], &[]),
                ),
                ("connectivity", reference("Connectivity")),
                ("offer_expires_at", nullable(datetime())),
                ("created_at", datetime()),
                ("updated_at", datetime()),
            ],
            &[],
        ),
    );
    add(
        "SecretReveal",
        object(
            &[
                ("connection_id", id("conn")),
                ("side", reference("Side")),
                ("secret", secret("The shared secret (`sbs_…`).")),
            ],
            &[],
        ),
    );
    add(
        "Rotated",
        object(
            &[
                ("connection_id", id("conn")),
                ("generation", integer()),
                ("side", nullable(reference("Side"))),
                (
                    "secret",
                    nullable(secret("The new secret; null for a platform admin.")),
                ),
            ],
            &[],
        ),
    );
    add(
        "ConnectorConfig",
        object(
            &[
                ("connection_id", id("conn")),
                ("side", reference("Side")),
                ("kind", reference("ConnectionKind")),
                (
                    "broker",
                    object(
                        &[
                            ("mqtt_tls_url", nullable(string())),
                            ("mqtt_wss_url", nullable(string())),
                            ("ca_certificate", nullable(string())),
                            (
                                "ice_servers",
                                array(object(&[("urls", array(string()))], &[])),
                            ),
                        ],
                        &[],
                    ),
                ),
                (
                    "listener",
                    nullable(object(
                        &[
                            ("channel_public_name", string()),
                            ("direction", reference("Direction")),
                        ],
                        &[],
                    )),
                ),
                (
                    "registration_token",
                    secret("Single-use `sbr_…` token for `POST /v1/gateway/enroll`."),
                ),
            ],
            &[],
        ),
    );
    add(
        "Enrolled",
        object(
            &[
                ("connection_id", id("conn")),
                ("side", reference("Side")),
                ("secret", secret("The shared secret (`sbs_…`).")),
            ],
            &[],
        ),
    );
    add(
        "Diagnostics",
        object(
            &[
                ("connection_id", id("conn")),
                ("status", reference("ConnectionStatus")),
                ("connectivity", reference("OverallConnectivity")),
                ("last_connected_at", nullable(datetime())),
                ("last_path", nullable(reference("TunnelPath"))),
                (
                    "sides",
                    array(object(
                        &[
                            ("side", reference("Side")),
                            ("connectivity", reference("SideConnectivity")),
                            ("findings", array(string())),
                        ],
                        &[],
                    )),
                ),
                ("summary", string()),
            ],
            &[],
        ),
    );

    // Feeds.
    add(
        "Notification",
        object(
            &[
                ("id", id("ntf")),
                ("org_id", id("org")),
                ("at", datetime()),
                ("kind", reference("NotificationKind")),
                ("text", string()),
                ("target", string()),
                ("read", boolean()),
            ],
            &[],
        ),
    );
    add(
        "AuditEntry",
        object(
            &[
                ("seq", integer()),
                ("id", id("evt")),
                ("at", datetime()),
                ("actor", reference("Principal")),
                ("orgs", array(id("org"))),
                ("action", string()),
                ("target", string()),
                ("outcome", reference("AuditOutcome")),
                (
                    "details",
                    json!({"type": "object", "additionalProperties": true}),
                ),
            ],
            &[],
        ),
    );

    requests::add_all(&mut m);
    m
}

/// A response object: every field is always present (`Option`s serialize as `null`), so all
/// are required; `optional` lists fields that may be absent.
fn object(fields: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut props = Map::new();
    for (name, schema) in fields.iter().chain(optional) {
        props.insert((*name).to_owned(), schema.clone());
    }
    let required: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    json!({ "type": "object", "properties": props, "required": required })
}

/// A request body: `required` fields must be sent, `optional` ones may be; nothing else.
fn request(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut schema = object(required, optional);
    schema["additionalProperties"] = Value::Bool(false);
    schema
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn enumeration(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

fn string() -> Value {
    json!({ "type": "string" })
}

/// An organization slug as the service accepts it.
fn slug() -> Value {
    json!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$" })
}

/// An e-mail address as the service accepts it (something@domain.tld, no spaces).
fn email() -> Value {
    json!({ "type": "string", "maxLength": 1000, "pattern": "^[^@\\s]+@[^@\\s.][^@\\s]*\\.[^@\\s]*[^@\\s.]$" })
}

/// A required text field as the service checks it: not empty, at most 1000 characters.
fn text() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": 1000, "pattern": "\\S" })
}

fn secret(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn integer() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn datetime() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn id(prefix: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$"),
        "example": format!("{prefix}_01J0000000000000000000000A"),
    })
}

/// OpenAPI 3.0 has no `type: [x, "null"]`; a `$ref` cannot carry `nullable`, so it is wrapped.
fn nullable(schema: Value) -> Value {
    if schema.get("$ref").is_some() {
        json!({ "nullable": true, "allOf": [schema] })
    } else {
        let mut s = schema;
        s["nullable"] = Value::Bool(true);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let components = components();
        let mut found = Vec::new();
        refs(&Value::Object(components.clone()), &mut found);
        for name in found {
            assert!(components.contains_key(&name), "dangling $ref {name}");
        }
    }

    #[test]
    fn id_pattern_accepts_generated_ids() {
        let schema = id("srv");
        let pattern = schema["pattern"].as_str().unwrap();
        let generated = switchboard_domain::ids::ServerId::generate();
        let body = generated.as_str().strip_prefix("srv_").unwrap();
        assert!(pattern.starts_with("^srv_"));
        assert_eq!(body.len(), 26);
        assert!(
            body.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
    }
}
