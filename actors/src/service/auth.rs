//! Bearer tokens → callers. Tokens are looked up by their keyed hash; an unknown, malformed
//! or orphaned token is one indistinct 401.

use switchboard_domain::Caller;
use switchboard_storage::Reader;

use super::Switchboard;
use crate::error::{ServiceError, ServiceResult};

impl Switchboard {
    /// The caller a bearer token stands for.
    pub async fn authenticate(&self, bearer: &str) -> ServiceResult<Caller> {
        if !bearer.starts_with("sbt_") || bearer.len() > 128 {
            return Err(ServiceError::Unauthorized("invalid token"));
        }
        let token = bearer.to_owned();
        self.core
            .store
            .read(move |tx| {
                let record = tx
                    .lookup_api_token(&token)?
                    .ok_or(ServiceError::Unauthorized("invalid token"))?;
                let user = tx
                    .get_user(&record.user_id)?
                    .ok_or(ServiceError::Unauthorized("invalid token"))?;
                Ok(user.caller())
            })
            .await
    }
}
