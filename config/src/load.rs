//! Loading: the optional TOML file, overlaid by `SWITCHBOARD_*` environment variables, parsed
//! key by key and validated, with every problem collected before returning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::error::{ConfigError, ConfigErrors};
use crate::keys::{self, ENV_ALLOW_LIST, ENV_PREFIX, Key, env_var_name};
use crate::model::Config;
use crate::parse::Raw;
use crate::{suggest, validate};

impl Config {
    /// Loads the configuration: defaults, overlaid by `file` (if given), overlaid by the
    /// `SWITCHBOARD_*` variables in `env`, then validated.
    ///
    /// `env` is every environment variable (the binary passes `std::env::vars()`); variables
    /// without the `SWITCHBOARD_` prefix are ignored, and those with it must name a key or be in
    /// [`ENV_ALLOW_LIST`]. On failure, every problem found is returned, not just the first.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let file_values = match file {
            Some(path) => read_file(path, &mut errors),
            None => HashMap::new(),
        };
        let env_values = read_env(env, &mut errors);

        let mut config = Config::default();
        let mut failed = BTreeSet::new();
        for key in keys::all() {
            let mut effective_failed = false;
            if let Some(value) = file_values.get(key.path)
                && let Err(problem) = (key.set)(&mut config, Raw::Toml(value))
            {
                errors.push(ConfigError::new(key.path, problem));
                effective_failed = true;
            }
            // The environment wins over the file, so its outcome decides whether dependent
            // cross-field rules can run; a bad file value is still reported above.
            if let Some((name, value)) = env_values.get(key.path) {
                effective_failed = false;
                if let Err(problem) = (key.set)(&mut config, Raw::Env(value)) {
                    errors.push(ConfigError::new(name.as_str(), problem));
                    effective_failed = true;
                }
            }
            if effective_failed {
                failed.insert(key.path);
            }
        }

        errors.extend(validate::check(&config, &failed));
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// Reads and flattens the file into known keys, reporting unreadable files, malformed TOML and
/// unknown keys or tables.
fn read_file(path: &Path, errors: &mut Vec<ConfigError>) -> HashMap<&'static str, toml::Value> {
    let file_error = |problem: String| ConfigError::new(path.display().to_string(), problem);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            errors.push(file_error(format!("cannot read config file: {e}")));
            return HashMap::new();
        }
    };
    let table = match text.parse::<toml::Table>() {
        Ok(table) => table,
        Err(e) => {
            errors.push(file_error(describe_toml_error(&text, &e)));
            return HashMap::new();
        }
    };
    let mut values = HashMap::new();
    flatten(table, None, &mut values, errors);
    values
}

/// Walks nested tables down to known keys. A table is entered only when its path is a known
/// table, so `[htpp]` is one "unknown table" error rather than one per key inside it.
fn flatten(
    table: toml::Table,
    prefix: Option<&str>,
    values: &mut HashMap<&'static str, toml::Value>,
    errors: &mut Vec<ConfigError>,
) {
    for (name, value) in table {
        let path = match prefix {
            Some(prefix) => format!("{prefix}.{}", quote_if_dotted(&name)),
            None => quote_if_dotted(&name),
        };
        if let Some(key) = keys::find(&path) {
            values.insert(key.path, value);
        } else if is_table(&path) {
            match value {
                toml::Value::Table(inner) => flatten(inner, Some(&path), values, errors),
                other => errors.push(ConfigError::new(
                    path,
                    format!("expected a table, found {}", other.type_str()),
                )),
            }
        } else {
            let what = match value {
                toml::Value::Table(_) => "unknown table",
                _ => "unknown key",
            };
            let hint = suggest::closest(&path, keys::all().map(|key| key.path))
                .map(|near| format!(" (did you mean {near}?)"))
                .unwrap_or_default();
            errors.push(ConfigError::new(path, format!("{what}{hint}")));
        }
    }
}

/// Splits the environment into key values (keyed by dotted path, with the variable name kept
/// for error messages) and reports unknown `SWITCHBOARD_*` variables, sorted by name.
fn read_env(
    env: impl IntoIterator<Item = (String, String)>,
    errors: &mut Vec<ConfigError>,
) -> HashMap<&'static str, (String, String)> {
    let by_name: HashMap<String, &'static Key> = keys::all()
        .map(|key| (env_var_name(key.path), key))
        .collect();
    let mut values = HashMap::new();
    let mut unknown = BTreeMap::new();
    for (name, value) in env {
        if !name.starts_with(ENV_PREFIX) || ENV_ALLOW_LIST.contains(&name.as_str()) {
            continue;
        }
        match by_name.get(&name) {
            Some(key) => {
                values.insert(key.path, (name, value));
            }
            None => {
                let hint = suggest::closest(&name, by_name.keys().map(String::as_str))
                    .map(|near| format!(" (did you mean {near}?)"))
                    .unwrap_or_default();
                unknown.insert(name, hint);
            }
        }
    }
    errors.extend(unknown.into_iter().map(|(name, hint)| {
        ConfigError::new(
            name,
            format!("unknown configuration environment variable{hint}"),
        )
    }));
    values
}

/// Whether some key lives in the table at `path` or in a table nested inside it.
fn is_table(path: &str) -> bool {
    keys::all().any(|key| {
        key.path
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// A quoted TOML key such as `"http.listen" = ...` must not pass for the dotted path.
fn quote_if_dotted(name: &str) -> String {
    if name.contains('.') {
        format!("{name:?}")
    } else {
        name.to_owned()
    }
}

/// One line: `invalid TOML at line L, column C: message`.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit_once('\n')
                .map_or(before, |(_, last)| last)
                .chars()
                .count()
                + 1;
            format!("invalid TOML at line {line}, column {column}: {message}")
        }
        None => format!("invalid TOML: {message}"),
    }
}
