//! The write transaction: puts and deletes of entities, each of which keeps every secondary
//! index in step (a put reads the old row, removes the index entries it no longer implies and
//! adds the new ones), plus [`WriteTx::apply_changes`] for a domain [`ChangeSet`]. Secrets,
//! tokens and the audit log add their methods in their own modules.
//!
//! A put refused with [`StoreError::Conflict`] writes nothing, so a closure may handle the
//! conflict and still commit what it did before; after any other error, return it (abort).

use switchboard_domain::ChangeSet;
use switchboard_domain::entities::{
    Agreement, Channel, Connection, Grant, Notification, Organization, PeeringRequest, Server, User,
};
use switchboard_domain::ids::{ChannelId, NotificationId, OrgId, ServerId, UserId};

use redb::ReadableTable;

use crate::error::{DbContext, StoreError};
use crate::index::{IndexEntry, Stored};
use crate::keys::SubKeys;
use crate::reader::impl_source;
use crate::reader::sealed::Source;
use crate::reader::{self};
use crate::schema::{self, MultiDef, RowDef};

/// A write transaction, handed to the closure of [`crate::Store::write`]. It commits when the
/// closure returns `Ok` and is discarded when it returns `Err`. All [`crate::Reader`] queries
/// work on it and see its own writes.
pub struct WriteTx<'s> {
    /// The redb transaction; only one is open at a time per store.
    pub(crate) tx: redb::WriteTransaction,
    /// The derived keys, borrowed from the store.
    pub(crate) keys: &'s SubKeys,
}

impl std::fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTx")
    }
}

impl_source!(WriteTx<'_>);

impl WriteTx<'_> {
    /// Creates or replaces an organization. A slug held by another organization is
    /// [`StoreError::Conflict`].
    pub fn put_org(&mut self, org: &Organization) -> Result<(), StoreError> {
        self.put_entity(org)
    }

    /// Creates or replaces a user. An e-mail address (case-insensitive) held by another user
    /// is [`StoreError::Conflict`].
    pub fn put_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.put_entity(user)
    }

    /// Deletes a user and every API token of that user; returns whether the user existed.
    pub fn delete_user(&mut self, id: &UserId) -> Result<bool, StoreError> {
        let existed = self.delete_entity::<User>(id.as_str())?;
        self.delete_tokens_of_user(id)?;
        Ok(existed)
    }

    /// Creates or replaces a server.
    pub fn put_server(&mut self, server: &Server) -> Result<(), StoreError> {
        self.put_entity(server)
    }

    /// Deletes a server; returns whether it existed. Refusing to delete a server with live
    /// connections or channels is the domain's job.
    pub fn delete_server(&mut self, id: &ServerId) -> Result<bool, StoreError> {
        self.delete_entity::<Server>(id.as_str())
    }

    /// Creates or replaces a channel.
    pub fn put_channel(&mut self, channel: &Channel) -> Result<(), StoreError> {
        self.put_entity(channel)
    }

    /// Deletes a channel; returns whether it existed.
    pub fn delete_channel(&mut self, id: &ChannelId) -> Result<bool, StoreError> {
        self.delete_entity::<Channel>(id.as_str())
    }

    /// Creates or replaces a peering request. A second pending request for the same ordered
    /// pair of organizations is [`StoreError::Conflict`].
    pub fn put_peering_request(&mut self, request: &PeeringRequest) -> Result<(), StoreError> {
        self.put_entity(request)
    }

    /// Creates or replaces an agreement. A second active agreement between the same two
    /// organizations (or a second active self-agreement) is [`StoreError::Conflict`].
    pub fn put_agreement(&mut self, agreement: &Agreement) -> Result<(), StoreError> {
        self.put_entity(agreement)
    }

    /// Creates or replaces a grant.
    pub fn put_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.put_entity(grant)
    }

    /// Creates or replaces a connection.
    pub fn put_connection(&mut self, connection: &Connection) -> Result<(), StoreError> {
        self.put_entity(connection)
    }

    /// Creates or replaces a notification.
    pub fn put_notification(&mut self, notification: &Notification) -> Result<(), StoreError> {
        self.put_entity(notification)
    }

    /// Deletes a notification; returns whether it existed.
    pub fn delete_notification(&mut self, id: &NotificationId) -> Result<bool, StoreError> {
        self.delete_entity::<Notification>(id.as_str())
    }

    /// Marks a notification of `org` as read. Returns false, changing nothing, if there is no
    /// such notification or it belongs to another organization.
    pub fn mark_notification_read(
        &mut self,
        org: &OrgId,
        id: &NotificationId,
    ) -> Result<bool, StoreError> {
        let Some(mut n) = reader::load::<Notification, _>(self, id.as_str())? else {
            return Ok(false);
        };
        if &n.org_id != org {
            return Ok(false);
        }
        if !n.read {
            n.read = true;
            self.put_entity(&n)?;
        }
        Ok(true)
    }

    /// Writes everything a domain rule decided: requests, agreements, grants, connections,
    /// notifications, and the audit events (appended in order). Returns the audit sequence
    /// numbers. The effects are the caller's to carry out after the commit.
    pub fn apply_changes(&mut self, changes: &ChangeSet) -> Result<Vec<u64>, StoreError> {
        for r in &changes.requests {
            self.put_peering_request(r)?;
        }
        for a in &changes.agreements {
            self.put_agreement(a)?;
        }
        for g in &changes.grants {
            self.put_grant(g)?;
        }
        for c in &changes.connections {
            self.put_connection(c)?;
        }
        for n in &changes.notifications {
            self.put_notification(n)?;
        }
        changes.audit.iter().map(|e| self.append_audit(e)).collect()
    }

    /// Stores a small value for the binary (e.g. `platform_admin_created`). These keys live
    /// apart from the store's own bookkeeping, which callers cannot overwrite.
    pub fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.insert_row(schema::APP_META, key, value)
    }

    /// Writes `entity` and moves its index entries from the old row's to the new row's. Every
    /// unique entry is checked before anything is written, so a conflict changes nothing.
    pub(crate) fn put_entity<E: Stored>(&mut self, entity: &E) -> Result<(), StoreError> {
        let id = entity.key();
        let old_entries = reader::load::<E, _>(self, id)?
            .map(|old| old.index_entries())
            .unwrap_or_default();
        let new_entries = entity.index_entries();
        let fresh: Vec<&IndexEntry> = new_entries
            .iter()
            .filter(|e| !old_entries.contains(e))
            .collect();
        for entry in &fresh {
            if let IndexEntry::Unique {
                table,
                key,
                id,
                what,
            } = entry
                && self
                    .unique_get(*table, key)?
                    .is_some_and(|held| &held != id)
            {
                return Err(StoreError::Conflict { what });
            }
        }
        let bytes = serde_json::to_vec(entity).map_err(|source| StoreError::Encode {
            what: E::WHAT,
            source,
        })?;
        self.insert_row(E::TABLE, id, &bytes)?;
        for stale in old_entries.iter().filter(|e| !new_entries.contains(e)) {
            self.remove_entry(stale)?;
        }
        for entry in fresh {
            self.insert_entry(entry)?;
        }
        Ok(())
    }

    /// Deletes the row `id` of `E` and its index entries; returns whether it existed.
    pub(crate) fn delete_entity<E: Stored>(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = reader::load::<E, _>(self, id)? else {
            return Ok(false);
        };
        self.remove_row(E::TABLE, id)?;
        for entry in old.index_entries() {
            self.remove_entry(&entry)?;
        }
        Ok(true)
    }

    pub(crate) fn insert_row(
        &mut self,
        table: RowDef,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let mut t = self.tx.open_table(table).ctx("opening a table")?;
        t.insert(key, value).ctx("writing a row")?;
        Ok(())
    }

    pub(crate) fn remove_row(&mut self, table: RowDef, key: &str) -> Result<bool, StoreError> {
        let mut t = self.tx.open_table(table).ctx("opening a table")?;
        let removed = t.remove(key).ctx("deleting a row")?;
        Ok(removed.is_some())
    }

    pub(crate) fn multi_insert(
        &mut self,
        table: MultiDef,
        key: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let mut t = self.tx.open_multimap_table(table).ctx("opening an index")?;
        t.insert(key, id).ctx("writing an index")?;
        Ok(())
    }

    pub(crate) fn multi_remove(
        &mut self,
        table: MultiDef,
        key: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let mut t = self.tx.open_multimap_table(table).ctx("opening an index")?;
        t.remove(key, id).ctx("writing an index")?;
        Ok(())
    }

    fn insert_entry(&mut self, entry: &IndexEntry) -> Result<(), StoreError> {
        match entry {
            IndexEntry::Multi { table, key, id } => self.multi_insert(*table, key, id),
            IndexEntry::Unique { table, key, id, .. } => {
                let mut t = self.tx.open_table(*table).ctx("opening an index")?;
                t.insert(key.as_str(), id.as_str())
                    .ctx("writing an index")?;
                Ok(())
            }
            IndexEntry::Ordered {
                table,
                key,
                sort,
                id,
            } => {
                let mut t = self.tx.open_table(*table).ctx("opening an index")?;
                t.insert((key.as_str(), sort.as_str()), id.as_str())
                    .ctx("writing an index")?;
                Ok(())
            }
        }
    }

    fn remove_entry(&mut self, entry: &IndexEntry) -> Result<(), StoreError> {
        match entry {
            IndexEntry::Multi { table, key, id } => self.multi_remove(*table, key, id),
            IndexEntry::Unique { table, key, id, .. } => {
                let mut t = self.tx.open_table(*table).ctx("opening an index")?;
                // Only remove the entry if it is still ours.
                let held = t
                    .get(key.as_str())
                    .ctx("reading an index")?
                    .is_some_and(|v| v.value() == id.as_str());
                if held {
                    t.remove(key.as_str()).ctx("writing an index")?;
                }
                Ok(())
            }
            IndexEntry::Ordered {
                table, key, sort, ..
            } => {
                let mut t = self.tx.open_table(*table).ctx("opening an index")?;
                t.remove((key.as_str(), sort.as_str()))
                    .ctx("writing an index")?;
                Ok(())
            }
        }
    }
}
