//! Cross-field validation: rules that involve more than one key or the file system.
//!
//! Runs after every value has been parsed. A rule is skipped when one of its keys already
//! failed to parse, so an operator sees the parse error and not a second, misleading one
//! computed from the default that is still in place.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;

use crate::error::{ConfigError, ConfigErrors};
use crate::model::Config;

impl Config {
    /// Checks the cross-field rules on a config built or modified in code (for example after
    /// the binary applies `--data-dir`). [`Config::load`] already runs these checks.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let errors = check(self, &BTreeSet::new());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// Every cross-field problem, skipping rules that involve a key in `failed`.
pub(crate) fn check(config: &Config, failed: &BTreeSet<&'static str>) -> Vec<ConfigError> {
    let mut checker = Checker {
        failed,
        errors: Vec::new(),
    };
    checker.tls(config);
    checker.at_most(
        ("mqtt.keepalive_min_secs", config.mqtt.keepalive_min_secs),
        ("mqtt.keepalive_max_secs", config.mqtt.keepalive_max_secs),
    );
    checker.at_most(
        ("turn.relay_port_min", config.turn.relay_port_min),
        ("turn.relay_port_max", config.turn.relay_port_max),
    );
    checker.distinct_listeners(config);
    checker.errors
}

struct Checker<'a> {
    failed: &'a BTreeSet<&'static str>,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn parsed(&self, keys: &[&str]) -> bool {
        keys.iter().all(|key| !self.failed.contains(key))
    }

    fn error(&mut self, key: &str, problem: String) {
        self.errors.push(ConfigError::new(key, problem));
    }

    /// Certificate and key come as a pair, and a configured file must be readable now rather
    /// than at the first TLS handshake.
    fn tls(&mut self, config: &Config) {
        let (cert, key) = (&config.tls.cert, &config.tls.key);
        if self.parsed(&["tls.cert", "tls.key"]) {
            match (cert, key) {
                (Some(_), None) => {
                    self.error("tls.key", "must be set when tls.cert is set".to_owned());
                }
                (None, Some(_)) => {
                    self.error("tls.cert", "must be set when tls.key is set".to_owned());
                }
                _ => {}
            }
        }
        for (name, path) in [("tls.cert", cert), ("tls.key", key)] {
            if let Some(path) = path
                && self.parsed(&[name])
                && let Err(problem) = readable_file(path)
            {
                self.error(name, problem);
            }
        }
    }

    fn at_most<T: PartialOrd + std::fmt::Display>(
        &mut self,
        (low_key, low): (&str, T),
        (high_key, high): (&str, T),
    ) {
        if self.parsed(&[low_key, high_key]) && low > high {
            self.error(
                low_key,
                format!("must not be greater than {high_key} ({low} > {high})"),
            );
        }
    }

    /// Two TCP listeners on the same port would make start-up fail with "address in use";
    /// saying which keys collide is more useful. (TURN is UDP and may share a port number.)
    fn distinct_listeners(&mut self, config: &Config) {
        let listeners = [
            ("http.listen", Some(config.http.listen)),
            ("mqtt.tls_listen", Some(config.mqtt.tls_listen)),
            ("mqtt.wss_listen", Some(config.mqtt.wss_listen)),
            ("mqtt.tcp_listen", config.mqtt.tcp_listen),
        ];
        for (i, &(key, addr)) in listeners.iter().enumerate() {
            let Some(addr) = addr else { continue };
            let clash = listeners[..i].iter().find(|&&(other_key, other)| {
                other.is_some_and(|other| overlaps(addr, other)) && self.parsed(&[key, other_key])
            });
            if let Some((other_key, _)) = clash {
                self.error(
                    key,
                    format!(
                        "{addr} uses the same port as {other_key}; listeners need distinct ports"
                    ),
                );
            }
        }
    }
}

/// Whether binding both addresses would conflict: same non-ephemeral port, and the same IP or
/// a wildcard covering the other (`0.0.0.0` covers IPv4; `[::]` is dual-stack and covers both).
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    let covers = |w: SocketAddr, other: SocketAddr| {
        w.ip().is_unspecified() && (w.is_ipv6() || other.is_ipv4())
    };
    a.port() != 0 && a.port() == b.port() && (a.ip() == b.ip() || covers(a, b) || covers(b, a))
}

fn readable_file(path: &Path) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if metadata.is_file() {
        Ok(())
    } else {
        Err(format!("{} is not a regular file", path.display()))
    }
}
