//! Connection secrets at rest: verified in constant time against a keyed verifier, revealed
//! from the sealed copy until forgotten, replaced by rotation, and a tampered sealed copy is
//! an error rather than a wrong secret.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchboard_domain::ids::ConnectionId;
use switchboard_storage::{Reader, SharedSecret, StoreError};

#[test]
fn verify_good_bad_and_unknown() {
    let fx = Fixture::new();
    let conn = ConnectionId::generate();
    let secret = SharedSecret::generate();
    fx.write(|tx| tx.set_secret(&conn, 0, &secret));
    let r = fx.store().read().unwrap();
    assert!(r.verify_secret(&conn, secret.as_str()).unwrap());
    assert!(
        !r.verify_secret(&conn, SharedSecret::generate().as_str())
            .unwrap()
    );
    assert!(!r.verify_secret(&conn, "").unwrap());
    assert!(!r.verify_secret(&conn, &secret.as_str()[..20]).unwrap());
    assert!(
        !r.verify_secret(&ConnectionId::generate(), secret.as_str())
            .unwrap()
    );
    assert_eq!(r.secret_generation(&conn).unwrap(), Some(0));
}

#[test]
fn reveal_until_forgotten_then_verify_still_works() {
    let mut fx = Fixture::new();
    let conn = ConnectionId::generate();
    let secret = SharedSecret::generate();
    fx.write(|tx| tx.set_secret(&conn, 0, &secret));
    fx.reopen();
    let r = fx.store().read().unwrap();
    assert_eq!(r.reveal_secret(&conn).unwrap(), Some(secret.clone()));
    assert_eq!(r.reveal_secret(&ConnectionId::generate()).unwrap(), None);
    drop(r);
    assert!(fx.write(|tx| tx.forget_secret_plaintext(&conn)));
    assert!(!fx.write(|tx| tx.forget_secret_plaintext(&ConnectionId::generate())));
    let r = fx.store().read().unwrap();
    assert_eq!(r.reveal_secret(&conn).unwrap(), None);
    assert!(r.verify_secret(&conn, secret.as_str()).unwrap());
    drop(r);
    assert!(fx.write(|tx| tx.delete_secret(&conn)));
    let r = fx.store().read().unwrap();
    assert!(!r.verify_secret(&conn, secret.as_str()).unwrap());
    assert_eq!(r.secret_generation(&conn).unwrap(), None);
}

#[test]
fn rotation_invalidates_the_old_secret() {
    let fx = Fixture::new();
    let conn = ConnectionId::generate();
    let old = SharedSecret::generate();
    let new = SharedSecret::generate();
    fx.write(|tx| tx.set_secret(&conn, 0, &old));
    fx.write(|tx| tx.set_secret(&conn, 1, &new));
    let r = fx.store().read().unwrap();
    assert!(!r.verify_secret(&conn, old.as_str()).unwrap());
    assert!(r.verify_secret(&conn, new.as_str()).unwrap());
    assert_eq!(r.reveal_secret(&conn).unwrap(), Some(new.clone()));
    assert_eq!(r.secret_generation(&conn).unwrap(), Some(1));
}

#[test]
fn the_file_holds_neither_plaintext_nor_a_plain_hash() {
    let mut fx = Fixture::new();
    let conn = ConnectionId::generate();
    let secret = SharedSecret::generate();
    fx.write(|tx| tx.set_secret(&conn, 0, &secret));
    fx.close();
    let bytes = std::fs::read(&fx.path).unwrap();
    let body = &secret.as_str().as_bytes()[4..];
    assert!(!bytes.windows(body.len()).any(|w| w == body));
    let record = String::from_utf8(raw_get(&fx.path, RAW_SECRETS, conn.as_str()).unwrap()).unwrap();
    assert!(!record.contains(&secret.as_str()[4..]));
}

fn edit_secret_record(fx: &Fixture, conn: &ConnectionId, f: impl FnOnce(&mut serde_json::Value)) {
    let raw = raw_get(&fx.path, RAW_SECRETS, conn.as_str()).unwrap();
    let mut record: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    f(&mut record);
    let bytes = serde_json::to_vec(&record).unwrap();
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_SECRETS)
            .unwrap()
            .insert(conn.as_str(), bytes.as_slice())
            .unwrap();
    });
}

#[test]
fn tampered_sealed_value_is_an_error_never_garbage() {
    let mut fx = Fixture::new();
    let conn = ConnectionId::generate();
    let secret = SharedSecret::generate();
    fx.write(|tx| tx.set_secret(&conn, 4, &secret));
    fx.close();
    let original = raw_get(&fx.path, RAW_SECRETS, conn.as_str()).unwrap();

    // Flip one bit of the ciphertext.
    edit_secret_record(&fx, &conn, |r| {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut sealed = engine.decode(r["sealed"].as_str().unwrap()).unwrap();
        sealed[20] ^= 0x01;
        r["sealed"] = engine.encode(sealed).into();
    });
    fx.reopen();
    let err = fx.store().read().unwrap().reveal_secret(&conn).unwrap_err();
    assert!(
        matches!(err, StoreError::SealedSecretInvalid { .. }),
        "{err}"
    );
    assert!(!err.to_string().contains(&secret.as_str()[4..]));

    // Claim another generation: the associated data no longer matches.
    fx.close();
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_SECRETS)
            .unwrap()
            .insert(conn.as_str(), original.as_slice())
            .unwrap();
    });
    edit_secret_record(&fx, &conn, |r| r["generation"] = 5.into());
    fx.reopen();
    assert!(matches!(
        fx.store().read().unwrap().reveal_secret(&conn),
        Err(StoreError::SealedSecretInvalid { .. })
    ));

    // Move the sealed copy to another connection.
    let other = ConnectionId::generate();
    fx.close();
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_SECRETS)
            .unwrap()
            .insert(other.as_str(), original.as_slice())
            .unwrap();
    });
    fx.reopen();
    let r = fx.store().read().unwrap();
    assert!(matches!(
        r.reveal_secret(&other),
        Err(StoreError::SealedSecretInvalid { .. })
    ));
    assert!(!r.verify_secret(&other, secret.as_str()).unwrap());

    // Garbage instead of a record.
    drop(r);
    fx.close();
    tamper(&fx.path, |tx| {
        tx.open_table(RAW_SECRETS)
            .unwrap()
            .insert(conn.as_str(), &b"{not json"[..])
            .unwrap();
    });
    fx.reopen();
    assert!(matches!(
        fx.store().read().unwrap().reveal_secret(&conn),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn a_store_opened_with_the_right_key_after_reopen_still_reveals() {
    let mut fx = Fixture::new();
    let conns: Vec<_> = (0..3).map(|_| ConnectionId::generate()).collect();
    let secrets: Vec<_> = (0..3).map(|_| SharedSecret::generate()).collect();
    fx.write(|tx| {
        for (c, s) in conns.iter().zip(&secrets) {
            tx.set_secret(c, 0, s)?;
        }
        Ok(())
    });
    fx.reopen();
    let r = fx.store().read().unwrap();
    for (c, s) in conns.iter().zip(&secrets) {
        assert_eq!(r.reveal_secret(c).unwrap().as_ref(), Some(s));
        for other in &secrets {
            assert_eq!(r.verify_secret(c, other.as_str()).unwrap(), other == s);
        }
    }
}
