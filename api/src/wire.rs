//! Response shapes the service's types do not give directly: audit entries are the stored
//! event with its sequence number (the paging cursor for `?after=`) beside its fields.

use serde::Serialize;
use switchboard_domain::entities::AuditEvent;
use switchboard_storage::AuditEntry;

/// An audit event on the wire: `seq` and the event's own fields.
#[derive(Debug, Serialize)]
pub struct AuditRecord {
    /// Position in the log; pass the last one as `?after=` for the next page.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// A page of the audit log as sent.
pub fn audit_page(entries: Vec<AuditEntry>) -> Vec<AuditRecord> {
    entries
        .into_iter()
        .map(|e| AuditRecord {
            seq: e.seq,
            event: e.event,
        })
        .collect()
}
