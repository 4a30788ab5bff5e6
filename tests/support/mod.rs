//! Test harness: start the real `switchboard` binary on ephemeral loopback ports with a temp
//! data dir, find its listeners, talk HTTP to it, stop it with a signal.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A command for the binary with a clean `SWITCHBOARD_*` environment and loopback ports.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SWITCHBOARD_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("SWITCHBOARD_DATA_DIR", data_dir)
        .env("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_MQTT_TLS_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_MQTT_WSS_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_TURN_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null());
    cmd
}

pub struct Server {
    pub child: Child,
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    /// Everything the server wrote to stderr so far. A thread drains the pipe continuously:
    /// an undrained pipe fills after ~64 KiB of logs and blocks the server.
    pub stderr: Arc<Mutex<String>>,
}

/// A test that panics must not leave its server running: kill it if it is still there.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    /// Starts `serve` and waits for `listeners.json`.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with_env(data_dir, &[])
    }

    /// Like [`Server::start`] with extra `SWITCHBOARD_*` settings.
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let _ = std::fs::remove_file(data_dir.join("listeners.json"));
        let mut cmd = command(data_dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (mut pipe, sink) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut server = Server {
            child,
            data_dir: data_dir.to_owned(),
            http: "0.0.0.0:0".parse().unwrap(),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(data_dir.join("listeners.json")) {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                server.http = v["http"].as_str().unwrap().parse().unwrap();
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "server exited with {status} before it was ready:\n{}",
                    server.stderr.lock().unwrap()
                );
            }
            assert!(Instant::now() < deadline, "server not ready in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits; returns the exit status and stderr.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.signal("TERM");
        self.terminate_after_signal()
    }

    /// Waits for exit after a signal was sent; returns the exit status and stderr.
    pub fn terminate_after_signal(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        // The drain thread sees EOF once the process is gone; give it a moment to finish.
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        (status, err)
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.http, "GET", path)
    }
}

/// A minimal HTTP/1.1 request; returns the status code and body.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Runs the binary to completion with extra env; returns status and stderr.
pub fn run(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut cmd = command(data_dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An HTTP/1.1 request with an optional bearer token and JSON body; returns the status and
/// the parsed JSON body (`Null` when empty or not JSON).
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let raw = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let text = if response
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(raw)
    } else {
        raw.to_owned()
    };
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

fn dechunk(mut raw: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        raw = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The platform admin token written on first start.
pub fn admin_token(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("admin-token"))
        .unwrap()
        .trim()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Helpers for the HTTP API end-to-end tests (api_flows, api_visibility, api_bad_input).

/// A whole HTTP response: status, headers (names lower-cased), body text and parsed JSON
/// (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: serde_json::Value,
}

impl Reply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(status, json)`, the shape `call` returns.
    pub fn pair(&self) -> (u16, serde_json::Value) {
        (self.status, self.json.clone())
    }
}

/// Writes `raw` as is (write errors are ignored: the server may answer and close before it
/// has read everything, e.g. 413) and reads the whole response.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(raw);
    let _ = stream.flush();
    let mut response = Vec::new();
    // Bytes read before an error (a reset after the answer) are kept by read_to_end.
    let _ = stream.read_to_end(&mut response);
    parse_reply(&response)
}

/// Parses a raw HTTP/1.1 response.
pub fn parse_reply(response: &[u8]) -> Reply {
    let response = String::from_utf8_lossy(response).into_owned();
    let (head, raw_body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let text = if chunked {
        dechunk(raw_body)
    } else {
        raw_body.to_owned()
    };
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// A request with explicit extra headers and raw body bytes (`Content-Length` is added).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = raw.into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes)
}

/// Like [`call`], but returns the whole [`Reply`] (with headers, e.g. `Retry-After`).
pub fn call_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(addr, method, path, &headers, body.as_bytes())
}

/// Asserts an error response: the status, `error.code`, a non-empty message, and that the
/// body has exactly the SPEC §8 shape's top-level key.
#[track_caller]
pub fn assert_error(reply: &(u16, serde_json::Value), status: u16, code: &str) {
    let (s, body) = reply;
    assert_eq!(*s, status, "expected {status} {code}, got {s}: {body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "an error names the problem: {body}"
    );
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only `error` at the top: {body}"
    );
}

/// A server started on a fresh temp dir with its platform admin token; killed on drop (so a
/// failing test leaves no process behind), or stopped cleanly with [`Harness::stop`]. Its
/// stderr is drained continuously (a server that logs one line per request would otherwise
/// block once the pipe is full) and kept for [`Harness::logs`].
pub struct Harness {
    server: Option<Server>,
    pub admin: String,
    pub addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path());
        let admin = admin_token(dir.path());
        let addr = server.http;
        let logs = server.stderr.clone();
        Harness {
            server: Some(server),
            admin,
            addr,
            logs,
            _dir: dir,
        }
    }

    /// What the server wrote to stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// `call` against this server.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        call(self.addr, method, path, Some(token), body)
    }

    /// GET that must succeed; returns the JSON.
    #[track_caller]
    pub fn get_ok(&self, path: &str, token: &str) -> serde_json::Value {
        let (s, v) = self.call("GET", path, token, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// POST that must answer `status`; returns the JSON.
    #[track_caller]
    pub fn post_ok(
        &self,
        path: &str,
        token: &str,
        body: Option<&serde_json::Value>,
        status: u16,
    ) -> serde_json::Value {
        let (s, v) = self.call("POST", path, token, body);
        assert_eq!(s, status, "POST {path} {body:?}: {v}");
        v
    }

    /// Creates an organization as the platform admin.
    #[track_caller]
    pub fn org(&self, name: &str, slug: &str, tier: &str, discoverable: bool) -> TestOrg {
        let body = serde_json::json!({
            "name": name, "slug": slug, "tier": tier, "discoverable": discoverable,
            "owner": {"email": format!("owner@{slug}.example"), "name": format!("{name} owner")},
        });
        let v = self.post_ok("/v1/orgs", &self.admin, Some(&body), 201);
        let token = v["owner_token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("sbt_"), "{v}");
        TestOrg {
            id: v["org"]["id"].as_str().unwrap().to_owned(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            token,
        }
    }

    /// Registers a server; returns its id.
    #[track_caller]
    pub fn server(&self, org: &TestOrg, name: &str) -> String {
        let body = serde_json::json!({"name": name, "kind": "mirth", "version": "4.5", "description": format!("{name} in the basement")});
        let v = self.post_ok("/v1/servers", &org.token, Some(&body), 201);
        v["id"].as_str().unwrap().to_owned()
    }

    /// Creates a channel; returns its id.
    #[track_caller]
    pub fn channel(
        &self,
        org: &TestOrg,
        server: &str,
        internal: &str,
        public: &str,
        direction: &str,
        published: bool,
    ) -> String {
        let body = serde_json::json!({
            "internal_name": internal, "public_name": public,
            "public_description": format!("{public} (public)"), "direction": direction, "published": published,
        });
        let v = self.post_ok(
            &format!("/v1/servers/{server}/channels"),
            &org.token,
            Some(&body),
            201,
        );
        v["id"].as_str().unwrap().to_owned()
    }

    /// `a` asks `b` to peer (by slug), `b` accepts; returns the agreement id.
    #[track_caller]
    pub fn peer(&self, a: &TestOrg, b: &TestOrg) -> String {
        let req = self.post_ok(
            "/v1/peering/requests",
            &a.token,
            Some(&serde_json::json!({"to_org": b.slug})),
            201,
        );
        let id = req["id"].as_str().unwrap();
        let accepted = self.post_ok(
            &format!("/v1/peering/requests/{id}/accept"),
            &b.token,
            None,
            200,
        );
        accepted["agreement_id"].as_str().unwrap().to_owned()
    }

    /// `owner` offers `channel` in `agreement`, `grantee` approves; returns the grant id.
    #[track_caller]
    pub fn grant(
        &self,
        owner: &TestOrg,
        grantee: &TestOrg,
        agreement: &str,
        channel: &str,
    ) -> String {
        let g = self.post_ok(
            "/v1/grants",
            &owner.token,
            Some(&serde_json::json!({"agreement_id": agreement, "channel_id": channel})),
            201,
        );
        let id = g["id"].as_str().unwrap().to_owned();
        let approved = self.post_ok(
            &format!("/v1/grants/{id}/approve"),
            &grantee.token,
            None,
            200,
        );
        assert_eq!(approved["status"], "approved", "{approved}");
        id
    }

    /// Provisions a p2p connection; returns its id.
    #[track_caller]
    pub fn provision(&self, org: &TestOrg, grant: &str, source: &str, target: &str) -> String {
        let body = serde_json::json!({"grant_id": grant, "source_server_id": source, "target_server_id": target});
        let v = self.post_ok("/v1/connections", &org.token, Some(&body), 201);
        v["id"].as_str().unwrap().to_owned()
    }

    /// Every audit event the caller can read (`/v1/audit` or `/v1/admin/audit`), paged with
    /// `after`.
    #[track_caller]
    pub fn audit_all(&self, path: &str, token: &str) -> Vec<serde_json::Value> {
        let mut out: Vec<serde_json::Value> = Vec::new();
        let mut after: Option<u64> = None;
        loop {
            let url = match after {
                Some(a) => format!("{path}?limit=1000&after={a}"),
                None => format!("{path}?limit=1000"),
            };
            let page = self.get_ok(&url, token);
            let page = page.as_array().unwrap().clone();
            if page.is_empty() {
                return out;
            }
            after = Some(page.last().unwrap()["seq"].as_u64().unwrap());
            out.extend(page);
        }
    }

    /// Sends SIGTERM, checks a clean exit and returns everything the server logged.
    pub fn stop(mut self) -> String {
        let mut server = self.server.take().unwrap();
        server.signal("TERM");
        let status = server.child.wait().unwrap();
        // The drain thread in `Server` sees EOF once the process is gone.
        std::thread::sleep(Duration::from_millis(100));
        let logs = self.logs();
        assert!(status.success(), "exit {status}:\n{logs}");
        logs
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
}

/// An organization created by a test, with its owner's token.
#[derive(Debug, Clone)]
pub struct TestOrg {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub token: String,
}

/// `now + secs` in RFC 3339.
pub fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339()
}

/// An active self-peering connection made through the HTTP API: (id, secret, owner token).
pub fn self_connection(server: &Server) -> (String, String, String) {
    let admin = admin_token(&server.data_dir);
    let post = |path: &str, token: &str, body: serde_json::Value, want: u16| {
        let (s, v) = call(server.http, "POST", path, Some(token), Some(&body));
        assert_eq!(s, want, "POST {path}: {v}");
        v
    };
    let org = post(
        "/v1/orgs",
        &admin,
        serde_json::json!({"name": "Solo", "slug": "solo", "tier": "standard",
               "owner": {"email": "o@solo.example", "name": "Owner"}}),
        201,
    );
    let owner = org["owner_token"].as_str().unwrap().to_owned();
    let server_id = |name: &str| {
        post(
            "/v1/servers",
            &owner,
            serde_json::json!({"name": name, "kind": "mirth"}),
            201,
        )["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (one, two) = (server_id("one"), server_id("two"));
    let channel = post(
        &format!("/v1/servers/{two}/channels"),
        &owner,
        serde_json::json!({"internal_name": "ADT_IN", "public_name": "ADT",
               "direction": "listener", "published": true}),
        201,
    );
    let request = post(
        "/v1/peering/requests",
        &owner,
        serde_json::json!({"to_org": "solo"}),
        201,
    );
    let agreement = request["agreement_id"].as_str().unwrap();
    let grant = post(
        "/v1/grants",
        &owner,
        serde_json::json!({"agreement_id": agreement, "channel_id": channel["id"]}),
        201,
    );
    let grant = grant["id"].as_str().unwrap();
    let (s, v) = call(
        server.http,
        "POST",
        &format!("/v1/grants/{grant}/approve"),
        Some(&owner),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let conn = post(
        "/v1/connections",
        &owner,
        serde_json::json!({"grant_id": grant, "source_server_id": one, "target_server_id": two}),
        201,
    );
    let id = conn["id"].as_str().unwrap().to_owned();
    for action in ["activate", "secret/view"] {
        let (s, v) = call(
            server.http,
            "POST",
            &format!("/v1/connections/{id}/{action}"),
            Some(&owner),
            None,
        );
        assert_eq!(s, 200, "{action}: {v}");
        if action == "secret/view" {
            return (id, v["secret"].as_str().unwrap().to_owned(), owner);
        }
    }
    unreachable!()
}

/// A listener address from `listeners.json` (`mqtt_tls`, `turn`, …).
pub fn listener(data_dir: &Path, name: &str) -> std::net::SocketAddr {
    let text = std::fs::read_to_string(data_dir.join("listeners.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[name].as_str().unwrap().parse().unwrap()
}

/// A connection's `connectivity`, read through the API with `owner`'s token.
pub fn connectivity(server: &Server, conn: &str, owner: &str) -> serde_json::Value {
    let (s, v) = call(
        server.http,
        "GET",
        &format!("/v1/connections/{conn}"),
        Some(owner),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v["connectivity"].clone()
}
