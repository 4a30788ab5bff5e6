//! `switchboard-gateway`: the reference gateway. See `docs/gateway.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchboard_gateway::{Exit, Forward, Options, SecretSource, Side};

/// Connects to a Switchboard broker, negotiates a WebRTC DataChannel with the peer gateway
/// and forwards TCP through it. The secret comes from --secret-file or the
/// SWITCHBOARD_GATEWAY_SECRET environment variable, never from the command line.
#[derive(Debug, Parser)]
#[command(name = "switchboard-gateway", version)]
struct Cli {
    /// Broker URL: mqtts://host:port or wss://host:port/mqtt.
    #[arg(long, env = "SWITCHBOARD_GATEWAY_BROKER")]
    broker: String,
    /// PEM file of the CA that signed the broker's certificate.
    #[arg(long, env = "SWITCHBOARD_GATEWAY_CA")]
    ca: PathBuf,
    /// The connection id (conn_…).
    #[arg(long, env = "SWITCHBOARD_GATEWAY_CONNECTION")]
    connection: String,
    /// source (offers; --listen) or target (answers; --forward).
    #[arg(long, env = "SWITCHBOARD_GATEWAY_SIDE")]
    side: Side,
    /// File holding the shared secret; re-read before every reconnection, so a rotated
    /// secret is picked up by rewriting the file.
    #[arg(long, env = "SWITCHBOARD_GATEWAY_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// Source: local address accepting the TCP connections to carry (e.g. 127.0.0.1:6661).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Target: host:port of the local service each carried connection goes to.
    #[arg(long)]
    forward: Option<String>,
    /// Use only the TURN relay (ICE transport policy "relay").
    #[arg(long)]
    relay_only: bool,
    /// Local UDP address for WebRTC (0.0.0.0:0 = all interfaces, ephemeral port).
    #[arg(long, default_value = "0.0.0.0:0")]
    udp_bind: SocketAddr,
    /// Driver kicker period in milliseconds; 0 turns it off (slower setup and relaying).
    #[arg(long, default_value_t = 2)]
    kicker_ms: u64,
    /// ICE connectivity-check interval in milliseconds.
    #[arg(long, default_value_t = 20)]
    ice_check_ms: u64,
    /// MQTT keep-alive in seconds (5–300).
    #[arg(long, default_value_t = 30)]
    keep_alive_secs: u64,
    /// Longest wait between reconnection or re-offer attempts, in seconds.
    #[arg(long, default_value_t = 30)]
    max_backoff_secs: u64,
}

fn options(cli: Cli) -> anyhow::Result<Options> {
    let ca_pem = std::fs::read(&cli.ca)
        .map_err(|e| anyhow::anyhow!("reading the CA file {}: {e}", cli.ca.display()))?;
    let secret = match (cli.secret_file, std::env::var("SWITCHBOARD_GATEWAY_SECRET")) {
        (Some(path), _) => SecretSource::File(path),
        (None, Ok(secret)) if !secret.is_empty() => SecretSource::Value(secret),
        _ => anyhow::bail!("give the secret with --secret-file or SWITCHBOARD_GATEWAY_SECRET"),
    };
    secret
        .read()
        .map_err(|e| anyhow::anyhow!("reading the secret: {e}"))?;
    if !(cli.broker.starts_with("mqtts://") || cli.broker.starts_with("wss://")) {
        anyhow::bail!(
            "--broker must be mqtts://host:port or wss://host:port/mqtt, not {:?}",
            cli.broker
        );
    }
    if !(5..=300).contains(&cli.keep_alive_secs) {
        anyhow::bail!("--keep-alive-secs must be from 5 to 300");
    }
    let forward = match (cli.side, cli.listen, cli.forward) {
        (Side::Source, Some(addr), None) => Forward::Listen(addr),
        (Side::Target, None, Some(addr)) => Forward::Connect(addr),
        (_, None, None) => Forward::None,
        (Side::Source, _, Some(_)) => anyhow::bail!("--forward is for the target side"),
        (Side::Target, Some(_), _) => anyhow::bail!("--listen is for the source side"),
    };
    let mut o = Options::new(cli.broker, ca_pem, cli.connection, cli.side, secret);
    o.forward = forward;
    o.relay_only = cli.relay_only;
    o.udp_bind = cli.udp_bind;
    o.kicker = Duration::from_millis(cli.kicker_ms);
    o.ice_check_interval = Duration::from_millis(cli.ice_check_ms.max(1));
    o.keep_alive = Duration::from_secs(cli.keep_alive_secs);
    o.max_backoff = Duration::from_secs(cli.max_backoff_secs.max(1));
    Ok(o)
}

async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,switchboard_gateway=info,webrtc=error,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = match options(Cli::parse()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("switchboard-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    match switchboard_gateway::run(opts, stop_signal(), None).await {
        Ok(Exit::Shutdown) => ExitCode::SUCCESS,
        Ok(Exit::Terminated(status)) => {
            tracing::error!(%status, "the connection is no longer usable; stopping");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("switchboard-gateway: {e}");
            ExitCode::from(1)
        }
    }
}
