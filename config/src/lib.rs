//! Switchboard's typed configuration: defaults, an optional TOML file and `SWITCHBOARD_*`
//! environment variables, validated with every problem reported at once.
//!
//! ```no_run
//! # use std::path::Path;
//! let config = switchboard_config::Config::load(Some(Path::new("switchboard.toml")), std::env::vars());
//! match config {
//!     Ok(config) => println!("HTTP API on {}", config.http.listen),
//!     Err(errors) => eprintln!("{errors}"),
//! }
//! ```
//!
//! Modules:
//! - [`defaults`]: the default of every key, as documented constants;
//! - `model`: [`Config`] and its per-table structs;
//! - `keys`: the registry of keys that drives loading, environment names and rendering;
//! - `parse`: value parsers shared by file and environment values;
//! - `load`: [`Config::load`];
//! - `validate`: cross-field rules ([`Config::validate`]);
//! - `render`: [`default_toml`];
//! - `error`: [`ConfigError`] and [`ConfigErrors`];
//! - `suggest`: "did you mean" hints for unknown keys.

pub mod defaults;
mod error;
mod keys;
mod load;
mod model;
mod parse;
mod render;
mod suggest;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use keys::{ENV_ALLOW_LIST, ENV_CONFIG_FILE, ENV_LOG, ENV_PREFIX, env_var_name};
pub use model::{
    Config, HttpConfig, LockoutConfig, LogConfig, LogFormat, MqttConfig, RateLimits, SecretsConfig,
    TierLimitsConfig, TiersConfig, Timeouts, TlsConfig, TurnConfig,
};
pub use render::default_toml;
