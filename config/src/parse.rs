//! Value parsers shared by every key: each accepts a TOML value from the file or a string from
//! the environment, and returns the typed value or a one-line problem naming the bad value.

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::model::LogFormat;

/// A value as the operator wrote it, before parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// A value from the TOML file.
    Toml(&'a toml::Value),
    /// A value from a `SWITCHBOARD_*` environment variable.
    Env(&'a str),
}

/// The spelling that means "no limit" for tier limits.
pub(crate) const UNLIMITED: &str = "unlimited";

/// Largest value accepted by byte-size keys held in `u64`: what a TOML integer can hold.
pub(crate) const MAX_U64_SETTING: u64 = i64::MAX.unsigned_abs();

/// A string, including the empty string.
pub(crate) fn text(raw: Raw<'_>) -> Result<String, String> {
    match raw {
        Raw::Env(s) => Ok(s.to_owned()),
        Raw::Toml(toml::Value::String(s)) => Ok(s.clone()),
        Raw::Toml(other) => Err(mismatch("a string", other)),
    }
}

/// A string that is not empty or blank.
pub(crate) fn non_empty(raw: Raw<'_>) -> Result<String, String> {
    let s = text(raw)?;
    if s.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(s)
}

/// A path that must be given.
pub(crate) fn path(raw: Raw<'_>) -> Result<PathBuf, String> {
    non_empty(raw).map(PathBuf::from)
}

/// A path where the empty string means "not set".
pub(crate) fn optional_path(raw: Raw<'_>) -> Result<Option<PathBuf>, String> {
    let s = text(raw)?;
    Ok((!s.is_empty()).then(|| PathBuf::from(s)))
}

/// An `ip:port` socket address.
pub(crate) fn socket_addr(raw: Raw<'_>) -> Result<SocketAddr, String> {
    let s = text(raw)?;
    s.parse().map_err(|_| {
        format!("invalid socket address {s:?} (expected ip:port, e.g. 0.0.0.0:8883 or [::]:8883)")
    })
}

/// An `ip:port` socket address where the empty string means "off".
pub(crate) fn optional_socket_addr(raw: Raw<'_>) -> Result<Option<SocketAddr>, String> {
    if text(raw)?.is_empty() {
        return Ok(None);
    }
    socket_addr(raw).map(Some)
}

/// A `host:port` or `ip:port` with a non-zero port, where the empty string means "not set".
pub(crate) fn optional_host_port(raw: Raw<'_>) -> Result<Option<String>, String> {
    let s = text(raw)?;
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        format!("invalid address {s:?} (expected host:port or ip:port with a port from 1 to 65535)")
    };
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return if addr.port() == 0 {
            Err(bad())
        } else {
            Ok(Some(s))
        };
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
    if host_ok && port_ok {
        Ok(Some(s))
    } else {
        Err(bad())
    }
}

/// A host name or IP address (IPv6 in brackets), or empty for `None`.
pub(crate) fn optional_host(raw: Raw<'_>) -> Result<Option<String>, String> {
    let s = text(raw)?;
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || format!("invalid host {s:?} (expected a host name or an IP address)");
    if s.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(Some(s));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Ok(Some(s)),
            Err(_) => Err(bad()),
        };
    }
    let host_ok = s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if host_ok { Ok(Some(s)) } else { Err(bad()) }
}

/// `true` or `false`.
pub(crate) fn boolean(raw: Raw<'_>) -> Result<bool, String> {
    match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Ok(*b),
        Raw::Toml(other) => Err(mismatch("true or false", other)),
        Raw::Env("true") => Ok(true),
        Raw::Env("false") => Ok(false),
        Raw::Env(s) => Err(format!("expected true or false, got {s:?}")),
    }
}

/// An integer from 1 to `max`: every count, limit, duration and size.
pub(crate) fn at_least_one<T>(raw: Raw<'_>, max: T) -> Result<T, String>
where
    T: TryFrom<i128> + Into<i128> + Copy + Display,
{
    let n = integer(raw)?;
    if n < 1 {
        return Err(format!("must be at least 1 (got {n})"));
    }
    let too_big = || format!("must be at most {max} (got {n})");
    if n > max.into() {
        return Err(too_big());
    }
    T::try_from(n).map_err(|_| too_big())
}

/// A tier limit: an integer of at least 1, or `"unlimited"` (`None`).
pub(crate) fn tier_limit(raw: Raw<'_>) -> Result<Option<u32>, String> {
    let expected = "expected an integer of at least 1 or \"unlimited\"";
    match raw {
        Raw::Toml(toml::Value::String(s)) if s == UNLIMITED => Ok(None),
        Raw::Env(UNLIMITED) => Ok(None),
        Raw::Toml(toml::Value::Integer(_)) => at_least_one(raw, u32::MAX).map(Some),
        Raw::Toml(other) => Err(mismatch(expected, other)),
        Raw::Env(s) if s.parse::<i128>().is_ok() => at_least_one(raw, u32::MAX).map(Some),
        Raw::Env(s) => Err(format!("{expected}, got {s:?}")),
    }
}

/// `"text"` or `"json"`.
pub(crate) fn log_format(raw: Raw<'_>) -> Result<LogFormat, String> {
    match text(raw)?.as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("expected \"text\" or \"json\", got {other:?}")),
    }
}

/// The inverse of the parsers: how a typed value is written in a TOML file.
pub(crate) trait ToToml {
    /// The TOML value that parses back to `self`.
    fn to_toml(&self) -> toml::Value;
}

macro_rules! int_to_toml {
    ($($t:ty),*) => {$(
        impl ToToml for $t {
            fn to_toml(&self) -> toml::Value {
                // Parsers cap every integer setting at i64::MAX, so saturation only affects
                // values built by hand beyond what a config file could express.
                toml::Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_to_toml!(u16, u32, u64);

impl ToToml for bool {
    fn to_toml(&self) -> toml::Value {
        toml::Value::Boolean(*self)
    }
}

impl ToToml for String {
    fn to_toml(&self) -> toml::Value {
        toml::Value::String(self.clone())
    }
}

impl ToToml for PathBuf {
    fn to_toml(&self) -> toml::Value {
        toml::Value::String(self.display().to_string())
    }
}

impl ToToml for SocketAddr {
    fn to_toml(&self) -> toml::Value {
        toml::Value::String(self.to_string())
    }
}

impl ToToml for LogFormat {
    fn to_toml(&self) -> toml::Value {
        toml::Value::String(self.as_str().to_owned())
    }
}

/// Tier limits: `None` is `"unlimited"`.
impl ToToml for Option<u32> {
    fn to_toml(&self) -> toml::Value {
        match self {
            Some(n) => n.to_toml(),
            None => toml::Value::String(UNLIMITED.to_owned()),
        }
    }
}

/// Optional strings, paths and addresses: `None` is the empty string that means "not set".
macro_rules! optional_to_toml {
    ($($t:ty),*) => {$(
        impl ToToml for Option<$t> {
            fn to_toml(&self) -> toml::Value {
                match self {
                    Some(v) => v.to_toml(),
                    None => toml::Value::String(String::new()),
                }
            }
        }
    )*};
}
optional_to_toml!(String, PathBuf, SocketAddr);

fn integer(raw: Raw<'_>) -> Result<i128, String> {
    match raw {
        Raw::Toml(toml::Value::Integer(n)) => Ok(i128::from(*n)),
        Raw::Toml(other) => Err(mismatch("an integer", other)),
        Raw::Env(s) => s
            .parse::<i128>()
            .map_err(|_| format!("expected an integer, got {s:?}")),
    }
}

fn mismatch(expected: &str, found: &toml::Value) -> String {
    match found {
        toml::Value::Table(_) => format!("expected {expected}, found a table"),
        toml::Value::Array(_) => format!("expected {expected}, found an array"),
        scalar => format!("expected {expected}, found {} {scalar}", scalar.type_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(s: &str) -> Raw<'_> {
        Raw::Env(s)
    }

    #[test]
    fn integers_are_bounded_on_both_sides() {
        assert_eq!(at_least_one(env("1"), u16::MAX), Ok(1));
        assert_eq!(at_least_one(env("65535"), u16::MAX), Ok(65535));
        assert_eq!(
            at_least_one(env("65536"), u16::MAX),
            Err("must be at most 65535 (got 65536)".to_owned())
        );
        assert_eq!(
            at_least_one(env("-3"), u32::MAX),
            Err("must be at least 1 (got -3)".to_owned())
        );
        assert_eq!(
            at_least_one(env("99999999999999999999"), MAX_U64_SETTING),
            Err(format!(
                "must be at most {MAX_U64_SETTING} (got 99999999999999999999)"
            ))
        );
        assert_eq!(
            at_least_one(env(" 5"), u32::MAX),
            Err("expected an integer, got \" 5\"".to_owned())
        );
        let float = toml::Value::Float(1.5);
        assert_eq!(
            at_least_one(Raw::Toml(&float), u32::MAX),
            Err("expected an integer, found float 1.5".to_owned())
        );
    }

    #[test]
    fn advertise_host_accepts_names_and_addresses_only() {
        for ok in [
            "switchboard.example.org",
            "localhost",
            "203.0.113.7",
            "[2001:db8::1]",
        ] {
            assert_eq!(optional_host(env(ok)), Ok(Some(ok.to_owned())), "{ok}");
        }
        assert_eq!(optional_host(env("")), Ok(None));
        for bad in [
            "switchboard.example.org:8883",
            "2001:db8::1",
            "[nope]",
            "a..b",
            "-a.example",
            "mqtts://x",
            "with space",
        ] {
            assert!(optional_host(env(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn advertise_accepts_host_or_ip_with_a_real_port() {
        for ok in [
            "turn.example.org:3478",
            "203.0.113.7:443",
            "[2001:db8::1]:3478",
            "relay:1",
        ] {
            assert_eq!(optional_host_port(env(ok)), Ok(Some(ok.to_owned())), "{ok}");
        }
        assert_eq!(optional_host_port(env("")), Ok(None));
        for bad in [
            "turn.example.org",
            "turn.example.org:0",
            "turn.example.org:65536",
            ":3478",
            "2001:db8::1:3478",
            "turn example:3478",
            "http://turn:3478",
            "[::1]:0",
        ] {
            assert!(optional_host_port(env(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_are_exact() {
        assert_eq!(boolean(env("true")), Ok(true));
        assert_eq!(boolean(env("false")), Ok(false));
        assert!(boolean(env("True")).is_err());
        assert!(boolean(env("1")).is_err());
        let text = toml::Value::String("true".to_owned());
        assert_eq!(
            boolean(Raw::Toml(&text)),
            Err("expected true or false, found string \"true\"".to_owned())
        );
    }

    #[test]
    fn empty_means_off_only_where_documented() {
        assert_eq!(optional_socket_addr(env("")), Ok(None));
        assert_eq!(optional_path(env("")), Ok(None));
        assert!(socket_addr(env("")).is_err());
        assert_eq!(path(env("  ")), Err("must not be empty".to_owned()));
    }

    #[test]
    fn tier_limits() {
        assert_eq!(tier_limit(env("unlimited")), Ok(None));
        assert_eq!(tier_limit(env("12")), Ok(Some(12)));
        assert!(tier_limit(env("Unlimited")).is_err());
        assert!(tier_limit(env("0")).is_err());
        let unlimited = toml::Value::String(UNLIMITED.to_owned());
        assert_eq!(tier_limit(Raw::Toml(&unlimited)), Ok(None));
        let boolean = toml::Value::Boolean(true);
        assert!(tier_limit(Raw::Toml(&boolean)).is_err());
    }
}
