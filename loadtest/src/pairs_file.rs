//! `pairs.json`: the connections `provision` made, as `[{connection_id, secret}]`, which a
//! switchboard-mode run logs its gateway pairs in with. The file holds live secrets: it is
//! written with mode 0600 and never printed.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// One active connection and its shared secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairCredentials {
    /// The connection (`conn_…`): the gateways' username and client id prefix.
    pub connection_id: String,
    /// The shared secret (`sbs_…`): both gateways' password.
    pub secret: String,
}

impl std::fmt::Debug for PairCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairCredentials")
            .field("connection_id", &self.connection_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Parses the file's text: a non-empty array, no empty fields, no connection twice.
pub fn parse(text: &str) -> anyhow::Result<Vec<PairCredentials>> {
    let pairs: Vec<PairCredentials> = serde_json::from_str(text)
        .context("expected a JSON array of {\"connection_id\", \"secret\"}")?;
    if pairs.is_empty() {
        bail!("the file lists no connections");
    }
    let mut seen = HashSet::new();
    for (i, p) in pairs.iter().enumerate() {
        if p.connection_id.is_empty() || p.secret.is_empty() {
            bail!("entry {i}: connection_id and secret must not be empty");
        }
        if !seen.insert(p.connection_id.as_str()) {
            bail!("entry {i}: connection {} is listed twice", p.connection_id);
        }
    }
    Ok(pairs)
}

/// Reads and checks a pairs file.
pub fn read(path: &Path) -> anyhow::Result<Vec<PairCredentials>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

/// Writes a pairs file readable by its owner only.
pub fn write(path: &Path, pairs: &[PairCredentials]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_json::to_string_pretty(pairs)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pairs.json");
        let pairs = vec![
            PairCredentials {
                connection_id: "conn_A".into(),
                secret: "sbs_a".into(),
            },
            PairCredentials {
                connection_id: "conn_B".into(),
                secret: "sbs_b".into(),
            },
        ];
        write(&path, &pairs).unwrap();
        assert_eq!(read(&path).unwrap(), pairs);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn bad_files_are_named() {
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        assert!(err("{}").contains("expected a JSON array"));
        assert!(err("[]").contains("no connections"));
        assert!(err(r#"[{"connection_id":"c","secret":""}]"#).contains("must not be empty"));
        assert!(err(r#"[{"connection_id":"c","secret":"s","x":1}]"#).contains("unknown field"));
        assert!(
            err(r#"[{"connection_id":"c","secret":"s"},{"connection_id":"c","secret":"t"}]"#)
                .contains("listed twice")
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let p = PairCredentials {
            connection_id: "conn_A".into(),
            secret: "sbs_topsecret".into(),
        };
        assert!(!format!("{p:?}").contains("topsecret"));
    }
}
