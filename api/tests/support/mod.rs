//! In-process harness for the HTTP layer: a real store in a temp dir, the real service on an
//! actix arbiter, the API on a real loopback listener, and reqwest as the client. Also a small
//! checker of JSON values against the OpenAPI schemas, so documented shapes stay true.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use chrono::Utc;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use switchboard_actors::service::Switchboard;
use switchboard_actors::{ActorSettings, NoLiveSessions, StoreHandle, SystemClock};
use switchboard_api::{ApiSettings, ApiState};
use switchboard_domain::Role;
use switchboard_domain::entities::{Organization, User};
use switchboard_domain::ids::{OrgId, UserId};
use switchboard_domain::tiers::{Tier, TierTable};
use switchboard_storage::{ApiToken, MasterKey, Store, StoreError, TokenRecord};
use tokio::sync::oneshot;

/// The process-wide Prometheus recorder (the `metrics` macros write to the global one).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
        .clone()
}

/// Runs `test` on a multi-thread tokio runtime inside an actix System, as the binary does.
pub fn run<F, Fut>(test: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let sys = actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    });
    sys.block_on(test());
}

/// One running API.
pub struct Api {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub service: Switchboard,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    arbiter: actix::Arbiter,
    _dir: tempfile::TempDir,
}

/// A JSON response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the status and, for errors, the code; returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        if let Some(code) = code {
            assert_eq!(self.code(), code, "{}", self.text);
            let e = &self.body["error"];
            assert!(
                e["message"].is_string() && e["details"].is_object(),
                "{}",
                self.text
            );
        }
        &self.body
    }
}

impl Api {
    /// Starts the API with default settings.
    pub async fn start() -> Api {
        Api::start_with(|_| {}).await
    }

    /// Starts the API, letting `tune` adjust the state first.
    pub async fn start_with(tune: impl FnOnce(&mut ApiState)) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("store.redb"), MasterKey::generate()).unwrap());
        let admin_token = platform_admin(&store);
        let arbiter = actix::Arbiter::new();
        let service = Switchboard::new(
            StoreHandle::new(store),
            arbiter.handle(),
            Arc::new(NoLiveSessions),
            Arc::new(SystemClock),
            TierTable::default(),
            ActorSettings::default(),
        );
        let mut state = ApiState {
            service: service.clone(),
            metrics: Some(prometheus()),
            settings: ApiSettings::default(),
            ready: Arc::new(|| Ok(())),
        };
        tune(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(switchboard_api::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Api {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            admin_token,
            service,
            shutdown: Some(tx),
            task: Some(task),
            arbiter,
            _dir: dir,
        }
    }

    /// Triggers shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(std::time::Duration::from_secs(30), task)
                .await
                .expect("serve returns after shutdown")
                .unwrap();
        }
        self.arbiter.stop();
    }

    /// A request builder for `path`.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.req(method, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Creates an organization with the given tier; returns (org id, owner token).
    pub async fn org(&self, slug: &str, tier: &str) -> (String, String) {
        let r = self
            .post(
                "/v1/orgs",
                &self.admin_token,
                json!({"name": slug, "slug": slug, "tier": tier,
                       "owner": {"email": format!("owner@{slug}.example"), "name": "Owner"}}),
            )
            .await;
        let body = r.expect(201, None);
        (
            body["org"]["id"].as_str().unwrap().to_owned(),
            body["owner_token"].as_str().unwrap().to_owned(),
        )
    }

    /// An organization with a p2p connection between two of its own servers (self-agreement):
    /// returns (owner token, connection id).
    pub async fn self_connection(&self, slug: &str, tier: &str) -> (String, String) {
        let (_, owner) = self.org(slug, tier).await;
        let s1 = self
            .post(
                "/v1/servers",
                &owner,
                json!({"name": "one", "kind": "mirth"}),
            )
            .await;
        let s1 = s1.expect(201, None)["id"].as_str().unwrap().to_owned();
        let s2 = self
            .post("/v1/servers", &owner, json!({"name": "two", "kind": "oie"}))
            .await;
        let s2 = s2.expect(201, None)["id"].as_str().unwrap().to_owned();
        let ch = self
            .post(
                &format!("/v1/servers/{s2}/channels"),
                &owner,
                json!({"internal_name": "ADT in", "public_name": "ADT", "direction": "listener", "published": true}),
            )
            .await;
        let ch = ch.expect(201, None)["id"].as_str().unwrap().to_owned();
        // Self-peering is accepted at once into a self-agreement.
        let pr = self
            .post("/v1/peering/requests", &owner, json!({"to_org": slug}))
            .await;
        let agr = pr.expect(201, None)["agreement_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let grant = self
            .post(
                "/v1/grants",
                &owner,
                json!({"agreement_id": agr, "channel_id": ch}),
            )
            .await;
        let grant = grant.expect(201, None)["id"].as_str().unwrap().to_owned();
        self.post(&format!("/v1/grants/{grant}/approve"), &owner, json!({}))
            .await
            .expect(200, None);
        let conn = self
            .post(
                "/v1/connections",
                &owner,
                json!({"grant_id": grant, "source_server_id": s1, "target_server_id": s2}),
            )
            .await;
        let conn = conn.expect(201, None)["id"].as_str().unwrap().to_owned();
        (owner, conn)
    }
}

/// Sends a built request and decodes the body as JSON when it is.
pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// Creates the platform admin the way the binary's bootstrap does; returns its token.
fn platform_admin(store: &Store) -> String {
    let now = Utc::now();
    let org = Organization {
        id: OrgId::generate(),
        name: "Operators".to_owned(),
        slug: "switchboard-operators".to_owned(),
        description: String::new(),
        discoverable: false,
        tier: Tier::Enterprise,
        overrides: vec![],
        created_at: now,
    };
    let admin = User {
        id: UserId::generate(),
        org_id: org.id.clone(),
        email: "admin@switchboard.invalid".to_owned(),
        name: "Platform admin".to_owned(),
        role: Role::Owner,
        platform_admin: true,
        created_at: now,
    };
    let token = ApiToken::generate();
    store
        .write(|tx| -> Result<(), StoreError> {
            tx.put_org(&org)?;
            tx.put_user(&admin)?;
            tx.put_api_token(
                &token,
                &TokenRecord {
                    user_id: admin.id.clone(),
                    created_at: now,
                    label: None,
                },
            )?;
            Ok(())
        })
        .unwrap();
    token.as_str().to_owned()
}

/// Checks `value` against the named schema of the OpenAPI document `doc` (types, required
/// and known properties, enums, nullability, array items, `oneOf`/`allOf`). Panics with the
/// JSON path of the first mismatch.
pub fn assert_schema(doc: &Value, name: &str, value: &Value) {
    let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
    if let Err(e) = check(doc, &schema, value, "$") {
        panic!("response does not match schema {name}: {e}\n{value:#}");
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: dangling $ref {name}"));
        }
        return check(doc, target, value, at);
    }
    if value.is_null() && schema["nullable"] == json!(true) {
        return Ok(());
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        return all.iter().try_for_each(|s| check(doc, s, value, at));
    }
    if let Some(any) = schema.get("oneOf").and_then(Value::as_array) {
        let errors: Vec<String> = any
            .iter()
            .filter_map(|s| check(doc, s, value, at).err())
            .collect();
        return if errors.len() < any.len() {
            Ok(())
        } else {
            Err(errors.join(" | "))
        };
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        return Err(format!("{at}: expected {}, got {value}", schema["type"]));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        return Err(format!("{at}: {value} not in {values:?}"));
    }
    if let (Some(pattern), Some(s)) = (schema["pattern"].as_str(), value.as_str()) {
        // Only the id patterns are used: `^prefix_[…]{26}$`.
        let prefix = pattern
            .trim_start_matches('^')
            .split('_')
            .next()
            .unwrap_or("");
        if !s.starts_with(&format!("{prefix}_")) {
            return Err(format!("{at}: {s} does not start with {prefix}_"));
        }
    }
    if let Some(items) = schema.get("items") {
        for (i, v) in value.as_array().into_iter().flatten().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let obj = value.as_object().unwrap();
        for req in schema["required"].as_array().into_iter().flatten() {
            let req = req.as_str().unwrap();
            if !obj.contains_key(req) {
                return Err(format!("{at}: missing required {req}"));
            }
        }
        for (k, v) in obj {
            match props.get(k) {
                Some(s) => check(doc, s, v, &format!("{at}.{k}"))?,
                None => return Err(format!("{at}: undocumented property {k}")),
            }
        }
    }
    Ok(())
}
