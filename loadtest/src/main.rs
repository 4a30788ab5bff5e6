//! `switchboard-loadtest`: the measurement harness for Switchboard's embedded MQTT broker.
//!
//! - `provision` makes N active connections through the HTTP API and writes their secrets;
//! - `pairs` drives N gateway pairs (Switchboard's protocol, or plain MQTT topics for
//!   reference brokers such as mosquitto and rumqttd) and reports connect rate, round-trip and
//!   one-way latency, loss, errors, and the server's memory and CPU;
//! - `connect` times sequential connects (TLS included) up to the CONNACK;
//! - `tunnel` runs real tunnels between two reference gateways and measures their setup
//!   time, throughput or idle CPU, directly or through a TURN relay.
//!
//! Modules: [`cli`] (options), [`endpoint`] (broker URL → client), [`payload`] (probe
//! messages), [`pairs_file`], [`procstat`] (server RSS and CPU), [`stats`] (histograms),
//! [`run_state`], [`client`] and [`pairs`] (the pairs run), [`report`], [`connect`],
//! [`provision`], [`samples`] (small-sample percentiles), [`netstat`] (UDP drops),
//! [`gateways`] and [`tunnel`] (the tunnel runs). How to run the comparisons: `docs/BENCHMARKS.md`.

mod cli;
mod client;
mod connect;
mod endpoint;
mod gateways;
mod netstat;
mod pairs;
mod pairs_file;
mod payload;
mod procstat;
mod provision;
mod report;
mod run_state;
mod samples;
mod stats;
mod tunnel;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    // Both ring and aws-lc can be in the dependency graph, so rustls cannot pick a default
    // provider by itself (DESIGN.md §2). An Err only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Provision(args) => provision::run(args).await,
            Command::Pairs(args) => pairs::run(args).await,
            Command::Connect(args) => connect::run(args).await,
            Command::Tunnel(args) => tunnel::run(args).await,
        }
    })
}
