//! Connection secrets at rest (SPEC §7). Each connection has one record: the secret's
//! generation, a verifier `HMAC-SHA256(verifier_key, conn_id ‖ generation ‖ secret)` that
//! gateways' CONNECT passwords are checked against in constant time, and — while the secret
//! may still be revealed — the plaintext sealed with ChaCha20-Poly1305 under the seal key,
//! with the connection id and generation as associated data, so a sealed value moved to
//! another connection or generation fails to open instead of revealing the wrong secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use switchboard_domain::ids::ConnectionId;

use crate::credentials::SharedSecret;
use crate::error::StoreError;
use crate::keys::{SubKeys, hmac_sha256, to_hex};
use crate::reader::sealed::Source;
use crate::schema;
use crate::write::WriteTx;

/// Length of a ChaCha20-Poly1305 nonce; a fresh random one is drawn for every seal.
const NONCE_LEN: usize = 12;

/// What is stored per connection. Holds no plaintext.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SecretRecord {
    /// The secret's generation (0 at creation, +1 per rotation).
    generation: u32,
    /// Hex of the keyed verifier.
    verifier: String,
    /// Base64 of nonce ‖ ciphertext ‖ tag; `None` once the plaintext was forgotten.
    sealed: Option<String>,
}

impl WriteTx<'_> {
    /// Stores a connection's secret for `generation`: its verifier and its sealed plaintext.
    /// Replaces any previous secret, which stops verifying at once (rotation).
    pub fn set_secret(
        &mut self,
        connection: &ConnectionId,
        generation: u32,
        secret: &SharedSecret,
    ) -> Result<(), StoreError> {
        let record = SecretRecord {
            generation,
            verifier: to_hex(&verifier(
                self.keys,
                connection,
                generation,
                secret.as_str(),
            )),
            sealed: Some(STANDARD.encode(seal(self.keys, connection, generation, secret))),
        };
        self.write_record(connection, &record)
    }

    /// Deletes the sealed plaintext, keeping the verifier: gateways still authenticate, nobody
    /// can view the secret any more. Returns false if the connection has no secret.
    pub fn forget_secret_plaintext(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<bool, StoreError> {
        let Some(mut record) = read_record(self, connection)? else {
            return Ok(false);
        };
        if record.sealed.take().is_some() {
            self.write_record(connection, &record)?;
        }
        Ok(true)
    }

    /// Deletes the secret entirely: the connection's credentials stop working. Returns whether
    /// there was one.
    pub fn delete_secret(&mut self, connection: &ConnectionId) -> Result<bool, StoreError> {
        self.remove_row(schema::SECRETS, connection.as_str())
    }

    fn write_record(
        &mut self,
        connection: &ConnectionId,
        record: &SecretRecord,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|source| StoreError::Encode {
            what: "secret record",
            source,
        })?;
        self.insert_row(schema::SECRETS, connection.as_str(), &bytes)
    }
}

/// Whether `candidate` is the connection's current secret.
pub(crate) fn verify<S: Source + ?Sized>(
    src: &S,
    connection: &ConnectionId,
    candidate: &str,
) -> Result<bool, StoreError> {
    let Some(record) = read_record(src, connection)? else {
        return Ok(false);
    };
    let expected = to_hex(&verifier(
        src.keys(),
        connection,
        record.generation,
        candidate,
    ));
    Ok(bool::from(
        expected.as_bytes().ct_eq(record.verifier.as_bytes()),
    ))
}

/// The connection's plaintext secret, if still kept.
pub(crate) fn reveal<S: Source + ?Sized>(
    src: &S,
    connection: &ConnectionId,
) -> Result<Option<SharedSecret>, StoreError> {
    let Some(record) = read_record(src, connection)? else {
        return Ok(None);
    };
    let Some(sealed) = record.sealed else {
        return Ok(None);
    };
    let invalid = || StoreError::SealedSecretInvalid {
        connection: connection.to_string(),
    };
    let sealed = STANDARD.decode(sealed).map_err(|_| invalid())?;
    unseal(src.keys(), connection, record.generation, &sealed)
        .ok_or_else(invalid)
        .map(Some)
}

/// The generation of the stored secret.
pub(crate) fn generation<S: Source + ?Sized>(
    src: &S,
    connection: &ConnectionId,
) -> Result<Option<u32>, StoreError> {
    Ok(read_record(src, connection)?.map(|r| r.generation))
}

fn read_record<S: Source + ?Sized>(
    src: &S,
    connection: &ConnectionId,
) -> Result<Option<SecretRecord>, StoreError> {
    let Some(bytes) = src.row(schema::SECRETS, connection.as_str())? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            what: "secret record",
            key: connection.to_string(),
            detail: e.to_string(),
        })
}

/// Binds a value to one connection and generation: length-prefixed id, then generation.
fn binding(connection: &ConnectionId, generation: u32) -> Vec<u8> {
    let id = connection.as_str().as_bytes();
    let mut out = Vec::with_capacity(8 + id.len());
    out.extend_from_slice(&u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(id);
    out.extend_from_slice(&generation.to_be_bytes());
    out
}

fn verifier(keys: &SubKeys, connection: &ConnectionId, generation: u32, secret: &str) -> [u8; 32] {
    hmac_sha256(
        &keys.verifier,
        &[&binding(connection, generation), secret.as_bytes()],
    )
}

fn seal(
    keys: &SubKeys,
    connection: &ConnectionId,
    generation: u32,
    secret: &SharedSecret,
) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(&Key::from(keys.seal));
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = binding(connection, generation);
    #[allow(
        clippy::expect_used,
        reason = "ChaCha20-Poly1305 only fails to encrypt beyond 256 GiB per message; a secret is 47 bytes"
    )]
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: secret.as_str().as_bytes(),
                aad: &aad,
            },
        )
        .expect("a 47-byte message always encrypts");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens a sealed secret; `None` if it fails authentication or is not a secret.
fn unseal(
    keys: &SubKeys,
    connection: &ConnectionId,
    generation: u32,
    sealed: &[u8],
) -> Option<SharedSecret> {
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let cipher = ChaCha20Poly1305::new(&Key::from(keys.seal));
    let aad = binding(connection, generation);
    let plain = cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;

    #[test]
    fn seal_round_trips_and_is_bound_to_connection_and_generation() {
        let keys = MasterKey::generate().derive();
        let conn = ConnectionId::generate();
        let secret = SharedSecret::generate();
        let sealed = seal(&keys, &conn, 3, &secret);
        assert_eq!(unseal(&keys, &conn, 3, &sealed), Some(secret.clone()));
        assert_eq!(unseal(&keys, &conn, 4, &sealed), None);
        assert_eq!(unseal(&keys, &ConnectionId::generate(), 3, &sealed), None);
        let other = MasterKey::generate().derive();
        assert_eq!(unseal(&other, &conn, 3, &sealed), None);
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(unseal(&keys, &conn, 3, &flipped), None);
        assert_eq!(unseal(&keys, &conn, 3, &sealed[..5]), None);
        assert!(
            !sealed
                .windows(8)
                .any(|w| secret.as_str().as_bytes().windows(8).any(|s| s == w)),
            "plaintext visible in the sealed bytes"
        );
    }

    #[test]
    fn verifier_depends_on_every_input() {
        let keys = MasterKey::generate().derive();
        let conn = ConnectionId::generate();
        let v = verifier(&keys, &conn, 0, "sbs_a");
        assert_eq!(v, verifier(&keys, &conn, 0, "sbs_a"));
        assert_ne!(v, verifier(&keys, &conn, 1, "sbs_a"));
        assert_ne!(v, verifier(&keys, &conn, 0, "sbs_b"));
        assert_ne!(v, verifier(&keys, &ConnectionId::generate(), 0, "sbs_a"));
    }
}
