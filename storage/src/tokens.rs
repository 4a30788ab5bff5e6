//! API tokens and registration tokens (SPEC §8), stored only under their keyed hash
//! `hex(HMAC-SHA256(token_key, token))`: a copy of the store does not reveal a usable token,
//! and looking one up hashes the presented string first, so lookups leak nothing about stored
//! tokens through timing. API tokens are indexed by user (removing a member deletes them) and
//! registration tokens by connection (rotation or termination deletes them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_domain::ids::{ConnectionId, UserId};

use crate::credentials::{ApiToken, RegistrationToken};
use crate::error::StoreError;
use crate::keys::{SubKeys, hmac_sha256, to_hex};
use crate::reader::sealed::Source;
use crate::schema::{self, MultiDef, RowDef};
use crate::write::WriteTx;

/// What an API token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The user it authenticates.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// A name the user gave it, if any.
    pub label: Option<String>,
}

/// What a registration token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRecord {
    /// The connection whose secret it can be exchanged for.
    pub connection_id: ConnectionId,
    /// The secret generation it was issued for; a rotated secret makes it useless.
    pub generation: u32,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// Whether it was already exchanged (single use).
    pub used: bool,
}

impl WriteTx<'_> {
    /// Stores an API token (hashed) for `record.user_id`.
    pub fn put_api_token(
        &mut self,
        token: &ApiToken,
        record: &TokenRecord,
    ) -> Result<(), StoreError> {
        let hash = token_hash(self.keys, token.as_str());
        if let Some(old) = lookup_api(self, token.as_str())? {
            self.multi_remove(schema::API_TOKENS_BY_USER, old.user_id.as_str(), &hash)?;
        }
        self.put_hashed(schema::API_TOKENS, &hash, record, "API token record")?;
        self.multi_insert(schema::API_TOKENS_BY_USER, record.user_id.as_str(), &hash)
    }

    /// Deletes one API token; returns whether it existed.
    pub fn delete_api_token(&mut self, token: &str) -> Result<bool, StoreError> {
        let hash = token_hash(self.keys, token);
        let Some(record) = lookup_api(self, token)? else {
            return Ok(false);
        };
        self.remove_row(schema::API_TOKENS, &hash)?;
        self.multi_remove(schema::API_TOKENS_BY_USER, record.user_id.as_str(), &hash)?;
        Ok(true)
    }

    /// Deletes every API token of a user; returns how many there were.
    pub fn delete_tokens_of_user(&mut self, user: &UserId) -> Result<usize, StoreError> {
        self.delete_indexed(
            schema::API_TOKENS_BY_USER,
            schema::API_TOKENS,
            user.as_str(),
        )
    }

    /// Stores a registration token (hashed) for `record.connection_id`.
    pub fn put_registration_token(
        &mut self,
        token: &RegistrationToken,
        record: &RegistrationRecord,
    ) -> Result<(), StoreError> {
        let hash = token_hash(self.keys, token.as_str());
        if let Some(old) = lookup_registration(self, token.as_str())? {
            self.multi_remove(
                schema::REGISTRATION_TOKENS_BY_CONNECTION,
                old.connection_id.as_str(),
                &hash,
            )?;
        }
        self.put_hashed(
            schema::REGISTRATION_TOKENS,
            &hash,
            record,
            "registration token record",
        )?;
        self.multi_insert(
            schema::REGISTRATION_TOKENS_BY_CONNECTION,
            record.connection_id.as_str(),
            &hash,
        )
    }

    /// Marks a registration token as exchanged. Returns false if it is unknown.
    pub fn mark_registration_token_used(&mut self, token: &str) -> Result<bool, StoreError> {
        let Some(mut record) = lookup_registration(self, token)? else {
            return Ok(false);
        };
        record.used = true;
        let hash = token_hash(self.keys, token);
        self.put_hashed(
            schema::REGISTRATION_TOKENS,
            &hash,
            &record,
            "registration token record",
        )?;
        Ok(true)
    }

    /// Deletes every registration token of a connection; returns how many there were.
    pub fn delete_registration_tokens_of(
        &mut self,
        connection: &ConnectionId,
    ) -> Result<usize, StoreError> {
        self.delete_indexed(
            schema::REGISTRATION_TOKENS_BY_CONNECTION,
            schema::REGISTRATION_TOKENS,
            connection.as_str(),
        )
    }

    fn put_hashed<T: Serialize>(
        &mut self,
        table: RowDef,
        hash: &str,
        record: &T,
        what: &'static str,
    ) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec(record).map_err(|source| StoreError::Encode { what, source })?;
        self.insert_row(table, hash, &bytes)
    }

    fn delete_indexed(
        &mut self,
        index: MultiDef,
        table: RowDef,
        owner: &str,
    ) -> Result<usize, StoreError> {
        let hashes = self.multi_get(index, owner)?;
        for hash in &hashes {
            self.remove_row(table, hash)?;
            self.multi_remove(index, owner, hash)?;
        }
        Ok(hashes.len())
    }
}

/// The record of a presented API token.
pub(crate) fn lookup_api<S: Source + ?Sized>(
    src: &S,
    token: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    lookup(src, schema::API_TOKENS, token, "API token record")
}

/// The record of a presented registration token.
pub(crate) fn lookup_registration<S: Source + ?Sized>(
    src: &S,
    token: &str,
) -> Result<Option<RegistrationRecord>, StoreError> {
    lookup(
        src,
        schema::REGISTRATION_TOKENS,
        token,
        "registration token record",
    )
}

fn lookup<T: serde::de::DeserializeOwned, S: Source + ?Sized>(
    src: &S,
    table: RowDef,
    token: &str,
    what: &'static str,
) -> Result<Option<T>, StoreError> {
    let hash = token_hash(src.keys(), token);
    let Some(bytes) = src.row(table, &hash)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            what,
            key: hash,
            detail: e.to_string(),
        })
}

/// The key a token is stored under.
fn token_hash(keys: &SubKeys, token: &str) -> String {
    to_hex(&hmac_sha256(&keys.tokens, &[token.as_bytes()]))
}
