//! The one place that installs the tracing subscriber: text or JSON lines on stderr, filtered
//! by `SWITCHBOARD_LOG` (an `EnvFilter` directive) or else the configured `log.level`.

use switchboard_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Later calls are ignored (tests may start several servers).
pub fn init(log: &LogConfig) {
    let filter = std::env::var("SWITCHBOARD_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_new(&log.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
