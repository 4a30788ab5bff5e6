//! The commented default configuration file printed by [`default_toml`].

use std::fmt::Write as _;

use crate::keys::{self, TABLES, env_var_name};
use crate::model::Config;

/// Width comment text is wrapped to, excluding the `# ` prefix.
const COMMENT_WIDTH: usize = 90;

const HEADER: &str = "Switchboard configuration. Every key is optional; the values below are the \
    built-in defaults. Each key can also be set with the environment variable named above it, \
    which takes precedence over this file. Durations are whole seconds (keys ending in _secs), \
    sizes are bytes, and every count, limit, duration and size must be at least 1.";

/// A complete, commented configuration file holding every key at its default value, grouped
/// by table, each key preceded by its documentation and environment variable.
///
/// Loading the result gives [`Config::default()`].
pub fn default_toml() -> String {
    render(&Config::default())
}

fn render(config: &Config) -> String {
    let mut out = String::new();
    comment(&mut out, HEADER);
    let mut current_table = None;
    for key in keys::all() {
        if key.table() != current_table {
            current_table = key.table();
            if let Some(table) = current_table {
                out.push('\n');
                if let Some((_, doc)) = TABLES.iter().find(|(name, _)| *name == table) {
                    comment(&mut out, doc);
                }
                // Writing to a String cannot fail.
                let _ = writeln!(out, "[{table}]");
            }
        }
        out.push('\n');
        comment(&mut out, key.doc);
        comment(&mut out, &format!("env: {}", env_var_name(key.path)));
        let _ = writeln!(out, "{} = {}", key.name(), (key.get)(config));
    }
    out
}

/// Appends `text` as `# `-prefixed lines wrapped at [`COMMENT_WIDTH`].
fn comment(out: &mut String, text: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > COMMENT_WIDTH {
            out.push_str("# ");
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str("# ");
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_appears_once_with_its_env_var() {
        let text = default_toml();
        for key in keys::all() {
            let env = format!("# env: {}\n", env_var_name(key.path));
            assert_eq!(text.matches(&env).count(), 1, "{}", key.path);
        }
    }

    #[test]
    fn every_table_is_documented_and_headed_once() {
        let text = default_toml();
        let tables: Vec<_> = keys::all().filter_map(|key| key.table()).collect();
        for table in &tables {
            assert!(
                TABLES.iter().any(|(name, _)| name == table),
                "no doc for [{table}]"
            );
            assert_eq!(
                text.matches(&format!("\n[{table}]\n")).count(),
                1,
                "[{table}]"
            );
        }
        assert_eq!(TABLES.len(), {
            let mut unique = tables.clone();
            unique.dedup();
            unique.len()
        });
    }

    #[test]
    fn comments_are_wrapped() {
        for line in default_toml().lines() {
            assert!(line.chars().count() <= COMMENT_WIDTH + 2, "{line}");
        }
    }

    /// `docs/configuration.md` must carry the key table exactly as the registry describes it.
    #[test]
    fn docs_key_table_matches_registry() {
        let defaults = Config::default();
        let mut table =
            String::from("| Key | Default | Environment variable | Meaning |\n|---|---|---|---|\n");
        for key in keys::all() {
            let doc = key.doc.replace('<', "&lt;").replace('>', "&gt;");
            let _ = writeln!(
                table,
                "| `{}` | `{}` | `{}` | {doc} |",
                key.path,
                (key.get)(&defaults),
                env_var_name(key.path)
            );
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
        let docs = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            docs.contains(&table),
            "{path} must contain this table:\n\n{table}"
        );
    }
}
