//! TURN credentials (SPEC §10), the TURN REST API scheme of coturn's `use-auth-secret`:
//! username `"{expiry_unix}:{connection_id}.{side}"`, password
//! `base64(HMAC-SHA1(turn_secret, username))`. The service issues them in `welcome` and `ice`;
//! the embedded relay (and any coturn sharing the secret) verifies them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use switchboard_domain::entities::Side;
use switchboard_domain::ids::ConnectionId;
use switchboard_protocol::IceServer;

/// What the service needs to hand out TURN credentials.
#[derive(Clone)]
pub struct TurnIssuer {
    /// `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// The shared TURN secret.
    pub secret: Vec<u8>,
    /// How long issued credentials are valid.
    pub ttl: Duration,
}

impl std::fmt::Debug for TurnIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnIssuer")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TurnIssuer {
    /// Credentials for one side of a connection, valid from `now` for the TTL.
    pub fn issue(&self, connection: &ConnectionId, side: Side, now: DateTime<Utc>) -> IceServer {
        let expiry = now.timestamp().saturating_add(self.ttl.as_secs() as i64);
        let username = username(expiry, connection, side);
        IceServer {
            urls: self.urls.clone(),
            credential: Some(password(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// `"{expiry_unix}:{connection_id}.{side}"`.
pub fn username(expiry_unix: i64, connection: &ConnectionId, side: Side) -> String {
    format!("{expiry_unix}:{connection}.{}", side.as_str())
}

/// `base64(HMAC-SHA1(secret, username))`.
pub fn password(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length; the error case cannot happen.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// A TURN username taken apart; `None` if it is not one of ours.
pub fn parse_username(username: &str) -> Option<(i64, ConnectionId, Side)> {
    let (expiry, client) = username.split_once(':')?;
    let expiry: i64 = expiry.parse().ok()?;
    let (id, side) = crate::service::parse_client_id(client)?;
    Some((expiry, id, side))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn coturn_rest_scheme() {
        // The RFC-style example: HMAC-SHA1("secret", "1700000000:user") in base64.
        let mut mac = Hmac::<Sha1>::new_from_slice(b"secret").unwrap();
        mac.update(b"1700000000:user");
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(password(b"secret", "1700000000:user"), expected);
        assert_eq!(expected.len(), 28, "20 bytes of SHA-1 in base64");
        let id = ConnectionId::generate();
        let issuer = TurnIssuer {
            urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
            secret: b"s3cret".to_vec(),
            ttl: Duration::from_secs(3600),
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let server = issuer.issue(&id, Side::Target, now);
        let user = server.username.unwrap();
        assert_eq!(user, format!("1800003600:{id}.target"));
        assert_eq!(server.credential.unwrap(), password(b"s3cret", &user));
        assert_eq!(
            parse_username(&user),
            Some((1_800_003_600, id, Side::Target))
        );
        assert_eq!(parse_username("x:y"), None);
        assert_eq!(parse_username("1800003600"), None);
    }
}
