//! Query strings: decoded once, checked against the route's declared parameters (anything
//! else is 422, so a misspelt filter is not silently ignored), and read as typed values.

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::routes::QueryParam;

/// Default page size of lists that take `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest `limit` accepted, so one request cannot ask for the whole log.
pub const MAX_LIMIT: usize = 1000;

/// A request's decoded query parameters.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `raw` (without the `?`) and refuses parameters the route does not declare and
    /// repeated ones.
    pub fn parse(raw: Option<&str>, allowed: &[QueryParam]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.iter().any(|p| p.name == name) {
                let known: Vec<&str> = allowed.iter().map(|p| p.name).collect();
                let message = if known.is_empty() {
                    format!("unknown query parameter `{name}`: this route takes none")
                } else {
                    format!(
                        "unknown query parameter `{name}`, expected one of {}",
                        known.join(", ")
                    )
                };
                return Err(ApiError::invalid(Some(name), message));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::invalid(
                    Some(name),
                    format!("`{name}` is given twice"),
                ));
            }
        }
        Ok(Query { pairs })
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean (`true`/`false`/`1`/`0`), `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(_) => Err(ApiError::invalid(
                Some(name),
                format!("`{name}` must be true or false"),
            )),
        }
    }

    /// A non-negative integer, `None` when absent.
    pub fn integer(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::invalid(
                        Some(name),
                        format!("`{name}` must be a non-negative integer"),
                    )
                })
            })
            .transpose()
    }

    /// `limit`: [`DEFAULT_LIMIT`] when absent, 1..=[`MAX_LIMIT`] otherwise.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.integer("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
            Some(_) => Err(ApiError::invalid(
                Some("limit"),
                format!("`limit` must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// A snake_case enum value (`status=active`), `None` when absent or empty.
    pub fn enumeration<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => serde_json::from_value(serde_json::Value::String(v.to_owned()))
                .map(Some)
                .map_err(|e| {
                    let text = e.to_string();
                    ApiError::invalid(Some(name), format!("`{name}`: {text}"))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::entities::ConnectionStatus;

    use super::*;

    const P: &[QueryParam] = &[
        QueryParam {
            name: "limit",
            kind: "integer",
            description: "",
        },
        QueryParam {
            name: "unread",
            kind: "boolean",
            description: "",
        },
        QueryParam {
            name: "status",
            kind: "string",
            description: "",
        },
    ];

    #[test]
    fn typed_values() {
        let q = Query::parse(Some("limit=5&unread=true&status=active"), P).unwrap();
        assert_eq!(q.limit().unwrap(), 5);
        assert!(q.flag("unread", false).unwrap());
        assert_eq!(
            q.enumeration::<ConnectionStatus>("status").unwrap(),
            Some(ConnectionStatus::Active)
        );
        let q = Query::parse(None, P).unwrap();
        assert_eq!(q.limit().unwrap(), DEFAULT_LIMIT);
        assert!(!q.flag("unread", false).unwrap());
    }

    #[test]
    fn bad_values_are_422() {
        for raw in ["limit=0", "limit=1001", "limit=x", "limit=-1"] {
            let e = Query::parse(Some(raw), P).unwrap().limit().unwrap_err();
            assert_eq!(
                (e.code, e.details["field"].as_str()),
                ("invalid", Some("limit")),
                "{raw}"
            );
        }
        let e = Query::parse(Some("unread=yes"), P)
            .unwrap()
            .flag("unread", false)
            .unwrap_err();
        assert_eq!(e.code, "invalid");
        let e = Query::parse(Some("status=gone"), P)
            .unwrap()
            .enumeration::<ConnectionStatus>("status")
            .unwrap_err();
        assert_eq!(e.details["field"], "status");
        let e = Query::parse(Some("unread_only=1"), P).unwrap_err();
        assert_eq!(e.details["field"], "unread_only");
        let e = Query::parse(Some("limit=1&limit=2"), P).unwrap_err();
        assert_eq!(e.code, "invalid");
    }
}
