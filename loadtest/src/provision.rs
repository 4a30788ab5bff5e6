//! `provision`: makes N active p2p connections through the real HTTP API and writes their
//! secrets to a pairs file. [`connections`] does the work for other subcommands (`tunnel`).
//!
//! As the platform admin it creates an enterprise organization with unlimited-servers and
//! unlimited-channels overrides (so a non-default tier configuration cannot stop the run); as
//! that organization's owner it self-peers, registers one target server and S source servers,
//! publishes C listener channels on the target, offers and approves one grant per channel, and
//! provisions one connection per (grant, source) pair, since a grant may carry several
//! connections but not two with the same source and target (SPEC §5). S ≈ √N keeps both the
//! server and the channel count small. Every connection is activated and its secret viewed
//! once (each p2p side may view it once; one view is all both gateways need).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::ProvisionArgs;
use crate::pairs_file::{self, PairCredentials};

/// How long the organization's limit overrides last.
const OVERRIDE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Seconds one HTTP request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP API; each call names its caller's token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Arc<str>,
}

impl Api {
    /// A client for the API at `base` (`http://host:port`).
    pub fn new(base: &str) -> anyhow::Result<Api> {
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            base: base.trim_end_matches('/').into(),
        })
    }

    /// GETs `path` and returns the JSON answer; any status but 2xx is an error naming the
    /// route, the status and the API's error.
    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("GET {path}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("GET {path}: answer is not JSON"))
    }

    /// POSTs `body` (or nothing) and returns the JSON answer; any status but 200/201 is an
    /// error naming the route, the status and the API's error.
    async fn post(&self, path: &str, token: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("POST {path}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("POST {path}: answer is not JSON"))
    }

    /// POSTs and returns the string field `field` of the answer.
    async fn post_for(
        &self,
        path: &str,
        token: &str,
        body: Option<Value>,
        field: &str,
    ) -> anyhow::Result<String> {
        let answer = self.post(path, token, body).await?;
        answer[field]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST {path}: no {field:?} in the answer"))
    }
}

/// What [`connections`] made.
pub struct Provisioned {
    /// The organization's slug.
    pub slug: String,
    /// The organization owner's API token (may read and act on the connections).
    pub owner_token: String,
    /// Source servers registered.
    pub sources: usize,
    /// Channels (and grants) made.
    pub channels: usize,
    /// The active connections and their secrets.
    pub pairs: Vec<PairCredentials>,
}

/// Runs `provision`.
pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    if args.pairs == 0 {
        bail!("--pairs must be positive");
    }
    let admin = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("reading {}", args.token_file.display()))?;
    let api = Api::new(&args.api)?;
    let started = Instant::now();
    let made = connections(&api, admin.trim(), args.pairs, args.concurrency).await?;
    pairs_file::write(&args.out, &made.pairs)?;
    println!(
        "provisioned {} active connections (org {}, {} source servers × {} channels) in {:.1} s; wrote {}",
        made.pairs.len(),
        made.slug,
        made.sources,
        made.channels,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// Makes `n` active connections in a new enterprise organization, as the platform admin
/// (`admin` is its token), at most `concurrency` requests at once.
pub async fn connections(
    api: &Api,
    admin: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Provisioned> {
    if n == 0 {
        bail!("no connections asked for");
    }
    let tag = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let slug = format!("loadtest-{tag}");
    let org = api
        .post(
            "/v1/orgs",
            admin,
            Some(json!({
                "name": format!("Load test {tag}"),
                "slug": slug,
                "tier": "enterprise",
                "owner": {"email": format!("{slug}@loadtest.invalid"), "name": "Load test"},
            })),
        )
        .await?;
    let org_id = org["org"]["id"].as_str().context("no org.id")?;
    let owner: Arc<str> = org["owner_token"]
        .as_str()
        .context("no owner_token")?
        .into();
    let expires = chrono::Utc::now() + OVERRIDE_TTL;
    for limit in ["servers", "channels_per_server"] {
        api.post(
            &format!("/v1/admin/orgs/{org_id}/overrides"),
            admin,
            Some(json!({"limit": limit, "value": null, "expires_at": expires.to_rfc3339()})),
        )
        .await?;
    }
    let agreement = api
        .post_for(
            "/v1/peering/requests",
            &owner,
            Some(json!({"to_org": slug})),
            "agreement_id",
        )
        .await?;

    let (sources, channels) = plan(n);
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let target = api
        .post_for(
            "/v1/servers",
            &owner,
            Some(json!({"name": "loadtest-target", "kind": "mirth"})),
            "id",
        )
        .await?;
    let source_ids = parallel(&gate, (0..sources).collect(), {
        let (api, owner) = (api.clone(), owner.clone());
        move |i| {
            let (api, owner) = (api.clone(), owner.clone());
            async move {
                let body = json!({"name": format!("loadtest-source-{i}"), "kind": "mirth"});
                api.post_for("/v1/servers", &owner, Some(body), "id").await
            }
        }
    })
    .await?;
    eprintln!("provision: {sources} source servers");
    let grants = parallel(&gate, (0..channels).collect(), {
        let (api, owner, target, agreement) = (
            api.clone(),
            owner.clone(),
            target.clone(),
            agreement.clone(),
        );
        move |j| {
            let (api, owner, target, agreement) = (
                api.clone(),
                owner.clone(),
                target.clone(),
                agreement.clone(),
            );
            async move {
                let body = json!({"internal_name": format!("LOADTEST_{j}"),
                    "public_name": format!("Load test {j}"), "direction": "listener",
                    "published": true});
                let channel = api
                    .post_for(
                        &format!("/v1/servers/{target}/channels"),
                        &owner,
                        Some(body),
                        "id",
                    )
                    .await?;
                let body = json!({"agreement_id": agreement, "channel_id": channel});
                let grant = api.post_for("/v1/grants", &owner, Some(body), "id").await?;
                api.post(&format!("/v1/grants/{grant}/approve"), &owner, None)
                    .await?;
                Ok(grant)
            }
        }
    })
    .await?;
    eprintln!("provision: {channels} channels with approved grants");
    let slots: Vec<(String, String)> = grants
        .iter()
        .flat_map(|g| source_ids.iter().map(move |s| (g.clone(), s.clone())))
        .take(n)
        .collect();
    let pairs = parallel(&gate, slots, {
        let (api, owner, target) = (api.clone(), owner.clone(), target.clone());
        move |(grant, source)| {
            let (api, owner, target) = (api.clone(), owner.clone(), target.clone());
            async move {
                let body = json!({"grant_id": grant, "source_server_id": source,
                    "target_server_id": target});
                let id = api
                    .post_for("/v1/connections", &owner, Some(body), "id")
                    .await?;
                api.post(&format!("/v1/connections/{id}/activate"), &owner, None)
                    .await?;
                let secret = api
                    .post_for(
                        &format!("/v1/connections/{id}/secret/view"),
                        &owner,
                        None,
                        "secret",
                    )
                    .await?;
                Ok(PairCredentials {
                    connection_id: id,
                    secret,
                })
            }
        }
    })
    .await?;
    Ok(Provisioned {
        slug,
        owner_token: owner.to_string(),
        sources,
        channels,
        pairs,
    })
}

/// Source servers and channels for `n` connections: about √n each, with sources × channels ≥ n.
fn plan(n: usize) -> (usize, usize) {
    let sources = (n as f64).sqrt().ceil().max(1.0) as usize;
    (sources, n.div_ceil(sources))
}

/// Runs `make(item)` for every item, at most the semaphore's permits at once, and returns the
/// results in the items' order; the first error stops the run.
async fn parallel<I, T, F, Fut>(
    gate: &Arc<Semaphore>,
    items: Vec<I>,
    make: F,
) -> anyhow::Result<Vec<T>>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let work = make(item);
        set.spawn(async move {
            let result = work.await;
            drop(permit);
            (index, result)
        });
    }
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (index, result) = joined?;
        out[index] = Some(result?);
    }
    out.into_iter()
        .map(|r| r.context("a request task vanished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_n_with_few_servers_and_channels() {
        for n in [1, 2, 3, 10, 99, 1000, 1024, 5000] {
            let (s, c) = plan(n);
            assert!(s * c >= n, "{n}");
            assert!(s * c < n + s, "{n}: no spare channel");
            assert!(s <= 1 + (n as f64).sqrt() as usize, "{n}");
        }
        assert_eq!(plan(1), (1, 1));
        assert_eq!(plan(1000), (32, 32));
    }
}
