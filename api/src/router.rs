//! Matching a request's method and path against [`ROUTES`]: a route with its path
//! parameters, or "no such path" (404) or "path exists, method does not" (405 with the
//! methods that do).

use crate::routes::{ROUTES, Route, Verb};

/// The outcome of matching one request.
#[derive(Debug)]
pub enum Match {
    /// A route, with the path segments its `{…}` placeholders matched, in order.
    Found {
        /// The route.
        route: &'static Route,
        /// The matched segments.
        params: Vec<String>,
    },
    /// The path matches routes, none with this method.
    MethodNotAllowed {
        /// The methods the path does serve.
        allowed: Vec<Verb>,
    },
    /// No route has this path.
    NotFound,
}

impl Match {
    /// The label logs and metrics use: the route's name, or a fixed label for misses so
    /// probing random paths cannot blow up the metrics' cardinality.
    pub fn label(&self) -> &'static str {
        match self {
            Match::Found { route, .. } => route.name,
            Match::MethodNotAllowed { .. } => "method_not_allowed",
            Match::NotFound => "not_found",
        }
    }
}

/// Finds the route for `verb` (`None` for a method no route serves) and `path`. When several
/// templates match (`/v1/connections/admin` and `/v1/connections/{id}`), only the most
/// specific ones (fewest placeholders) count, for the match and for `Allow` alike.
pub fn find(verb: Option<Verb>, path: &str) -> Match {
    let matches: Vec<(&'static Route, Vec<&str>)> = ROUTES
        .iter()
        .filter_map(|route| match_template(route.path, path).map(|params| (route, params)))
        .collect();
    let Some(fewest) = matches.iter().map(|(_, params)| params.len()).min() else {
        return Match::NotFound;
    };
    let mut allowed = Vec::new();
    for (route, params) in matches.into_iter().filter(|(_, p)| p.len() == fewest) {
        if Some(route.verb) == verb {
            return Match::Found {
                route,
                params: params.into_iter().map(str::to_owned).collect(),
            };
        }
        if !allowed.contains(&route.verb) {
            allowed.push(route.verb);
        }
    }
    allowed.sort_by_key(|v| Verb::ALL.iter().position(|a| a == v));
    Match::MethodNotAllowed { allowed }
}

/// The placeholder segments of `path` if it fits `template` segment for segment.
fn match_template<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') => {
                if ps.is_empty() {
                    return None;
                }
                params.push(ps);
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::RouteId;

    fn found(verb: Verb, path: &str) -> (RouteId, Vec<String>) {
        match find(Some(verb), path) {
            Match::Found { route, params } => (route.id, params),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn literal_paths_beat_placeholders() {
        assert_eq!(
            found(Verb::Post, "/v1/connections/admin").0,
            RouteId::OfferAdmin
        );
        assert_eq!(
            found(Verb::Get, "/v1/connections/conn_x"),
            (RouteId::GetConnection, vec!["conn_x".to_owned()])
        );
        assert_eq!(
            found(Verb::Post, "/v1/connections/conn_x/secret/view").0,
            RouteId::ViewSecret
        );
    }

    #[test]
    fn misses() {
        assert!(matches!(find(Some(Verb::Get), "/v1/nope"), Match::NotFound));
        assert!(matches!(
            find(Some(Verb::Get), "/v1/servers/"),
            Match::NotFound
        ));
        assert!(matches!(
            find(Some(Verb::Get), "/v1/servers//channels"),
            Match::NotFound
        ));
        assert!(matches!(
            find(Some(Verb::Get), "/healthz/"),
            Match::NotFound
        ));
        match find(Some(Verb::Put), "/v1/servers/srv_x") {
            Match::MethodNotAllowed { allowed } => {
                assert_eq!(allowed, vec![Verb::Get, Verb::Patch, Verb::Delete]);
            }
            other => panic!("{other:?}"),
        }
        match find(Some(Verb::Get), "/v1/connections/admin") {
            Match::MethodNotAllowed { allowed } => {
                assert_eq!(
                    allowed,
                    vec![Verb::Post],
                    "the literal route alone decides `Allow`"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find(None, "/healthz"),
            Match::MethodNotAllowed { .. }
        ));
    }
}
