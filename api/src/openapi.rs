//! The OpenAPI 3.0 document served at `GET /v1/openapi.json`, generated from the route table
//! ([`ROUTES`]) and the hand-written schemas ([`crate::schemas`]): every path and method, its
//! summary, bearer security where needed, path and query parameters, request body, success
//! response and the error responses it can give.

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::routes::{Auth, ROUTES, Returns, Route, Verb};
use crate::schemas::{components, reference};

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.verb.as_str().to_ascii_lowercase(), operation(route));
        }
    }
    let mut schemas = components();
    schemas.insert(
        "OpenApiDocument".to_owned(),
        json!({"type": "object", "description": "This document."}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Switchboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Signaling broker for healthcare integration gateways: organizations, \
                peering, channel grants, connections and their shared secrets (SPEC §8). \
                Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`sbt_…`).",
                },
            },
        },
    })
}

/// The document serialized once.
pub fn document_bytes() -> Bytes {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    DOC.get_or_init(|| Bytes::from(document().to_string()))
        .clone()
}

fn operation(route: &Route) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(route.name));
    op.insert("summary".into(), json!(route.summary));
    op.insert("tags".into(), json!([route.tag()]));
    op.insert(
        "security".into(),
        match route.auth {
            Auth::Bearer => json!([{ "bearer": [] }]),
            Auth::Public => json!([]),
        },
    );
    let mut parameters: Vec<Value> = path_params(route.path)
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": { "type": "string" },
                "description": "The id (a malformed id is 404 like an unknown one).",
            })
        })
        .collect();
    parameters.extend(route.query.iter().map(|q| {
        json!({
            "name": q.name,
            "in": "query",
            "required": false,
            "schema": query_schema(q),
            "description": q.description,
        })
    }));
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(schema) = route.request {
        // A body whose fields are all optional may be left out (it reads as `{}`).
        let required = crate::schemas::components()
            .get(schema)
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .is_some_and(|fields| !fields.is_empty());
        op.insert(
            "requestBody".into(),
            json!({
                "required": required,
                "content": { "application/json": { "schema": reference(schema) } },
            }),
        );
    }
    op.insert("responses".into(), responses(route));
    Value::Object(op)
}

/// The schema of a query parameter: the parser's exact bounds for the shared paging
/// parameters and the status filter, the plain type otherwise.
fn query_schema(q: &crate::routes::QueryParam) -> Value {
    match q.name {
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": crate::query::MAX_LIMIT }),
        "after" => json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX }),
        "status" => json!({
            "type": "string",
            "enum": switchboard_domain::entities::ConnectionStatus::ALL.map(|s| s.as_str()),
        }),
        _ => json!({ "type": q.kind }),
    }
}

fn responses(route: &Route) -> Value {
    let mut r = Map::new();
    let success = match route.returns {
        Returns::One(name) => json!({
            "description": "Success.",
            "content": { "application/json": { "schema": reference(name) } },
        }),
        Returns::List(name) => json!({
            "description": "Success.",
            "content": { "application/json": { "schema": { "type": "array", "items": reference(name) } } },
        }),
        Returns::Nothing => json!({ "description": "Done; no body." }),
        Returns::PrometheusText => json!({
            "description": "Prometheus text exposition format (404 when metrics are off).",
            "content": { "text/plain": { "schema": { "type": "string" } } },
        }),
        Returns::OpenApi => json!({
            "description": "This document.",
            "content": { "application/json": { "schema": reference("OpenApiDocument") } },
        }),
    };
    r.insert(route.status.to_string(), success);
    for (status, why) in error_statuses(route) {
        r.insert(
            status.to_string(),
            json!({
                "description": why,
                "content": { "application/json": { "schema": reference("Error") } },
            }),
        );
    }
    Value::Object(r)
}

/// The error statuses a route can answer with.
fn error_statuses(route: &Route) -> Vec<(u16, &'static str)> {
    let mut out = Vec::new();
    let takes_input = route.request.is_some() || route.verb != Verb::Get;
    if takes_input {
        out.push((400, "`bad_request`: malformed JSON or wrong Content-Type."));
    }
    if route.auth == Auth::Bearer || route.name == "gateway.enroll" {
        out.push((401, "`unauthorized`: missing, malformed or unknown token."));
    }
    if route.auth == Auth::Bearer {
        out.push((403, "`forbidden`, `tier_limit` or `tier_forbidden`."));
        out.push((
            404,
            "`not_found`: no such thing, or not visible to the caller.",
        ));
    }
    if route.auth == Auth::Bearer && route.verb != Verb::Get {
        out.push((409, "`conflict` or `invalid_transition`."));
    }
    if route.name.contains("secret") {
        out.push((410, "`secret_unavailable`: rotate to get a new one."));
    }
    if takes_input {
        out.push((413, "`too_large`: the body exceeds the limit."));
    }
    if takes_input || !route.query.is_empty() {
        out.push((
            422,
            "`invalid`: a field or query parameter is not acceptable.",
        ));
    }
    if route.name.contains("secret") || route.name == "gateway.enroll" {
        out.push((429, "`rate_limited`: see `Retry-After`."));
    }
    if route.name == "ops.readyz" {
        out.push((503, "`unavailable`: not ready."));
    }
    out
}

/// The names inside `{…}` segments.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_existing_schemas() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.verb.as_str().to_ascii_lowercase()];
            assert_eq!(
                op["operationId"],
                route.name,
                "{} {}",
                route.verb.as_str(),
                route.path
            );
            for name in route.request.into_iter().chain(match route.returns {
                Returns::One(n) | Returns::List(n) => Some(n),
                _ => None,
            }) {
                assert!(
                    schemas.contains_key(name),
                    "{}: missing schema {name}",
                    route.name
                );
            }
            let bearer = !op["security"].as_array().unwrap().is_empty();
            assert_eq!(bearer, route.auth == Auth::Bearer, "{}", route.name);
            assert!(op["responses"][route.status.to_string()].is_object());
        }
    }
}
