//! Which table each entity lives in and which index entries it implies. A put compares the
//! old row's entries with the new row's and only touches the difference, so indexes follow
//! every update and delete without callers thinking about them.

use chrono::SecondsFormat;
use redb::{MultimapTableHandle, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_domain::entities::{
    Agreement, AgreementStatus, Channel, Connection, Grant, Notification, Organization,
    PeeringRequest, PeeringStatus, Server, User,
};

use crate::schema::{self, MultiDef, OrderedDef, RowDef, UniqueDef};

/// An entity kept in its own table, keyed by its id.
pub(crate) trait Stored: Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: RowDef;
    /// Its name in errors, e.g. `organization`.
    const WHAT: &'static str;
    /// Its id, the row key.
    fn key(&self) -> &str;
    /// The index entries this value implies.
    fn index_entries(&self) -> Vec<IndexEntry>;
}

/// One entry of one secondary index.
pub(crate) enum IndexEntry {
    /// `key` → many ids.
    Multi {
        table: MultiDef,
        key: String,
        id: String,
    },
    /// `key` → exactly one id; another id claiming it is a conflict named `what`.
    Unique {
        table: UniqueDef,
        key: String,
        id: String,
        what: &'static str,
    },
    /// (`key`, `sort`) → id, scanned in `sort` order.
    Ordered {
        table: OrderedDef,
        key: String,
        sort: String,
        id: String,
    },
}

impl PartialEq for IndexEntry {
    fn eq(&self, other: &Self) -> bool {
        use IndexEntry::*;
        match (self, other) {
            (
                Multi { table, key, id },
                Multi {
                    table: t2,
                    key: k2,
                    id: i2,
                },
            ) => table.name() == t2.name() && key == k2 && id == i2,
            (
                Unique { table, key, id, .. },
                Unique {
                    table: t2,
                    key: k2,
                    id: i2,
                    ..
                },
            ) => table.name() == t2.name() && key == k2 && id == i2,
            (
                Ordered {
                    table,
                    key,
                    sort,
                    id,
                },
                Ordered {
                    table: t2,
                    key: k2,
                    sort: s2,
                    id: i2,
                },
            ) => table.name() == t2.name() && key == k2 && sort == s2 && id == i2,
            _ => false,
        }
    }
}

fn multi(table: MultiDef, key: &str, id: &str) -> IndexEntry {
    IndexEntry::Multi {
        table,
        key: key.to_owned(),
        id: id.to_owned(),
    }
}

fn unique(table: UniqueDef, key: String, id: &str, what: &'static str) -> IndexEntry {
    IndexEntry::Unique {
        table,
        key,
        id: id.to_owned(),
        what,
    }
}

/// Key of an ordered pair of ids, e.g. a pending request from `a` to `b`.
pub(crate) fn ordered_pair(a: &str, b: &str) -> String {
    format!("{a}|{b}")
}

/// Key of an unordered pair of ids: the same for (a, b) and (b, a).
pub(crate) fn unordered_pair(a: &str, b: &str) -> String {
    if a <= b {
        ordered_pair(a, b)
    } else {
        ordered_pair(b, a)
    }
}

/// The form under which e-mail addresses are unique: `Alice@X.org` and `alice@x.org` are the
/// same account.
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Sort key of a notification: its time (fixed-width RFC 3339, so text order is time order)
/// then its id, so equal times still have a stable order.
pub(crate) fn notification_sort(n: &Notification) -> String {
    format!(
        "{}|{}",
        n.at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        n.id.as_str()
    )
}

impl Stored for Organization {
    const TABLE: RowDef = schema::ORGS;
    const WHAT: &'static str = "organization";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        vec![unique(
            schema::ORG_BY_SLUG,
            self.slug.clone(),
            self.key(),
            "organization slug",
        )]
    }
}

impl Stored for User {
    const TABLE: RowDef = schema::USERS;
    const WHAT: &'static str = "user";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        vec![
            unique(
                schema::USER_BY_EMAIL,
                email_key(&self.email),
                self.key(),
                "user e-mail address",
            ),
            multi(schema::USERS_BY_ORG, self.org_id.as_str(), self.key()),
        ]
    }
}

impl Stored for Server {
    const TABLE: RowDef = schema::SERVERS;
    const WHAT: &'static str = "server";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        vec![multi(
            schema::SERVERS_BY_ORG,
            self.org_id.as_str(),
            self.key(),
        )]
    }
}

impl Stored for Channel {
    const TABLE: RowDef = schema::CHANNELS;
    const WHAT: &'static str = "channel";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        vec![multi(
            schema::CHANNELS_BY_SERVER,
            self.server_id.as_str(),
            self.key(),
        )]
    }
}

impl Stored for PeeringRequest {
    const TABLE: RowDef = schema::REQUESTS;
    const WHAT: &'static str = "peering request";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            multi(schema::REQUESTS_BY_FROM, self.from_org.as_str(), self.key()),
            multi(schema::REQUESTS_BY_TO, self.to_org.as_str(), self.key()),
        ];
        if self.status == PeeringStatus::Pending {
            entries.push(unique(
                schema::PENDING_REQUEST_BY_PAIR,
                ordered_pair(self.from_org.as_str(), self.to_org.as_str()),
                self.key(),
                "pending peering request between these organizations",
            ));
        }
        entries
    }
}

impl Stored for Agreement {
    const TABLE: RowDef = schema::AGREEMENTS;
    const WHAT: &'static str = "agreement";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        let parties = self.parties();
        let mut entries: Vec<IndexEntry> = parties
            .iter()
            .map(|org| multi(schema::AGREEMENTS_BY_PARTY, org.as_str(), self.key()))
            .collect();
        if self.status == AgreementStatus::Active {
            entries.push(unique(
                schema::ACTIVE_AGREEMENT_BY_PAIR,
                unordered_pair(self.party_a.as_str(), self.party_b.as_str()),
                self.key(),
                "active agreement between these organizations",
            ));
            if !self.is_self() {
                entries.extend(parties.iter().map(|org| {
                    multi(
                        schema::ACTIVE_PEER_AGREEMENTS_BY_ORG,
                        org.as_str(),
                        self.key(),
                    )
                }));
            }
        }
        entries
    }
}

impl Stored for Grant {
    const TABLE: RowDef = schema::GRANTS;
    const WHAT: &'static str = "grant";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            multi(
                schema::GRANTS_BY_AGREEMENT,
                self.agreement_id.as_str(),
                self.key(),
            ),
            multi(
                schema::GRANTS_BY_CHANNEL,
                self.channel_id.as_str(),
                self.key(),
            ),
            multi(schema::GRANTS_BY_ORG, self.owner_org.as_str(), self.key()),
        ];
        if self.grantee_org != self.owner_org {
            entries.push(multi(
                schema::GRANTS_BY_ORG,
                self.grantee_org.as_str(),
                self.key(),
            ));
        }
        entries
    }
}

impl Stored for Connection {
    const TABLE: RowDef = schema::CONNECTIONS;
    const WHAT: &'static str = "connection";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        let mut entries = vec![
            multi(
                schema::CONNECTIONS_BY_AGREEMENT,
                self.agreement_id.as_str(),
                self.key(),
            ),
            multi(
                schema::CONNECTIONS_BY_SERVER,
                self.target_server_id.as_str(),
                self.key(),
            ),
            multi(
                schema::CONNECTIONS_BY_STATUS,
                self.status.as_str(),
                self.key(),
            ),
        ];
        if let Some(grant) = &self.grant_id {
            entries.push(multi(
                schema::CONNECTIONS_BY_GRANT,
                grant.as_str(),
                self.key(),
            ));
        }
        if let Some(source) = self
            .source_server_id
            .as_ref()
            .filter(|s| **s != self.target_server_id)
        {
            entries.push(multi(
                schema::CONNECTIONS_BY_SERVER,
                source.as_str(),
                self.key(),
            ));
        }
        entries.extend(
            self.parties()
                .iter()
                .map(|org| multi(schema::CONNECTIONS_BY_ORG, org.as_str(), self.key())),
        );
        entries
    }
}

impl Stored for Notification {
    const TABLE: RowDef = schema::NOTIFICATIONS;
    const WHAT: &'static str = "notification";
    fn key(&self) -> &str {
        self.id.as_str()
    }
    fn index_entries(&self) -> Vec<IndexEntry> {
        let ordered = |table| IndexEntry::Ordered {
            table,
            key: self.org_id.as_str().to_owned(),
            sort: notification_sort(self),
            id: self.key().to_owned(),
        };
        let mut entries = vec![ordered(schema::NOTIFICATIONS_BY_ORG)];
        if !self.read {
            entries.push(ordered(schema::UNREAD_NOTIFICATIONS_BY_ORG));
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_keys() {
        assert_eq!(ordered_pair("org_b", "org_a"), "org_b|org_a");
        assert_eq!(unordered_pair("org_b", "org_a"), "org_a|org_b");
        assert_eq!(unordered_pair("org_a", "org_b"), "org_a|org_b");
        assert_eq!(email_key(" Alice@Example.ORG "), "alice@example.org");
    }

    #[test]
    fn entries_compare_by_table_key_and_id() {
        let a = multi(schema::SERVERS_BY_ORG, "org_1", "srv_1");
        assert!(a == multi(schema::SERVERS_BY_ORG, "org_1", "srv_1"));
        assert!(a != multi(schema::USERS_BY_ORG, "org_1", "srv_1"));
        assert!(a != multi(schema::SERVERS_BY_ORG, "org_2", "srv_1"));
        assert!(a != multi(schema::SERVERS_BY_ORG, "org_1", "srv_2"));
    }
}
