//! Schemas of the request bodies: each mirrors a `Deserialize` type of
//! `switchboard_actors::service::types` with `deny_unknown_fields`, so unknown properties are
//! refused (`additionalProperties: false`); `Option` fields may be absent or `null`.

use serde_json::{Map, Value};

use super::{
    boolean, datetime, email, enumeration, id, integer, nullable, reference, request, slug, string,
    text,
};

/// Adds every request body schema to `m`.
pub(super) fn add_all(m: &mut Map<String, Value>) {
    add(
        m,
        "NewUser",
        request(&[("email", email()), ("name", text())], &[]),
    );
    add(
        m,
        "NewOrg",
        request(
            &[
                ("name", text()),
                ("slug", slug()),
                ("owner", reference("NewUser")),
            ],
            &[
                ("tier", nullable(reference("Tier"))),
                ("discoverable", nullable(boolean())),
                ("description", nullable(string())),
            ],
        ),
    );
    add(
        m,
        "TierChange",
        request(&[("tier", reference("Tier"))], &[]),
    );
    add(
        m,
        "NewOverride",
        described(
            request(
                &[("expires_at", datetime())],
                &[
                    ("feature", nullable(reference("Feature"))),
                    ("limit", nullable(reference("Limit"))),
                    ("value", nullable(integer())),
                ],
            ),
            "Give exactly one of `feature`, or `limit` with `value` (null = unlimited); \
             `expires_at` must be in the future. Anything else is 422 `invalid`.",
        ),
    );
    add(
        m,
        "OrgPatch",
        request(
            &[],
            &[
                ("name", nullable(text())),
                ("description", nullable(string())),
                ("discoverable", nullable(boolean())),
            ],
        ),
    );
    add(
        m,
        "NewMember",
        request(
            &[
                ("email", email()),
                ("name", text()),
                ("role", reference("Role")),
            ],
            &[],
        ),
    );
    add(
        m,
        "MemberPatch",
        request(&[("role", reference("Role"))], &[]),
    );
    add(
        m,
        "NewToken",
        request(&[], &[("label", nullable(string()))]),
    );
    add(
        m,
        "NewServer",
        request(
            &[("name", text()), ("kind", text())],
            &[
                ("description", nullable(string())),
                ("version", nullable(string())),
            ],
        ),
    );
    add(
        m,
        "ServerPatch",
        request(
            &[],
            &[
                ("name", nullable(text())),
                ("description", nullable(string())),
                ("kind", nullable(text())),
                ("version", nullable(string())),
            ],
        ),
    );
    add(
        m,
        "NewChannel",
        request(
            &[
                ("internal_name", text()),
                ("public_name", text()),
                ("direction", reference("Direction")),
            ],
            &[
                ("public_description", nullable(string())),
                ("published", nullable(boolean())),
            ],
        ),
    );
    add(
        m,
        "ChannelPatch",
        request(
            &[],
            &[
                ("internal_name", nullable(text())),
                ("public_name", nullable(text())),
                ("public_description", nullable(string())),
                ("published", nullable(boolean())),
            ],
        ),
    );
    add(m, "NewPeeringRequest", request(&[("to_org", text())], &[]));
    add(
        m,
        "NewGrant",
        request(
            &[("agreement_id", id("agr")), ("channel_id", id("ch"))],
            &[],
        ),
    );
    add(
        m,
        "NewP2p",
        request(
            &[
                ("grant_id", id("gr")),
                ("source_server_id", id("srv")),
                ("target_server_id", id("srv")),
            ],
            &[("mode", nullable(reference("ConnectionMode")))],
        ),
    );
    add(
        m,
        "NewAdminOffer",
        request(
            &[
                ("agreement_id", id("agr")),
                ("server_id", id("srv")),
                ("access", enumeration(&["rw", "ro"])),
            ],
            &[],
        ),
    );
    add(m, "AcceptOffer", request(&[("server_id", id("srv"))], &[]));
    add(
        m,
        "EnrollRequest",
        request(&[("registration_token", text())], &[]),
    );
}

fn described(mut schema: Value, text: &str) -> Value {
    schema["description"] = Value::String(text.to_owned());
    schema
}

fn add(m: &mut Map<String, Value>, name: &str, schema: Value) {
    m.insert(name.to_owned(), schema);
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::json;
    use switchboard_actors::service::types::*;

    use super::super::components;
    use super::*;

    /// A value that satisfies `schema` (first enum value, example ids, a future time).
    fn example(all: &Map<String, Value>, schema: &Value, with_optional: bool) -> Value {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/components/schemas/");
            return example(all, &all[name], with_optional);
        }
        if let Some(first) = schema["allOf"].get(0) {
            return example(all, first, with_optional);
        }
        if let Some(first) = schema["enum"].get(0) {
            return first.clone();
        }
        if let Some(ex) = schema.get("example") {
            return ex.clone();
        }
        match (schema["type"].as_str(), schema["format"].as_str()) {
            (Some("string"), Some("date-time")) => json!("2999-01-01T00:00:00Z"),
            (Some("string"), _) => json!("x@y.example"),
            (Some("boolean"), _) => json!(true),
            (Some("integer"), _) => json!(1),
            (Some("object"), _) => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut obj = Map::new();
                for (k, v) in schema["properties"].as_object().unwrap() {
                    if with_optional || required.contains(&k.as_str()) {
                        obj.insert(k.clone(), example(all, v, with_optional));
                    }
                }
                Value::Object(obj)
            }
            other => panic!("no example for {other:?}"),
        }
    }

    fn check<T: DeserializeOwned>(all: &Map<String, Value>, name: &str) {
        let schema = &all[name];
        let parse = |v: &Value| serde_json::from_value::<T>(v.clone());
        let full = example(all, schema, true);
        parse(&full).unwrap_or_else(|e| panic!("{name}: {full} refused: {e}"));
        let minimal = example(all, schema, false);
        parse(&minimal).unwrap_or_else(|e| panic!("{name}: {minimal} refused: {e}"));
        let mut extra = minimal.clone();
        extra["not_a_field"] = json!(1);
        assert!(parse(&extra).is_err(), "{name} accepts unknown fields");
        for req in schema["required"].as_array().unwrap() {
            let mut missing = minimal.clone();
            missing
                .as_object_mut()
                .unwrap()
                .remove(req.as_str().unwrap());
            assert!(
                parse(&missing).is_err(),
                "{name}: {req} is documented as required but is not"
            );
        }
    }

    #[test]
    fn request_schemas_match_the_service_types() {
        let all = components();
        check::<NewUser>(&all, "NewUser");
        check::<NewOrg>(&all, "NewOrg");
        check::<TierChange>(&all, "TierChange");
        check::<NewOverride>(&all, "NewOverride");
        check::<OrgPatch>(&all, "OrgPatch");
        check::<NewMember>(&all, "NewMember");
        check::<MemberPatch>(&all, "MemberPatch");
        check::<NewToken>(&all, "NewToken");
        check::<NewServer>(&all, "NewServer");
        check::<ServerPatch>(&all, "ServerPatch");
        check::<NewChannel>(&all, "NewChannel");
        check::<ChannelPatch>(&all, "ChannelPatch");
        check::<NewPeeringRequest>(&all, "NewPeeringRequest");
        check::<NewGrant>(&all, "NewGrant");
        check::<NewP2p>(&all, "NewP2p");
        check::<NewAdminOffer>(&all, "NewAdminOffer");
        check::<AcceptOffer>(&all, "AcceptOffer");
        check::<EnrollRequest>(&all, "EnrollRequest");
    }
}
