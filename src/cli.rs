//! The command line: `switchboard serve`, `switchboard config default|check`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Switchboard: the signaling broker and relay server for healthcare integration gateways.
///
/// Gateways dial out over MQTT/TLS, authenticate with a Connection ID and Shared Secret, and
/// negotiate WebRTC DataChannels with their partner's gateway; operators drive organizations,
/// peering, grants and connections through the HTTP admin API.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server with embedded defaults, a TOML file and `SWITCHBOARD_*` variables.
    ///
    /// On first start with an empty data dir it creates the store (`switchboard.redb`), the
    /// master key (`keys/master.key`, mode 0600), a development TLS CA and certificate in
    /// `tls/` when none is configured, and a platform admin whose API token is written to
    /// `admin-token` (mode 0600). Every bound address is logged and written to
    /// `listeners.json` once the server is ready. SIGINT or SIGTERM shuts it down cleanly.
    Serve(ServeArgs),
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Options of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file (also `SWITCHBOARD_CONFIG`); every key is optional.
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory; overrides `data_dir` from the file and `SWITCHBOARD_DATA_DIR`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented configuration file with every key at its default.
    Default,
    /// Load and validate the configuration (file and environment), report every error, exit.
    Check(ServeArgs),
}
