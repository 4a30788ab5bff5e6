//! Every getter and index query, as default methods of the [`Reader`] trait, so a read
//! transaction ([`ReadTx`]) and a write transaction ([`crate::WriteTx`], which sees its own
//! uncommitted writes) answer the same questions the same way. Lists come back in id order,
//! which is creation order because ids embed a ULID.

use switchboard_domain::entities::{
    Agreement, Channel, Connection, Grant, Notification, Organization, PeeringRequest, Server, User,
};
use switchboard_domain::ids::{
    AgreementId, ChannelId, ConnectionId, GrantId, NotificationId, OrgId, PeeringRequestId,
    ServerId, UserId,
};

use crate::audit::{self, AuditChainError, AuditEntry};
use crate::credentials::SharedSecret;
use crate::error::StoreError;
use crate::index::{self, Stored};
use crate::keys::SubKeys;
use crate::schema::{self, MultiDef};
use crate::secrets;
use crate::tokens::{self, RegistrationRecord, TokenRecord};

pub(crate) mod sealed {
    //! The table primitives both transaction kinds provide; private so `Reader` cannot be
    //! implemented outside this crate.

    use crate::error::StoreError;
    use crate::keys::SubKeys;
    use crate::schema::{MultiDef, OrderedDef, RowDef, UniqueDef};

    /// Raw reads on the store's tables.
    pub trait Source {
        /// The derived keys (verifier, token hash, audit, seal).
        fn keys(&self) -> &SubKeys;
        /// One row's bytes.
        fn row(&self, table: RowDef, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
        /// Every row of a table, in key order.
        fn all_rows(&self, table: RowDef) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
        /// The id a unique index holds for `key`.
        fn unique_get(&self, table: UniqueDef, key: &str) -> Result<Option<String>, StoreError>;
        /// The ids a multimap index holds for `key`, in id order.
        fn multi_get(&self, table: MultiDef, key: &str) -> Result<Vec<String>, StoreError>;
        /// How many ids a multimap index holds for `key`.
        fn multi_count(&self, table: MultiDef, key: &str) -> Result<u64, StoreError>;
        /// Up to `limit` ids of an ordered index for `key`, highest sort key first.
        fn ordered_newest(
            &self,
            table: OrderedDef,
            key: &str,
            limit: usize,
        ) -> Result<Vec<String>, StoreError>;
        /// One audit record's bytes.
        fn audit_row(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError>;
        /// Visits audit records with a sequence number above `after`, in order, while `visit`
        /// returns true.
        fn audit_scan(
            &self,
            after: u64,
            visit: &mut dyn FnMut(u64, &[u8]) -> bool,
        ) -> Result<(), StoreError>;
        /// Up to `limit` sequence numbers above `after` of the events concerning `org`.
        fn audit_seqs_of_org(
            &self,
            org: &str,
            after: u64,
            limit: usize,
        ) -> Result<Vec<u64>, StoreError>;
    }
}

/// The queries available on both transaction kinds. Import it to call them:
/// `use switchboard_storage::Reader;`.
pub trait Reader: sealed::Source {
    /// An organization by id.
    fn get_org(&self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        load(self, id.as_str())
    }

    /// The organization with this slug.
    fn org_by_slug(&self, slug: &str) -> Result<Option<Organization>, StoreError> {
        by_unique(self, schema::ORG_BY_SLUG, slug)
    }

    /// Every organization (platform admin listing).
    fn list_orgs(&self) -> Result<Vec<Organization>, StoreError> {
        load_all(self)
    }

    /// A user by id.
    fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        load(self, id.as_str())
    }

    /// The user with this e-mail address, compared case-insensitively.
    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        by_unique(self, schema::USER_BY_EMAIL, &index::email_key(email))
    }

    /// The members of an organization.
    fn users_of_org(&self, org: &OrgId) -> Result<Vec<User>, StoreError> {
        by_multi(self, schema::USERS_BY_ORG, org.as_str())
    }

    /// Every user account (platform admin listing).
    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        load_all(self)
    }

    /// A server by id.
    fn get_server(&self, id: &ServerId) -> Result<Option<Server>, StoreError> {
        load(self, id.as_str())
    }

    /// The servers of an organization.
    fn servers_of_org(&self, org: &OrgId) -> Result<Vec<Server>, StoreError> {
        by_multi(self, schema::SERVERS_BY_ORG, org.as_str())
    }

    /// How many servers an organization has (tier limit `servers`).
    fn count_servers_of_org(&self, org: &OrgId) -> Result<u32, StoreError> {
        count(self, schema::SERVERS_BY_ORG, org.as_str())
    }

    /// A channel by id.
    fn get_channel(&self, id: &ChannelId) -> Result<Option<Channel>, StoreError> {
        load(self, id.as_str())
    }

    /// The channels of a server.
    fn channels_of_server(&self, server: &ServerId) -> Result<Vec<Channel>, StoreError> {
        by_multi(self, schema::CHANNELS_BY_SERVER, server.as_str())
    }

    /// How many channels a server has (tier limit `channels_per_server`).
    fn count_channels_of_server(&self, server: &ServerId) -> Result<u32, StoreError> {
        count(self, schema::CHANNELS_BY_SERVER, server.as_str())
    }

    /// A peering request by id.
    fn get_peering_request(
        &self,
        id: &PeeringRequestId,
    ) -> Result<Option<PeeringRequest>, StoreError> {
        load(self, id.as_str())
    }

    /// Requests an organization sent, whatever their status.
    fn peering_outbox(&self, org: &OrgId) -> Result<Vec<PeeringRequest>, StoreError> {
        by_multi(self, schema::REQUESTS_BY_FROM, org.as_str())
    }

    /// Requests an organization received, whatever their status.
    fn peering_inbox(&self, org: &OrgId) -> Result<Vec<PeeringRequest>, StoreError> {
        by_multi(self, schema::REQUESTS_BY_TO, org.as_str())
    }

    /// The pending request from `from` to `to`, if any (at most one exists).
    fn pending_request_between(
        &self,
        from: &OrgId,
        to: &OrgId,
    ) -> Result<Option<PeeringRequest>, StoreError> {
        let key = index::ordered_pair(from.as_str(), to.as_str());
        by_unique(self, schema::PENDING_REQUEST_BY_PAIR, &key)
    }

    /// An agreement by id.
    fn get_agreement(&self, id: &AgreementId) -> Result<Option<Agreement>, StoreError> {
        load(self, id.as_str())
    }

    /// Every agreement an organization is a party to, active or revoked.
    fn agreements_of_org(&self, org: &OrgId) -> Result<Vec<Agreement>, StoreError> {
        by_multi(self, schema::AGREEMENTS_BY_PARTY, org.as_str())
    }

    /// The active agreement between two organizations, in either direction.
    fn active_agreement_between(
        &self,
        a: &OrgId,
        b: &OrgId,
    ) -> Result<Option<Agreement>, StoreError> {
        let key = index::unordered_pair(a.as_str(), b.as_str());
        by_unique(self, schema::ACTIVE_AGREEMENT_BY_PAIR, &key)
    }

    /// The organization's active self-agreement.
    fn active_self_agreement(&self, org: &OrgId) -> Result<Option<Agreement>, StoreError> {
        self.active_agreement_between(org, org)
    }

    /// How many active agreements with other organizations an org has (tier limit `peers`).
    fn count_active_peer_agreements(&self, org: &OrgId) -> Result<u32, StoreError> {
        count(self, schema::ACTIVE_PEER_AGREEMENTS_BY_ORG, org.as_str())
    }

    /// A grant by id.
    fn get_grant(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        load(self, id.as_str())
    }

    /// The grants of an agreement.
    fn grants_of_agreement(&self, agreement: &AgreementId) -> Result<Vec<Grant>, StoreError> {
        by_multi(self, schema::GRANTS_BY_AGREEMENT, agreement.as_str())
    }

    /// The grants of a channel.
    fn grants_of_channel(&self, channel: &ChannelId) -> Result<Vec<Grant>, StoreError> {
        by_multi(self, schema::GRANTS_BY_CHANNEL, channel.as_str())
    }

    /// The grants an organization owns the channel of, or is the grantee of.
    fn grants_of_org(&self, org: &OrgId) -> Result<Vec<Grant>, StoreError> {
        by_multi(self, schema::GRANTS_BY_ORG, org.as_str())
    }

    /// A connection by id.
    fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        load(self, id.as_str())
    }

    /// The connections derived from an agreement.
    fn connections_of_agreement(
        &self,
        agreement: &AgreementId,
    ) -> Result<Vec<Connection>, StoreError> {
        by_multi(self, schema::CONNECTIONS_BY_AGREEMENT, agreement.as_str())
    }

    /// The connections provisioned from a grant.
    fn connections_of_grant(&self, grant: &GrantId) -> Result<Vec<Connection>, StoreError> {
        by_multi(self, schema::CONNECTIONS_BY_GRANT, grant.as_str())
    }

    /// The connections whose source or target is a server.
    fn connections_of_server(&self, server: &ServerId) -> Result<Vec<Connection>, StoreError> {
        by_multi(self, schema::CONNECTIONS_BY_SERVER, server.as_str())
    }

    /// The connections an organization is a party to.
    fn connections_of_org(&self, org: &OrgId) -> Result<Vec<Connection>, StoreError> {
        by_multi(self, schema::CONNECTIONS_BY_ORG, org.as_str())
    }

    /// The connections whose status is `status` (e.g. every open admin offer).
    fn connections_with_status(
        &self,
        status: switchboard_domain::entities::ConnectionStatus,
    ) -> Result<Vec<Connection>, StoreError> {
        by_multi(self, schema::CONNECTIONS_BY_STATUS, status.as_str())
    }

    /// A notification by id.
    fn get_notification(&self, id: &NotificationId) -> Result<Option<Notification>, StoreError> {
        load(self, id.as_str())
    }

    /// Up to `limit` notifications of an organization, newest first; only unread ones if
    /// `unread_only`.
    fn notifications_for_org(
        &self,
        org: &OrgId,
        unread_only: bool,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let table = if unread_only {
            schema::UNREAD_NOTIFICATIONS_BY_ORG
        } else {
            schema::NOTIFICATIONS_BY_ORG
        };
        let ids = self.ordered_newest(table, org.as_str(), limit)?;
        load_listed(self, table.to_string(), ids)
    }

    /// Whether `candidate` is the current secret of the connection, compared in constant time.
    /// An unknown connection, or one whose secret was deleted, is `false`.
    fn verify_secret(
        &self,
        connection: &ConnectionId,
        candidate: &str,
    ) -> Result<bool, StoreError> {
        secrets::verify(self, connection, candidate)
    }

    /// The current secret's plaintext, or `None` if there is no secret or its plaintext was
    /// forgotten. A sealed copy that fails authentication is an error, never garbage.
    fn reveal_secret(&self, connection: &ConnectionId) -> Result<Option<SharedSecret>, StoreError> {
        secrets::reveal(self, connection)
    }

    /// The generation of the stored secret, `None` if there is none.
    fn secret_generation(&self, connection: &ConnectionId) -> Result<Option<u32>, StoreError> {
        secrets::generation(self, connection)
    }

    /// The record of an API token presented by a caller, `None` if unknown.
    fn lookup_api_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        tokens::lookup_api(self, token)
    }

    /// The record of a registration token presented by a plugin, `None` if unknown. Expiry
    /// and `used` are the caller's to check.
    fn lookup_registration_token(
        &self,
        token: &str,
    ) -> Result<Option<RegistrationRecord>, StoreError> {
        tokens::lookup_registration(self, token)
    }

    /// Up to `limit` audit events concerning `org` with a sequence number above `after_seq`,
    /// oldest first (pass the last seen `seq` to page on).
    fn audit_for_org(
        &self,
        org: &OrgId,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::for_org(self, org, after_seq.unwrap_or(0), limit)
    }

    /// Up to `limit` audit events with a sequence number above `after_seq`, oldest first.
    fn audit_all(
        &self,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        audit::all(self, after_seq.unwrap_or(0), limit)
    }

    /// Recomputes the audit chain and checks it against the head; returns how many events were
    /// checked, or the first problem found (edited, removed or reordered events).
    fn verify_audit(&self) -> Result<u64, AuditChainError> {
        audit::verify(self)
    }

    /// A value the binary stored with [`crate::WriteTx::put_meta`].
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.row(schema::APP_META, key)
    }
}

/// A read-only snapshot of the store. Holding it does not block writers, but keeps the pages
/// of its snapshot from being reused, so do not keep it for long.
pub struct ReadTx {
    /// The redb snapshot.
    pub(crate) tx: redb::ReadTransaction,
    /// The derived keys, shared with the store.
    pub(crate) keys: std::sync::Arc<SubKeys>,
}

impl std::fmt::Debug for ReadTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadTx")
    }
}

/// Implements [`sealed::Source`] for a transaction wrapper whose `tx` field has redb's
/// `open_table` / `open_multimap_table` (both kinds do, with the same shape).
macro_rules! impl_source {
    ($ty:ty) => {
        impl $crate::reader::sealed::Source for $ty {
            fn keys(&self) -> &$crate::keys::SubKeys {
                &self.keys
            }

            fn row(
                &self,
                table: $crate::schema::RowDef,
                key: &str,
            ) -> Result<Option<Vec<u8>>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_table(table).ctx("opening a table")?;
                let row = redb::ReadableTable::get(&t, key).ctx("reading a row")?;
                Ok(row.map(|v| v.value().to_vec()))
            }

            fn all_rows(
                &self,
                table: $crate::schema::RowDef,
            ) -> Result<Vec<(String, Vec<u8>)>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_table(table).ctx("opening a table")?;
                let mut rows = Vec::new();
                for row in redb::ReadableTable::iter(&t).ctx("listing a table")? {
                    let (k, v) = row.ctx("listing a table")?;
                    rows.push((k.value().to_owned(), v.value().to_vec()));
                }
                Ok(rows)
            }

            fn unique_get(
                &self,
                table: $crate::schema::UniqueDef,
                key: &str,
            ) -> Result<Option<String>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_table(table).ctx("opening an index")?;
                let id = redb::ReadableTable::get(&t, key).ctx("reading an index")?;
                Ok(id.map(|v| v.value().to_owned()))
            }

            fn multi_get(
                &self,
                table: $crate::schema::MultiDef,
                key: &str,
            ) -> Result<Vec<String>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_multimap_table(table).ctx("opening an index")?;
                let mut ids = Vec::new();
                for id in redb::ReadableMultimapTable::get(&t, key).ctx("reading an index")? {
                    ids.push(id.ctx("reading an index")?.value().to_owned());
                }
                Ok(ids)
            }

            fn multi_count(
                &self,
                table: $crate::schema::MultiDef,
                key: &str,
            ) -> Result<u64, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_multimap_table(table).ctx("opening an index")?;
                Ok(redb::ReadableMultimapTable::get(&t, key)
                    .ctx("counting an index")?
                    .len())
            }

            fn ordered_newest(
                &self,
                table: $crate::schema::OrderedDef,
                key: &str,
                limit: usize,
            ) -> Result<Vec<String>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self.tx.open_table(table).ctx("opening an index")?;
                // Sort keys are ASCII, so U+10FFFF is above every one of them.
                let range = redb::ReadableTable::range(&t, (key, "")..=(key, "\u{10FFFF}"))
                    .ctx("scanning an index")?;
                let mut ids = Vec::new();
                for entry in range.rev().take(limit) {
                    let (_, id) = entry.ctx("scanning an index")?;
                    ids.push(id.value().to_owned());
                }
                Ok(ids)
            }

            fn audit_row(&self, seq: u64) -> Result<Option<Vec<u8>>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self
                    .tx
                    .open_table($crate::schema::AUDIT)
                    .ctx("opening the audit log")?;
                let row = redb::ReadableTable::get(&t, seq).ctx("reading the audit log")?;
                Ok(row.map(|v| v.value().to_vec()))
            }

            fn audit_scan(
                &self,
                after: u64,
                visit: &mut dyn FnMut(u64, &[u8]) -> bool,
            ) -> Result<(), $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self
                    .tx
                    .open_table($crate::schema::AUDIT)
                    .ctx("opening the audit log")?;
                let Some(start) = after.checked_add(1) else {
                    return Ok(());
                };
                for row in redb::ReadableTable::range(&t, start..).ctx("scanning the audit log")? {
                    let (seq, record) = row.ctx("scanning the audit log")?;
                    if !visit(seq.value(), record.value()) {
                        break;
                    }
                }
                Ok(())
            }

            fn audit_seqs_of_org(
                &self,
                org: &str,
                after: u64,
                limit: usize,
            ) -> Result<Vec<u64>, $crate::error::StoreError> {
                use $crate::error::DbContext;
                let t = self
                    .tx
                    .open_table($crate::schema::AUDIT_BY_ORG)
                    .ctx("opening the audit index")?;
                let Some(start) = after.checked_add(1) else {
                    return Ok(Vec::new());
                };
                let mut seqs = Vec::new();
                for entry in redb::ReadableTable::range(&t, (org, start)..=(org, u64::MAX))
                    .ctx("scanning the audit index")?
                    .take(limit)
                {
                    let (key, _) = entry.ctx("scanning the audit index")?;
                    seqs.push(key.value().1);
                }
                Ok(seqs)
            }
        }

        impl $crate::reader::Reader for $ty {}
    };
}
pub(crate) use impl_source;

impl_source!(ReadTx);

/// Decodes a stored row of `E`.
pub(crate) fn decode<E: Stored>(key: &str, bytes: &[u8]) -> Result<E, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: E::WHAT,
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

/// Loads one entity by id.
pub(crate) fn load<E: Stored, S: sealed::Source + ?Sized>(
    src: &S,
    id: &str,
) -> Result<Option<E>, StoreError> {
    src.row(E::TABLE, id)?
        .map(|bytes| decode(id, &bytes))
        .transpose()
}

/// Loads every entity of a table.
fn load_all<E: Stored, S: sealed::Source + ?Sized>(src: &S) -> Result<Vec<E>, StoreError> {
    src.all_rows(E::TABLE)?
        .iter()
        .map(|(id, bytes)| decode(id, bytes))
        .collect()
}

/// Loads the entities an index lists; a listed id without a row means the file was altered.
fn load_listed<E: Stored, S: sealed::Source + ?Sized>(
    src: &S,
    index: String,
    ids: Vec<String>,
) -> Result<Vec<E>, StoreError> {
    ids.into_iter()
        .map(|id| {
            load(src, &id)?.ok_or_else(|| StoreError::Corrupt {
                what: E::WHAT,
                detail: format!("listed by index {index} but missing"),
                key: id,
            })
        })
        .collect()
}

fn by_unique<E: Stored, S: sealed::Source + ?Sized>(
    src: &S,
    table: schema::UniqueDef,
    key: &str,
) -> Result<Option<E>, StoreError> {
    let Some(id) = src.unique_get(table, key)? else {
        return Ok(None);
    };
    load_listed(src, table.to_string(), vec![id]).map(|mut v| v.pop())
}

fn by_multi<E: Stored, S: sealed::Source + ?Sized>(
    src: &S,
    table: MultiDef,
    key: &str,
) -> Result<Vec<E>, StoreError> {
    let ids = src.multi_get(table, key)?;
    load_listed(src, table.to_string(), ids)
}

fn count<S: sealed::Source + ?Sized>(
    src: &S,
    table: MultiDef,
    key: &str,
) -> Result<u32, StoreError> {
    let n = src.multi_count(table, key)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
