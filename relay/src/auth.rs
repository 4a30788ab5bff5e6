//! The TURN authentication callback: a username must be one of ours
//! (`"{expiry}:{connection_id}.{side}"`), unexpired, issued after the connection's last
//! revocation, for a connection that accepts gateways, under its allocation quota. Then the
//! long-term key is derived from the REST password. The callback is synchronous (the `turn`
//! crate's contract); the connection check is a store snapshot read of a few microseconds.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use switchboard_actors::turn::{parse_username, password};
use switchboard_domain::ids::ConnectionId;

/// Whether a connection may use the relay now (its status is `active` or `paused`).
pub type Policy = Arc<dyn Fn(&ConnectionId) -> bool + Send + Sync>;

/// The credential and policy check, and what it remembers per connection.
pub struct Auth {
    secret: Vec<u8>,
    ttl_secs: i64,
    max_allocations: usize,
    policy: Policy,
    /// Credentials issued before this unix time are refused (set by a revocation).
    not_before: DashMap<ConnectionId, i64>,
    /// Usernames that authenticated, so a connection's allocations can be found and deleted.
    usernames: DashMap<ConnectionId, HashSet<String>>,
    /// Allocations per connection, as last counted by the accounting task.
    pub(crate) allocations: DashMap<ConnectionId, usize>,
}

/// Why a TURN request was refused (the metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not `"{expiry}:{connection}.{side}"`.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Issued before the connection's secret was rotated or it was terminated.
    Revoked,
    /// The connection is not `active`/`paused`, or does not exist.
    NotUsable,
    /// The connection holds more allocations than allowed.
    Quota,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::NotUsable => "not_usable",
            Refusal::Quota => "quota",
        }
    }
}

impl Auth {
    /// A check with `secret` under `policy`.
    pub fn new(secret: Vec<u8>, ttl_secs: i64, max_allocations: usize, policy: Policy) -> Self {
        Auth {
            secret,
            ttl_secs,
            max_allocations,
            policy,
            not_before: DashMap::new(),
            usernames: DashMap::new(),
            allocations: DashMap::new(),
        }
    }

    /// Checks `username` at unix time `now`; the connection on success.
    pub fn check(&self, username: &str, now: i64) -> Result<ConnectionId, Refusal> {
        let (expiry, connection, _side) = parse_username(username).ok_or(Refusal::Unknown)?;
        if expiry <= now {
            return Err(Refusal::Expired);
        }
        if let Some(not_before) = self.not_before.get(&connection)
            && expiry - self.ttl_secs < *not_before
        {
            return Err(Refusal::Revoked);
        }
        if !(self.policy)(&connection) {
            return Err(Refusal::NotUsable);
        }
        if self
            .allocations
            .get(&connection)
            .is_some_and(|n| *n > self.max_allocations)
        {
            return Err(Refusal::Quota);
        }
        self.usernames
            .entry(connection.clone())
            .or_default()
            .insert(username.to_owned());
        Ok(connection)
    }

    /// Refuses the connection's credentials issued until now and forgets its usernames,
    /// returning them (their allocations are to be deleted).
    pub fn revoke(&self, connection: &ConnectionId, now: i64) -> Vec<String> {
        self.not_before.insert(connection.clone(), now + 1);
        self.usernames
            .remove(connection)
            .map(|(_, names)| names.into_iter().collect())
            .unwrap_or_default()
    }

    /// Forgets usernames that have expired (called by the accounting task).
    pub fn prune(&self, now: i64) {
        self.usernames.retain(|_, names| {
            names.retain(|u| parse_username(u).is_some_and(|(expiry, _, _)| expiry > now));
            !names.is_empty()
        });
        self.not_before.retain(|_, t| *t + self.ttl_secs > now);
    }
}

impl turn::auth::AuthHandler for Auth {
    fn auth_handle(
        &self,
        username: &str,
        realm: &str,
        src_addr: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        match self.check(username, unix_now()) {
            Ok(_) => Ok(turn::auth::generate_auth_key(
                username,
                realm,
                &password(&self.secret, username),
            )),
            Err(refusal) => {
                metrics::counter!("switchboard_relay_auth_failures_total", "reason" => refusal.as_str())
                    .increment(1);
                tracing::info!(%src_addr, username = %username.escape_debug(), reason = refusal.as_str(), "TURN request refused");
                Err(turn::Error::Other(format!("refused: {}", refusal.as_str())))
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_actors::turn::username;
    use switchboard_domain::entities::Side;

    fn auth(usable: bool) -> Auth {
        Auth::new(b"k".to_vec(), 3600, 2, Arc::new(move |_| usable))
    }

    #[test]
    fn expiry_revocation_policy_and_quota() {
        let c = ConnectionId::generate();
        let a = auth(true);
        let now = 1_800_000_000;
        let fresh = username(now + 3600, &c, Side::Source);
        assert_eq!(a.check(&fresh, now), Ok(c.clone()));
        assert_eq!(
            a.check(&username(now, &c, Side::Source), now),
            Err(Refusal::Expired)
        );
        assert_eq!(a.check("nobody", now), Err(Refusal::Unknown));
        assert_eq!(
            a.check(&format!("{}:x.source", now + 5), now),
            Err(Refusal::Unknown)
        );
        // Revocation: the earlier credential is refused, one issued afterwards is not.
        assert_eq!(a.revoke(&c, now + 10), vec![fresh.clone()]);
        assert_eq!(a.check(&fresh, now + 20), Err(Refusal::Revoked));
        let later = username(now + 20 + 3600, &c, Side::Source);
        assert_eq!(a.check(&later, now + 20), Ok(c.clone()));
        // Quota: more than 2 allocations held refuses further requests.
        a.allocations.insert(c.clone(), 3);
        assert_eq!(a.check(&later, now + 20), Err(Refusal::Quota));
        // Not usable.
        assert_eq!(auth(false).check(&later, now + 20), Err(Refusal::NotUsable));
    }
}
