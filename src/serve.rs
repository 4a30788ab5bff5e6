//! `switchboard serve`: load and validate configuration, prepare the data dir, open the store
//! with its master key, bootstrap the platform admin, prepare TLS, bind the listeners, write
//! `listeners.json`, and run until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_actors::service::types::GatewayInfo;
use switchboard_actors::turn::TurnIssuer;
use switchboard_actors::{StoreHandle, Switchboard, SystemClock};
use switchboard_api::{ApiSettings, ApiState};
use switchboard_broker::{Broker, BrokerSettings, BrokerSink, LiveSessions, websocket};
use switchboard_config::Config;
use switchboard_relay::Relay;
use switchboard_storage::{MasterKey, Store};

use crate::cli::ServeArgs;
use crate::data_dir::{self, STORE_FILE};
use crate::effects::Effects;
use crate::listeners::Listeners;
use crate::{bootstrap, relay, shutdown, telemetry, tls, wiring};

/// A startup failure, with the exit code it maps to.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is invalid (exit 2); every problem is listed.
    Config(String),
    /// Anything else that stops the start (exit 1).
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> Self {
        StartError::Other(e)
    }
}

/// Loads the configuration the way `serve` does: file, environment, then `--data-dir`.
pub fn load_config(args: &ServeArgs) -> Result<Config, StartError> {
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not panic the start;
    // one of ours that is not UTF-8 reaches the loader in lossy form and fails its parser.
    let env = std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    });
    let mut config =
        Config::load(args.config.as_deref(), env).map_err(|e| StartError::Config(e.to_string()))?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

/// Runs the server until shutdown.
pub fn run(args: &ServeArgs) -> Result<(), StartError> {
    let config = load_config(args)?;
    telemetry::init(&config.log);
    // Both ring and aws-lc can end up in the dependency graph; pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let data_dir = config.data_dir.clone();
    data_dir::prepare(&data_dir).context("preparing the data dir")?;
    // A previous run's addresses must not be mistaken for this run's: the file reappears
    // once this server is ready.
    let _ = std::fs::remove_file(data_dir.join(data_dir::LISTENERS_FILE));
    let store = Arc::new(open_store(&data_dir, &config.key_file_path())?);
    bootstrap::ensure_platform_admin(&store, &data_dir).context("creating the platform admin")?;
    let dev_dir = config
        .dev_tls_paths()
        .0
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("tls"));
    let tls = tls::prepare(config.tls_paths(), &dev_dir).context("preparing TLS")?;
    tracing::info!(cert = %tls.cert_path.display(), key = %tls.key_path.display(), ca = ?tls.ca_path, "TLS certificate and key loaded");

    let metrics = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed; /metrics will answer 404");
            None
        }
    };
    // actix actors on an arbiter, everything else (hyper, timers) on a multi-thread runtime.
    // `with_tokio_rt` wants a runtime, not a Result: failing to build one (out of threads or
    // file descriptors at start) can only end the process, with the OS error in the message.
    let system = actix::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the async runtime: {e}"))
    });
    system.block_on(serve(config, store, tls, metrics))?;
    tracing::info!("shutdown complete");
    Ok(())
}

async fn serve(
    config: Config,
    store: Arc<Store>,
    tls: tls::TlsMaterial,
    metrics: Option<PrometheusHandle>,
) -> Result<(), StartError> {
    let (shutdown, _trigger) = shutdown::install().context("installing signal handlers")?;
    let arbiter = actix::Arbiter::new();
    let sessions = LiveSessions::new();
    let turn_secret = relay::secret(&config.data_dir)?;
    let turn = Relay::start(
        relay::settings(&config, turn_secret.clone()),
        relay::policy(store.clone()),
    )
    .await
    .context("starting the TURN relay")?;
    let service = Switchboard::new(
        StoreHandle::new(store.clone()),
        arbiter.handle(),
        Arc::new(Effects {
            broker: BrokerSink::new(sessions.clone()),
            relay: turn.handle(),
        }),
        Arc::new(SystemClock),
        wiring::tier_table(&config),
        wiring::actor_settings(&config),
    );
    let cleared = service
        .clear_stale_presence()
        .await
        .context("clearing gateway presence left by the previous run")?;
    if cleared > 0 {
        tracing::info!(cleared, "gateway presence from the previous run cleared");
    }
    let ca_certificate = match &tls.ca_path {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let (mqtt, broker_task) = Broker::start(
        service.clone(),
        sessions,
        broker_settings(&config, &tls)?,
        until(shutdown.clone()),
    )
    .await
    .context("starting the MQTT broker")?;
    let advertised = |addr: std::net::SocketAddr| {
        let host = match &config.mqtt.advertise_host {
            Some(host) => host.clone(),
            None if addr.ip().is_unspecified() => "localhost".to_owned(),
            None if addr.is_ipv6() => format!("[{}]", addr.ip()),
            None => addr.ip().to_string(),
        };
        format!("{host}:{}", addr.port())
    };
    service.set_gateway_info(GatewayInfo {
        mqtt_tls_url: Some(format!("mqtts://{}", advertised(mqtt.tls))),
        mqtt_wss_url: mqtt
            .wss
            .map(|wss| format!("wss://{}{}", advertised(wss), websocket::PATH)),
        ca_certificate,
        ..GatewayInfo::default()
    });
    service.set_turn(TurnIssuer {
        urls: turn.urls(),
        secret: turn_secret,
        ttl: std::time::Duration::from_secs(u64::from(config.turn.credential_ttl_secs)),
    });
    let timer = tokio::spawn(service.clone().run_offer_timer(until(shutdown.clone())));

    let http = bind(config.http.listen, "http").await?;
    let listeners = Listeners {
        http: Some(http.local_addr().context("reading the HTTP address")?),
        mqtt_tls: Some(mqtt.tls),
        mqtt_wss: mqtt.wss,
        mqtt_tcp: mqtt.tcp,
        turn: Some(turn.local_addr()),
    };
    tracing::info!(http = ?listeners.http, mqtt_tls = ?listeners.mqtt_tls, mqtt_wss = ?listeners.mqtt_wss, mqtt_tcp = ?listeners.mqtt_tcp, "listening");
    let ready_store = store.clone();
    let state = ApiState {
        service,
        metrics,
        settings: ApiSettings::from_config(&config),
        ready: Arc::new(move || ready_store.read().map(|_| ()).map_err(|e| e.to_string())),
    };
    let http_task = tokio::spawn(switchboard_api::serve(http, state, until(shutdown.clone())));
    listeners
        .write(&config.data_dir)
        .context("writing listeners.json")?;
    tracing::info!(path = %config.data_dir.join(data_dir::LISTENERS_FILE).display(), "ready");
    let _ = http_task.await;
    let _ = timer.await;
    let _ = broker_task.await;
    turn.close().await;
    arbiter.stop();
    Ok(())
}

/// The broker's settings from the `mqtt` section and the TLS material.
fn broker_settings(config: &Config, tls: &tls::TlsMaterial) -> Result<BrokerSettings, StartError> {
    let server = tls::server_config(&tls.cert_path, &tls.key_path)
        .context("loading the MQTT TLS certificate")?;
    let m = &config.mqtt;
    let mut settings = BrokerSettings::new(m.tls_listen, Arc::new(server));
    settings.wss_listen = Some(m.wss_listen);
    settings.tcp_listen = m.tcp_listen;
    settings.handshake_timeout =
        std::time::Duration::from_secs(u64::from(m.handshake_timeout_secs));
    settings.max_connections = usize::try_from(m.max_connections).unwrap_or(usize::MAX);
    settings.keepalive_min = m.keepalive_min_secs;
    settings.keepalive_max = m.keepalive_max_secs;
    settings.max_payload = usize::try_from(m.max_payload_bytes).unwrap_or(usize::MAX);
    settings.malformed_per_minute = m.malformed_per_minute;
    settings.connect_attempts_per_ip_per_minute = m.connect_attempts_per_ip_per_minute;
    Ok(settings)
}

/// Resolves when shutdown begins.
async fn until(mut shutdown: shutdown::Shutdown) {
    shutdown.wait().await
}

async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} listener on {addr}"))
        .map_err(StartError::Other)
}

/// Opens the store, creating the master key on first start only: a store without its key
/// could never verify or reveal its secrets again, so a missing key then is an error.
fn open_store(data_dir: &Path, key_path: &Path) -> Result<Store, StartError> {
    let store_path = data_dir.join(STORE_FILE);
    let first_start = !store_path.exists();
    let key = if key_path.exists() || !first_start {
        MasterKey::load(key_path)
            .with_context(|| format!("loading the master key {}", key_path.display()))?
    } else {
        tracing::warn!(path = %key_path.display(), "first start: creating the master key (mode 0600); back it up with the store");
        MasterKey::create(key_path)
            .with_context(|| format!("creating the master key {}", key_path.display()))?
    };
    let store = Store::open(&store_path, key)
        .with_context(|| format!("opening the store {}", store_path.display()))?;
    tracing::info!(path = %store_path.display(), first_start, "store open");
    Ok(store)
}
