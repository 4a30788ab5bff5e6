//! The append-only audit log. Event `seq` (1, 2, …) is stored with
//! `hash = HMAC-SHA256(audit_key, prev_hash ‖ seq ‖ canonical_json(event))`, where
//! `prev_hash` is the previous event's hash (32 zero bytes for the first). The head — last
//! `seq` and `hash`, authenticated with the same key — is updated in the same transaction.
//! [`crate::Reader::verify_audit`] recomputes the chain, so an edited, removed or reordered
//! event, or a truncated tail, is detected by anyone who does not hold the master key.
//!
//! There is deliberately no method to edit or delete an event.

use serde_json::Value;
use switchboard_domain::entities::AuditEvent;
use switchboard_domain::ids::OrgId;

use crate::error::{DbContext, StoreError};
use crate::keys::{KEY_LEN, hmac_sha256};
use crate::reader::sealed::Source;
use crate::schema;
use crate::write::WriteTx;

/// Layout version of a stored record (first byte).
const RECORD_FORMAT: u8 = 1;
/// Format byte, seq, prev hash, hash; the canonical event JSON follows.
const RECORD_HEADER: usize = 1 + 8 + KEY_LEN + KEY_LEN;
/// Seq, hash, authentication tag.
const HEAD_LEN: usize = 8 + KEY_LEN + KEY_LEN;
/// Domain separation of the head's tag from event hashes.
const HEAD_LABEL: &[u8] = b"switchboard/v1/audit-head";

/// An audit event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Its sequence number (1 for the first event); use it as a paging cursor.
    pub seq: u64,
    /// The event.
    pub event: AuditEvent,
}

/// What [`crate::Reader::verify_audit`] found wrong with the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditProblem {
    /// The event with this sequence number is not there (removed).
    #[error(
        "the event is missing{}",
        found.map_or_else(|| " at the end of the log".to_owned(), |f| format!(" (next present: {f})"))
    )]
    Missing {
        /// The next sequence number present, `None` if the log ends early.
        found: Option<u64>,
    },
    /// The row holds a record for another position (moved or reordered).
    #[error("the row holds event {recorded} (reordered)")]
    Misplaced {
        /// The sequence number recorded inside the row.
        recorded: u64,
    },
    /// The record's content does not match its hash (edited).
    #[error("its content was altered")]
    Altered,
    /// The record does not link to the previous event's hash (removed or reordered events).
    #[error("it does not link to the previous event")]
    BrokenLink,
    /// The row is not an audit record.
    #[error("the row is not an audit record")]
    Undecodable,
    /// The head is missing.
    #[error("the audit head is missing")]
    HeadMissing,
    /// The head fails authentication (rewritten without the key).
    #[error("the audit head fails authentication")]
    HeadForged,
    /// The head names another last event than the log ends with.
    #[error("the audit head does not match the last event")]
    HeadMismatch,
    /// Events exist beyond the one the head names.
    #[error("events exist beyond the audit head")]
    BeyondHead,
}

/// Why the audit log does not verify, or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditChainError {
    /// The chain is broken at event `seq`.
    #[error("audit chain broken at event {seq}: {problem}")]
    Broken {
        /// The first position found wrong.
        seq: u64,
        /// What is wrong there.
        problem: AuditProblem,
    },
    /// Reading the log failed.
    #[error("cannot read the audit log: {0}")]
    Store(#[from] StoreError),
}

/// The last event's position and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    seq: u64,
    hash: [u8; KEY_LEN],
}

impl Head {
    /// The head of an empty log.
    pub(crate) const EMPTY: Head = Head {
        seq: 0,
        hash: [0; KEY_LEN],
    };

    /// The head as stored: seq, hash and a tag under the audit key.
    pub(crate) fn encode(&self, audit_key: &[u8; KEY_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEAD_LEN);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&self.tag(audit_key));
        out
    }

    fn tag(&self, audit_key: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        hmac_sha256(
            audit_key,
            &[HEAD_LABEL, &self.seq.to_be_bytes(), &self.hash],
        )
    }

    /// Decodes a stored head; `None` if malformed or its tag does not verify.
    fn decode(bytes: &[u8], audit_key: &[u8; KEY_LEN]) -> Option<Head> {
        if bytes.len() != HEAD_LEN {
            return None;
        }
        let (seq, rest) = bytes.split_at(8);
        let (hash, tag) = rest.split_at(KEY_LEN);
        let head = Head {
            seq: u64::from_be_bytes(seq.try_into().ok()?),
            hash: hash.try_into().ok()?,
        };
        let ok = subtle::ConstantTimeEq::ct_eq(&head.tag(audit_key)[..], tag);
        bool::from(ok).then_some(head)
    }
}

impl WriteTx<'_> {
    /// Appends an event to the audit log and returns its sequence number. Refuses to append
    /// to a log whose head fails authentication, so a tampered tail is never re-sealed.
    pub fn append_audit(&mut self, event: &AuditEvent) -> Result<u64, StoreError> {
        let head_bytes = self.row(schema::META, schema::META_AUDIT_HEAD)?;
        let head = head_bytes
            .as_deref()
            .and_then(|b| Head::decode(b, &self.keys.audit))
            .ok_or_else(|| StoreError::Corrupt {
                what: "audit head",
                key: schema::META_AUDIT_HEAD.to_owned(),
                detail: "missing or fails authentication; run verify_audit".to_owned(),
            })?;
        let seq = head.seq + 1;
        let value = serde_json::to_value(event).map_err(|source| StoreError::Encode {
            what: "audit event",
            source,
        })?;
        let json = canonical_json(&value);
        let hash = chain_hash(&self.keys.audit, &head.hash, seq, json.as_bytes());

        let mut record = Vec::with_capacity(RECORD_HEADER + json.len());
        record.push(RECORD_FORMAT);
        record.extend_from_slice(&seq.to_be_bytes());
        record.extend_from_slice(&head.hash);
        record.extend_from_slice(&hash);
        record.extend_from_slice(json.as_bytes());
        {
            let mut t = self
                .tx
                .open_table(schema::AUDIT)
                .ctx("opening the audit log")?;
            t.insert(seq, record.as_slice())
                .ctx("appending to the audit log")?;
        }
        {
            let mut t = self
                .tx
                .open_table(schema::AUDIT_BY_ORG)
                .ctx("opening the audit index")?;
            let mut orgs: Vec<&str> = event.orgs.iter().map(OrgId::as_str).collect();
            orgs.sort_unstable();
            orgs.dedup();
            for org in orgs {
                t.insert((org, seq), ()).ctx("writing the audit index")?;
            }
        }
        let new_head = Head { seq, hash }.encode(&self.keys.audit);
        self.insert_row(schema::META, schema::META_AUDIT_HEAD, &new_head)?;
        Ok(seq)
    }
}

/// A stored record, split into its parts.
struct Record<'a> {
    seq: u64,
    prev: &'a [u8],
    hash: &'a [u8],
    event: &'a [u8],
}

fn parse_record(bytes: &[u8]) -> Option<Record<'_>> {
    let (header, event) = bytes.split_at_checked(RECORD_HEADER)?;
    let (&format, rest) = header.split_first()?;
    if format != RECORD_FORMAT {
        return None;
    }
    let (seq, rest) = rest.split_at(8);
    let (prev, hash) = rest.split_at(KEY_LEN);
    Some(Record {
        seq: u64::from_be_bytes(seq.try_into().ok()?),
        prev,
        hash,
        event,
    })
}

fn decode_entry(seq: u64, bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: "audit event",
        key: seq.to_string(),
        detail,
    };
    let record = parse_record(bytes).ok_or_else(|| corrupt("not an audit record".to_owned()))?;
    let event = serde_json::from_slice(record.event).map_err(|e| corrupt(e.to_string()))?;
    Ok(AuditEntry { seq, event })
}

/// Events concerning `org` after `after`, oldest first.
pub(crate) fn for_org<S: Source + ?Sized>(
    src: &S,
    org: &OrgId,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    src.audit_seqs_of_org(org.as_str(), after, limit)?
        .into_iter()
        .map(|seq| {
            let bytes = src.audit_row(seq)?.ok_or_else(|| StoreError::Corrupt {
                what: "audit event",
                key: seq.to_string(),
                detail: "listed by the organization index but missing".to_owned(),
            })?;
            decode_entry(seq, &bytes)
        })
        .collect()
}

/// All events after `after`, oldest first.
pub(crate) fn all<S: Source + ?Sized>(
    src: &S,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut rows = Vec::new();
    if limit > 0 {
        src.audit_scan(after, &mut |seq, bytes| {
            rows.push((seq, bytes.to_vec()));
            rows.len() < limit
        })?;
    }
    rows.iter()
        .map(|(seq, bytes)| decode_entry(*seq, bytes))
        .collect()
}

/// Walks the whole chain; returns how many events it checked.
pub(crate) fn verify<S: Source + ?Sized>(src: &S) -> Result<u64, AuditChainError> {
    let key = src.keys().audit;
    let mut expected: u64 = 1;
    let mut prev = [0u8; KEY_LEN];
    let mut broken: Option<(u64, AuditProblem)> = None;
    src.audit_scan(0, &mut |seq, bytes| {
        let problem = if seq != expected {
            Some(AuditProblem::Missing { found: Some(seq) })
        } else {
            match parse_record(bytes) {
                None => Some(AuditProblem::Undecodable),
                Some(r) if r.seq != seq => Some(AuditProblem::Misplaced { recorded: r.seq }),
                Some(r) if r.hash != chain_hash(&key, r.prev, r.seq, r.event) => {
                    Some(AuditProblem::Altered)
                }
                Some(r) if r.prev != prev => Some(AuditProblem::BrokenLink),
                Some(r) => {
                    prev.copy_from_slice(r.hash);
                    None
                }
            }
        };
        match problem {
            Some(problem) => {
                broken = Some((expected, problem));
                false
            }
            None => {
                expected += 1;
                true
            }
        }
    })?;
    if let Some((seq, problem)) = broken {
        return Err(AuditChainError::Broken { seq, problem });
    }
    let last = expected - 1;
    let broken = |seq, problem| Err(AuditChainError::Broken { seq, problem });
    let Some(head_bytes) = src.row(schema::META, schema::META_AUDIT_HEAD)? else {
        return broken(last, AuditProblem::HeadMissing);
    };
    let Some(head) = Head::decode(&head_bytes, &key) else {
        return broken(last, AuditProblem::HeadForged);
    };
    if head.seq > last {
        return broken(last + 1, AuditProblem::Missing { found: None });
    }
    if head.seq < last {
        return broken(head.seq + 1, AuditProblem::BeyondHead);
    }
    if head.hash != prev {
        return broken(last, AuditProblem::HeadMismatch);
    }
    Ok(last)
}

fn chain_hash(key: &[u8; KEY_LEN], prev: &[u8], seq: u64, event: &[u8]) -> [u8; KEY_LEN] {
    hmac_sha256(key, &[prev, &seq.to_be_bytes(), event])
}

/// JSON with object keys sorted at every level and no whitespace, whatever serde_json's
/// map ordering feature says, so the same event always hashes the same.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"z": [ {"y": 2, "x": "é\""} ], "c": null}}"#)
                .unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"z":[{"x":"é\"","y":2}]},"b":1}"#
        );
    }

    #[test]
    fn head_round_trips_and_refuses_forgery() {
        let keys = MasterKey::generate().derive();
        let head = Head {
            seq: 42,
            hash: [7; KEY_LEN],
        };
        let bytes = head.encode(&keys.audit);
        assert_eq!(Head::decode(&bytes, &keys.audit), Some(head));
        let mut forged = bytes.clone();
        forged[7] = 41;
        assert_eq!(Head::decode(&forged, &keys.audit), None);
        assert_eq!(Head::decode(&bytes[1..], &keys.audit), None);
        let other = MasterKey::generate().derive();
        assert_eq!(Head::decode(&bytes, &other.audit), None);
    }

    #[test]
    fn missing_problem_messages() {
        assert_eq!(
            AuditProblem::Missing { found: Some(9) }.to_string(),
            "the event is missing (next present: 9)"
        );
        assert_eq!(
            AuditProblem::Missing { found: None }.to_string(),
            "the event is missing at the end of the log"
        );
    }
}
