//! The audit log: append-only, paged per organization and overall, and `verify_audit` finds
//! every edit, removal and reordering made to the file behind the store's back.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use redb::ReadableDatabase;
use switchboard_domain::ids::OrgId;
use switchboard_storage::{AuditChainError, AuditProblem, Reader, StoreError};

/// Offsets inside a stored record: format byte, seq, prev hash, hash, event JSON.
const SEQ_AT: usize = 1;
const HASH_AT: usize = 1 + 8 + 32;
const EVENT_AT: usize = 1 + 8 + 32 + 32;

/// A closed store with `n` events; event `i` (1-based) concerns org `a` when odd, `b` when
/// even, and both when a multiple of 3.
fn closed_log(n: u64) -> (Fixture, OrgId, OrgId) {
    let mut fx = Fixture::new();
    let (a, b) = (OrgId::generate(), OrgId::generate());
    fx.write(|tx| {
        for i in 1..=n {
            let orgs: Vec<&OrgId> = match (i % 3, i % 2) {
                (0, _) => vec![&a, &b, &a],
                (_, 1) => vec![&a],
                _ => vec![&b],
            };
            assert_eq!(
                tx.append_audit(&audit_event(&orgs, &format!("act.{i}")))?,
                i
            );
        }
        Ok(())
    });
    fx.close();
    (fx, a, b)
}

fn raw_audit(fx: &Fixture, seq: u64) -> Vec<u8> {
    let db = redb::Database::open(&fx.path).unwrap();
    let tx = db.begin_read().unwrap();
    let t = tx.open_table(RAW_AUDIT).unwrap();
    t.get(seq).unwrap().unwrap().value().to_vec()
}

fn put_raw_audit(fx: &Fixture, seq: u64, bytes: &[u8]) {
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_AUDIT)
            .unwrap()
            .insert(seq, bytes)
            .unwrap();
    });
}

fn remove_raw_audit(fx: &Fixture, seq: u64) {
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_AUDIT).unwrap().remove(seq).unwrap();
    });
}

fn verify(fx: &mut Fixture) -> Result<u64, AuditChainError> {
    fx.reopen();
    let result = fx.store().read().unwrap().verify_audit();
    fx.close();
    result
}

fn assert_broken(result: Result<u64, AuditChainError>, seq: u64, problem: AuditProblem) {
    match result {
        Err(AuditChainError::Broken { seq: s, problem: p }) => {
            assert_eq!(
                (s, &p),
                (seq, &problem),
                "{}",
                AuditChainError::Broken {
                    seq: s,
                    problem: p.clone()
                }
            );
        }
        other => panic!("expected a break at {seq} ({problem}), got {other:?}"),
    }
}

#[test]
fn appends_number_events_and_queries_page_through_them() {
    let (mut fx, a, b) = closed_log(9);
    fx.reopen();
    let r = fx.store().read().unwrap();
    let seqs =
        |v: Vec<switchboard_storage::AuditEntry>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(r.audit_all(None, 100).unwrap()),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(seqs(r.audit_all(Some(4), 3).unwrap()), vec![5, 6, 7]);
    assert_eq!(seqs(r.audit_all(Some(9), 3).unwrap()), Vec::<u64>::new());
    assert_eq!(seqs(r.audit_all(None, 0).unwrap()), Vec::<u64>::new());
    assert_eq!(
        seqs(r.audit_for_org(&a, None, 100).unwrap()),
        vec![1, 3, 5, 6, 7, 9]
    );
    assert_eq!(
        seqs(r.audit_for_org(&b, None, 100).unwrap()),
        vec![2, 3, 4, 6, 8, 9]
    );
    assert_eq!(seqs(r.audit_for_org(&b, Some(3), 2).unwrap()), vec![4, 6]);
    assert!(
        r.audit_for_org(&OrgId::generate(), None, 10)
            .unwrap()
            .is_empty()
    );
    let first = &r.audit_all(None, 1).unwrap()[0];
    assert_eq!(first.event.action, "act.1");
    assert_eq!(first.event.details["ratio"], 0.1);
    assert_eq!(r.verify_audit().unwrap(), 9);
}

#[test]
fn an_empty_log_verifies() {
    let fx = Fixture::new();
    assert_eq!(fx.store().read().unwrap().verify_audit().unwrap(), 0);
}

#[test]
fn an_edited_event_is_detected() {
    let (mut fx, _, _) = closed_log(6);
    let mut row = raw_audit(&fx, 3);
    let json = String::from_utf8(row[EVENT_AT..].to_vec()).unwrap();
    let edited = json.replace("act.3", "act.X");
    assert_ne!(json, edited);
    row.truncate(EVENT_AT);
    row.extend_from_slice(edited.as_bytes());
    put_raw_audit(&fx, 3, &row);
    assert_broken(verify(&mut fx), 3, AuditProblem::Altered);
}

#[test]
fn a_removed_middle_event_is_detected() {
    let (mut fx, _, _) = closed_log(6);
    remove_raw_audit(&fx, 3);
    assert_broken(verify(&mut fx), 3, AuditProblem::Missing { found: Some(4) });
}

#[test]
fn a_removed_first_event_is_detected() {
    let (mut fx, _, _) = closed_log(3);
    remove_raw_audit(&fx, 1);
    assert_broken(verify(&mut fx), 1, AuditProblem::Missing { found: Some(2) });
}

#[test]
fn a_removed_last_event_is_detected_and_the_head_cannot_be_rewound() {
    let (mut fx, _, _) = closed_log(6);
    let fifth = raw_audit(&fx, 5);
    remove_raw_audit(&fx, 6);
    assert_broken(verify(&mut fx), 6, AuditProblem::Missing { found: None });

    // Appending on top must not re-seal the truncated chain: the gap stays visible.
    fx.reopen();
    let seq = fx
        .store()
        .write(|tx| tx.append_audit(&audit_event(&[], "after")))
        .unwrap();
    assert_eq!(seq, 7);
    fx.close();
    assert_broken(verify(&mut fx), 6, AuditProblem::Missing { found: Some(7) });
    remove_raw_audit(&fx, 7);

    // Rewinding the head to event 5 without the key is a forgery.
    let mut head = Vec::new();
    head.extend_from_slice(&5u64.to_be_bytes());
    head.extend_from_slice(&fifth[HASH_AT..HASH_AT + 32]);
    head.extend_from_slice(&[0u8; 32]);
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_META)
            .unwrap()
            .insert("audit_head", head.as_slice())
            .unwrap();
    });
    assert_broken(verify(&mut fx), 5, AuditProblem::HeadForged);
    // And nothing can be appended on a forged head.
    fx.reopen();
    let err = fx
        .store()
        .write(|tx| tx.append_audit(&audit_event(&[], "after")))
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                what: "audit head",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn reordered_events_are_detected() {
    let (mut fx, _, _) = closed_log(6);
    let (two, three) = (raw_audit(&fx, 2), raw_audit(&fx, 3));
    put_raw_audit(&fx, 2, &three);
    put_raw_audit(&fx, 3, &two);
    assert_broken(verify(&mut fx), 2, AuditProblem::Misplaced { recorded: 3 });

    // Also rewriting the sequence numbers inside the rows breaks their hashes.
    let mut two_as_three = two.clone();
    two_as_three[SEQ_AT..SEQ_AT + 8].copy_from_slice(&3u64.to_be_bytes());
    let mut three_as_two = three.clone();
    three_as_two[SEQ_AT..SEQ_AT + 8].copy_from_slice(&2u64.to_be_bytes());
    put_raw_audit(&fx, 2, &three_as_two);
    put_raw_audit(&fx, 3, &two_as_three);
    assert_broken(verify(&mut fx), 2, AuditProblem::Altered);

    // Restored, it verifies again.
    put_raw_audit(&fx, 2, &two);
    put_raw_audit(&fx, 3, &three);
    assert_eq!(verify(&mut fx).unwrap(), 6);
}

#[test]
fn a_record_replaced_by_another_events_valid_record_breaks_the_link() {
    let (mut fx, _, _) = closed_log(6);
    // Event 3's record is valid on its own (its hash verifies), but not at position 4.
    let three = raw_audit(&fx, 3);
    put_raw_audit(&fx, 4, &three);
    assert_broken(verify(&mut fx), 4, AuditProblem::Misplaced { recorded: 3 });
}

#[test]
fn a_deleted_head_and_an_undecodable_row_are_detected() {
    let (mut fx, _, _) = closed_log(3);
    put_raw_audit(&fx, 2, b"nonsense");
    assert_broken(verify(&mut fx), 2, AuditProblem::Undecodable);
    let (mut fx, _, _) = closed_log(3);
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_META)
            .unwrap()
            .remove("audit_head")
            .unwrap();
    });
    assert_broken(verify(&mut fx), 3, AuditProblem::HeadMissing);
}

#[test]
fn a_log_under_another_key_does_not_verify() {
    // The chain is keyed: a store whose audit rows were produced under another master key
    // (e.g. spliced in from another deployment) fails at the first event.
    let (mut fx, _, _) = closed_log(2);
    let (other, _, _) = closed_log(2);
    let foreign = raw_audit(&other, 1);
    put_raw_audit(&fx, 1, &foreign);
    assert_broken(verify(&mut fx), 1, AuditProblem::Altered);
}
