//! The one place that installs the tracing subscriber: text or JSON lines on stderr, filtered
//! by `SWITCHBOARD_LOG` (an `EnvFilter` directive) or else the configured `log.level`.

use switchboard_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Later calls are ignored (tests may start several servers).
pub fn init(log: &LogConfig) {
    let from_env = std::env::var("SWITCHBOARD_LOG").ok();
    let env_filter = from_env.as_deref().map(EnvFilter::try_new);
    let bad_env = matches!(env_filter, Some(Err(_)));
    let filter = env_filter
        .and_then(Result::ok)
        .or_else(|| EnvFilter::try_new(&log.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Colours only on a terminal: a log file or a collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if bad_env {
        tracing::warn!(
            value = from_env.as_deref().unwrap_or(""),
            level = %log.level,
            "SWITCHBOARD_LOG is not a valid log filter; using log.level instead"
        );
    }
}
