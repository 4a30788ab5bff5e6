//! Request bodies: read with a hard size limit (413 `too_large`, checked on `Content-Length`
//! first and again on the bytes that actually arrive), and parsed as strict JSON. Unreadable
//! JSON is 400 `bad_request` naming line and column; JSON of the wrong shape (unknown or
//! missing field, wrong type, bad id or enum value) is 422 `invalid` naming the field. Nothing
//! a client sends here can cause a 500.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::HeaderMap;
use hyper::body::Body;
use hyper::header::{self, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;

/// Refuses a body whose declared `Content-Length` exceeds `limit`, before reading it.
pub fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_LENGTH) else {
        return Ok(());
    };
    // hyper has already refused a malformed Content-Length; an unparsable one here is treated
    // as "too large" rather than trusted.
    match value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(n) if n <= limit as u64 => Ok(()),
        _ => Err(ApiError::too_large(limit)),
    }
}

/// Reads the whole body, refusing it as soon as more than `limit` bytes arrived.
pub async fn read_limited<B>(mut body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(ApiError::too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Parses `bytes` as the JSON of `T`. An empty body stands for `{}`, so routes whose fields
/// are all optional (or that take none) accept a bodiless POST. A non-empty body must be
/// declared JSON.
pub fn parse_json<T: DeserializeOwned>(
    bytes: &[u8],
    content_type: Option<&HeaderValue>,
) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        check_content_type(content_type)?;
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        classify(e.into_inner(), &path)
    })?;
    de.end().map_err(|e| classify(e, "."))?;
    Ok(value)
}

/// `{}` and nothing else: the body of a POST that takes no fields.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

fn check_content_type(content_type: Option<&HeaderValue>) -> Result<(), ApiError> {
    let Some(value) = content_type else {
        return Err(ApiError::bad_request(
            "a request body needs `Content-Type: application/json`",
        ));
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "unsupported Content-Type `{}`: send `application/json`",
            value.to_str().unwrap_or("(not text)")
        )))
    }
}

/// Syntax errors are 400; shape errors are 422 with the field's dotted path.
fn classify(err: serde_json::Error, path: &str) -> ApiError {
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(format!(
            "malformed JSON at line {} column {}: {}",
            err.line(),
            err.column(),
            strip_position(&err.to_string()),
        ))
        .with_details(serde_json::json!({ "line": err.line(), "column": err.column() })),
        Category::Data => {
            let text = strip_position(&err.to_string());
            let field = field_of(&text, path);
            let message = match &field {
                Some(f) => format!("{f}: {text}"),
                None => text.clone(),
            };
            ApiError::invalid(field.as_deref(), message)
        }
    }
}

/// The field a shape error is about: the path where it happened, plus the name in "unknown
/// field `x`" or "missing field `x`" (which serde reports at the enclosing object).
fn field_of(message: &str, path: &str) -> Option<String> {
    let parent = if path == "." || path.is_empty() {
        None
    } else {
        Some(path)
    };
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_owned)
        });
    match (parent, named) {
        (Some(p), Some(n)) if p == n || p.ends_with(&format!(".{n}")) => Some(p.to_owned()),
        (Some(p), Some(n)) => Some(format!("{p}.{n}")),
        (None, Some(n)) => Some(n),
        (Some(p), None) => Some(p.to_owned()),
        (None, None) => None,
    }
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default)]
        count: Option<u32>,
        owner: Inner,
    }

    fn json_ct() -> HeaderValue {
        HeaderValue::from_static("application/json; charset=utf-8")
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Outer>(body.as_bytes(), Some(&json_ct())).unwrap_err()
    }

    #[test]
    fn malformed_json_is_400_with_position() {
        let e = err("{\"name\": \"x\",\n  oops}");
        assert_eq!((e.status.as_u16(), e.code), (400, "bad_request"));
        assert!(e.message.contains("line 2 column 3"), "{}", e.message);
        let e = err("{\"name\": \"x\", \"owner\": {\"email\": \"a\"}} trailing");
        assert_eq!(e.code, "bad_request");
        let e = err("{\"name\": ");
        assert_eq!(e.code, "bad_request");
    }

    #[test]
    fn shape_errors_are_422_naming_the_field() {
        let cases = [
            (r#"{"name":"x","owner":{"email":"a"},"extra":1}"#, "extra"),
            (r#"{"owner":{"email":"a"}}"#, "name"),
            (r#"{"name":"x","owner":{"email":"a","zip":1}}"#, "owner.zip"),
            (r#"{"name":"x","owner":{}}"#, "owner.email"),
            (r#"{"name":"x","owner":{"email":5}}"#, "owner.email"),
            (r#"{"name":"x","count":-1,"owner":{"email":"a"}}"#, "count"),
        ];
        for (body, field) in cases {
            let e = err(body);
            assert_eq!((e.status.as_u16(), e.code), (422, "invalid"), "{body}");
            assert_eq!(e.details["field"], field, "{body}: {}", e.message);
            assert!(!e.message.contains(" at line "), "{}", e.message);
        }
        let e = err("[1]");
        assert_eq!(e.code, "invalid");
    }

    #[test]
    fn empty_body_is_an_empty_object_and_content_type_is_checked() {
        assert!(parse_json::<NoFields>(b"", None).is_ok());
        assert!(parse_json::<NoFields>(b"  \n", None).is_ok());
        assert!(parse_json::<NoFields>(b"{}", Some(&json_ct())).is_ok());
        let e = parse_json::<NoFields>(b"{\"a\":1}", Some(&json_ct())).unwrap_err();
        assert_eq!(
            (e.code, e.details["field"].as_str()),
            ("invalid", Some("a"))
        );
        let e = parse_json::<NoFields>(b"{}", None).unwrap_err();
        assert_eq!(e.code, "bad_request");
        let e = parse_json::<NoFields>(b"{}", Some(&HeaderValue::from_static("text/plain")))
            .unwrap_err();
        assert!(e.message.contains("text/plain"));
        assert!(
            parse_json::<NoFields>(
                b"{}",
                Some(&HeaderValue::from_static("application/merge-patch+json"))
            )
            .is_ok()
        );
    }

    #[test]
    fn declared_length_over_the_limit_is_refused() {
        let mut h = HeaderMap::new();
        assert!(check_declared_length(&h, 10).is_ok());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        assert!(check_declared_length(&h, 10).is_ok());
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("11"));
        assert_eq!(check_declared_length(&h, 10).unwrap_err().code, "too_large");
    }

    #[tokio::test]
    async fn streamed_bytes_over_the_limit_are_refused() {
        let body = http_body_util::Full::new(Bytes::from(vec![b'x'; 11]));
        assert_eq!(read_limited(body, 10).await.unwrap_err().code, "too_large");
        let body = http_body_util::Full::new(Bytes::from(vec![b'x'; 10]));
        assert_eq!(read_limited(body, 10).await.unwrap().len(), 10);
    }
}
