//! Opening refuses what it must, clearly and without touching the file: another master key,
//! another schema version, a damaged or truncated file, a file another handle holds.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::fs;
use std::io::{Seek, SeekFrom, Write};

use common::*;
use switchboard_storage::{MasterKey, OpenError, Reader, SCHEMA_VERSION, Store};

/// A closed store holding one organization; returns the fixture and the org's slug.
fn closed_store_with_data() -> Fixture {
    let mut fx = Fixture::new();
    let a = org("acme");
    fx.write(|tx| {
        tx.put_org(&a)?;
        for i in 0..50 {
            tx.put_notification(&notification(&a.id, i))?;
        }
        tx.append_audit(&audit_event(&[&a.id], "org.create"))
            .map(|_| ())
    });
    fx.close();
    fx
}

fn assert_data_intact(fx: &mut Fixture) {
    fx.reopen();
    let r = fx.store().read().unwrap();
    assert!(r.org_by_slug("acme").unwrap().is_some());
    assert_eq!(r.verify_audit().unwrap(), 1);
}

#[test]
fn wrong_key_is_refused_and_nothing_is_overwritten() {
    let mut fx = closed_store_with_data();
    let err = Store::open(&fx.path, MasterKey::generate()).unwrap_err();
    assert!(matches!(err, OpenError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("different master key"));
    assert!(err.to_string().contains(&fx.path.display().to_string()));
    assert_data_intact(&mut fx);
}

#[test]
fn key_file_round_trip_opens_the_same_store() {
    let mut fx = closed_store_with_data();
    let key_path = fx.dir.path().join("keys/master.key");
    // A store keyed by a key file reopens with the loaded key.
    let key = MasterKey::create(&key_path).unwrap();
    let other = fx.dir.path().join("other.redb");
    Store::open(&other, key).unwrap();
    let loaded = MasterKey::load(&key_path).unwrap();
    let s = Store::open(&other, loaded).unwrap();
    assert_eq!(s.read().unwrap().list_orgs().unwrap(), vec![]);
    assert_data_intact(&mut fx);
}

#[test]
fn other_schema_version_is_refused_and_left_as_found() {
    let mut fx = closed_store_with_data();
    tamper(&fx.path, |tx| {
        let mut meta = tx.open_table(RAW_META).unwrap();
        meta.insert("schema_version", &2u32.to_be_bytes()[..])
            .unwrap();
    });
    match Store::open(&fx.path, fx.key.clone()).unwrap_err() {
        OpenError::SchemaMismatch {
            found, expected, ..
        } => {
            assert_eq!(found, Some(2));
            assert_eq!(expected, SCHEMA_VERSION);
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        raw_get(&fx.path, RAW_META, "schema_version"),
        Some(2u32.to_be_bytes().to_vec()),
        "the version was not rewritten"
    );
    // Missing version.
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_META)
            .unwrap()
            .remove("schema_version")
            .unwrap();
    });
    let err = Store::open(&fx.path, fx.key.clone()).unwrap_err();
    assert!(
        matches!(err, OpenError::SchemaMismatch { found: None, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("none"));
    // Put it back: the data was never touched.
    tamper(&fx.path, |tx| {
        let mut meta = tx.open_table(RAW_META).unwrap();
        meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes()[..])
            .unwrap();
    });
    assert_data_intact(&mut fx);
}

#[test]
fn a_redb_file_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(redb::TableDefinition::<&str, u64>::new("things"))
            .unwrap()
            .insert("x", 1)
            .unwrap();
        tx.commit().unwrap();
    }
    let err = Store::open(&path, MasterKey::generate()).unwrap_err();
    assert!(
        matches!(err, OpenError::SchemaMismatch { found: None, .. }),
        "{err}"
    );
}

fn assert_refused_as_damaged(fx: &Fixture, what: &str) {
    let before = fs::read(&fx.path).unwrap();
    let err = Store::open(&fx.path, fx.key.clone()).expect_err(what);
    assert!(
        matches!(err, OpenError::Corrupt { .. } | OpenError::Io { .. }),
        "{what}: {err:?}"
    );
    eprintln!("{what}: {err}");
    assert!(err.to_string().contains(&fx.path.display().to_string()));
    assert_eq!(fs::read(&fx.path).unwrap(), before, "{what}: file modified");
}

#[test]
fn truncated_file_is_a_clear_error_and_is_not_modified() {
    let fx = closed_store_with_data();
    let len = fs::metadata(&fx.path).unwrap().len();
    for keep in [len / 2, 4096, 100, 0] {
        let f = fs::OpenOptions::new().write(true).open(&fx.path).unwrap();
        f.set_len(keep).unwrap();
        drop(f);
        assert_refused_as_damaged(&fx, &format!("truncated to {keep}"));
    }
}

#[test]
fn overwritten_bytes_are_a_clear_error_and_are_not_modified() {
    let fx = closed_store_with_data();
    let original = fs::read(&fx.path).unwrap();
    let len = original.len() as u64;
    // The header, then every other page of the file: each is either refused cleanly or (when
    // the page held nothing live) opens with the data intact. Never a panic or silent loss.
    let mut refused = 0;
    let mut offsets = vec![0, 64, 512];
    offsets.extend((4096..len).step_by(8192));
    for offset in offsets {
        fs::write(&fx.path, &original).unwrap();
        let mut f = fs::OpenOptions::new().write(true).open(&fx.path).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(&[0xA5; 256]).unwrap();
        drop(f);
        let before = fs::read(&fx.path).unwrap();
        match Store::open(&fx.path, fx.key.clone()) {
            Err(OpenError::Corrupt { .. } | OpenError::Io { .. }) => {
                refused += 1;
                assert_eq!(fs::read(&fx.path).unwrap(), before, "offset {offset}");
            }
            Err(other) => panic!("offset {offset}: unexpected {other:?}"),
            Ok(store) => {
                let r = store.read().unwrap();
                assert!(r.org_by_slug("acme").unwrap().is_some(), "offset {offset}");
                assert_eq!(r.verify_audit().unwrap(), 1, "offset {offset}");
            }
        }
    }
    eprintln!("refused {refused} of the overwritten files");
    assert!(refused >= 1, "overwriting the header must be refused");
    fs::write(&fx.path, &original).unwrap();
    let mut f = fs::OpenOptions::new().write(true).open(&fx.path).unwrap();
    f.write_all(&[0u8; 512]).unwrap();
    drop(f);
    assert_refused_as_damaged(&fx, "header zeroed");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(
        &path,
        "these are not the bytes you are looking for\n".repeat(200),
    )
    .unwrap();
    let before = fs::read(&path).unwrap();
    let err = Store::open(&path, MasterKey::generate()).unwrap_err();
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_second_opener_is_refused_while_the_first_holds_the_file() {
    let mut fx = Fixture::new();
    let err = Store::open(&fx.path, fx.key.clone()).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("already open"));
    fx.close();
    fx.reopen();
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/store.redb");
    let err = Store::open(&path, MasterKey::generate()).unwrap_err();
    assert!(matches!(err, OpenError::Io { .. }), "{err:?}");
}
