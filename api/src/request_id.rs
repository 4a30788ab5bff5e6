//! Request ids: a client's `x-request-id` is kept when it is sane (at most 64 characters of
//! `A-Za-z0-9-_`, so it cannot inject anything into logs or headers), otherwise a ULID is
//! made. The id is echoed on the response and recorded on the request's tracing span.

use hyper::HeaderMap;
use hyper::header::HeaderName;

/// The header carrying the id both ways.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client id kept.
pub const MAX_LEN: usize = 64;

/// The client's id if sane, else a fresh one.
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v))
        .map_or_else(|| ulid::Ulid::new().to_string(), str::to_owned)
}

fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    #[test]
    fn sane_ids_are_kept_others_replaced() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h).len(), 26);
        h.insert(&REQUEST_ID, HeaderValue::from_static("abc-DEF_123"));
        assert_eq!(from_headers(&h), "abc-DEF_123");
        for bad in ["", "a b", "x\"y", "ä", &"a".repeat(65)] {
            if let Ok(v) = HeaderValue::from_str(bad) {
                h.insert(&REQUEST_ID, v);
                assert_ne!(from_headers(&h), bad, "{bad:?}");
            }
        }
        h.insert(&REQUEST_ID, HeaderValue::from_str(&"a".repeat(64)).unwrap());
        assert_eq!(from_headers(&h), "a".repeat(64));
    }
}
