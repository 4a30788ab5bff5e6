//! View Secret and Rotate (SPEC §7): strict per-connection windows (5 views per 60 s, 5
//! rotations per 300 s) kept by the connection's actor, the domain's once-per-side rule, the
//! plaintext revealed and forgotten inside the same transaction, and every view, rotation and
//! refusal audited (never with the secret).

use switchboard_domain::changes::audit_refusal;
use switchboard_domain::ids::ConnectionId;
use switchboard_domain::permissions::{Action, authorize_any};
use switchboard_domain::rules::secret;
use switchboard_domain::{Caller, ChangeSet, EntityKind, Refusal};
use switchboard_storage::Reader;

use super::types::{Rotated, SecretReveal};
use super::{Switchboard, found};
use crate::entity_actors::{Admit, ConnectionActor, Limit};
use crate::error::{ServiceError, ServiceResult};
use crate::registry::{Activate, exec};

impl Switchboard {
    /// `POST /v1/connections/{id}/secret/view`.
    pub async fn view_secret(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<SecretReveal> {
        self.visible_connection(caller, id, Action::ViewSecret)
            .await?;
        self.admit(caller, id, Limit::SecretView, "secret.view")
            .await?;
        let (caller2, now) = (caller.clone(), self.now());
        let result = exec(&self.core, id, {
            let id = id.clone();
            move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                let view = secret::view(&caller2, &conn, now)?;
                let plaintext = tx
                    .reveal_secret(&conn.id)?
                    .ok_or(Refusal::SecretUnavailable)?;
                super::commit(tx, &view.changes)?;
                Ok((
                    SecretReveal {
                        connection_id: conn.id.clone(),
                        side: view.side,
                        secret: plaintext.as_str().to_owned(),
                    },
                    view.changes,
                ))
            }
        })
        .await;
        self.finish(caller, id, "secret.view", result).await
    }

    /// `POST /v1/connections/{id}/secret/rotate` (org members on tiers with rotation).
    pub async fn rotate_secret(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<Rotated> {
        self.visible_connection(caller, id, Action::RotateSecret)
            .await?;
        self.rotate(caller, id).await
    }

    /// `POST /v1/admin/connections/{id}/secret/rotate` (platform admin, any tier, no reveal).
    pub async fn admin_rotate_secret(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<Rotated> {
        switchboard_domain::permissions::authorize_platform(caller)?;
        self.rotate(caller, id).await
    }

    async fn rotate(&self, caller: &Caller, id: &ConnectionId) -> ServiceResult<Rotated> {
        self.admit(caller, id, Limit::SecretRotation, "secret.rotate")
            .await?;
        let (caller2, now, tiers) = (caller.clone(), self.now(), self.core.tiers);
        let result = exec(&self.core, id, {
            let id = id.clone();
            move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                let org = match caller2.org() {
                    Some(org) => tx.get_org(org)?,
                    None => None,
                };
                let rotation = secret::rotate(&caller2, &conn, org.as_ref(), &tiers, now)?;
                let issued = super::commit(tx, &rotation.changes)?;
                let secret = rotation.revealed_to.and_then(|_| {
                    issued
                        .secrets
                        .into_iter()
                        .find(|(c, _)| *c == conn.id)
                        .map(|(_, s)| s.as_str().to_owned())
                });
                let out = Rotated {
                    connection_id: conn.id.clone(),
                    generation: rotation.connection.secret.generation,
                    side: rotation.revealed_to,
                    secret,
                };
                Ok((out, rotation.changes))
            }
        })
        .await;
        self.finish(caller, id, "secret.rotate", result).await
    }

    /// 404 unless the caller's organization is a party (so the limiter is not an oracle).
    /// 404 unless the caller's organization is a party, 403 unless its role may do `action`:
    /// both before the rate limiter, so neither outsiders nor members can use up the window.
    /// A role refusal is audited like every other secret refusal (SPEC §7).
    async fn visible_connection(
        &self,
        caller: &Caller,
        id: &ConnectionId,
        action: Action,
    ) -> ServiceResult<()> {
        let audit_action = match action {
            Action::ViewSecret => "secret.view",
            _ => "secret.rotate",
        };
        if let (Caller::PlatformAdmin { .. }, Action::ViewSecret) = (caller, action) {
            let err = ServiceError::Refused(Refusal::Forbidden {
                reason: "platform admins never see secrets",
            });
            self.audit_refusal(caller, id, audit_action, &err).await;
            return Err(err);
        }
        let (c, i) = (caller.clone(), id.clone());
        let checked = self
            .core
            .store
            .read(move |tx| {
                let conn = found(tx.get_connection(&i)?, EntityKind::Connection)?;
                authorize_any(&c, &conn.parties(), action, EntityKind::Connection)?;
                Ok(())
            })
            .await;
        if let Err(err @ ServiceError::Refused(Refusal::Forbidden { .. })) = &checked {
            self.audit_refusal(caller, id, audit_action, err).await;
        }
        checked
    }

    async fn admit(
        &self,
        caller: &Caller,
        id: &ConnectionId,
        limit: Limit,
        action: &str,
    ) -> ServiceResult<()> {
        let addr = <ConnectionId as Activate<ConnectionActor>>::activate(&self.core, id);
        match addr.send(Admit(limit)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(retry_after)) => {
                let err = ServiceError::RateLimited { retry_after };
                self.audit_refusal(caller, id, action, &err).await;
                Err(err)
            }
            Err(_) => Err(ServiceError::Unavailable(
                "the connection's actor stopped; retry",
            )),
        }
    }

    async fn finish<T>(
        &self,
        caller: &Caller,
        id: &ConnectionId,
        action: &str,
        result: ServiceResult<(T, ChangeSet)>,
    ) -> ServiceResult<T> {
        match result {
            Ok((value, changes)) => {
                self.after(&changes);
                Ok(value)
            }
            Err(err) => {
                self.audit_refusal(caller, id, action, &err).await;
                Err(err)
            }
        }
    }

    /// Records a refused secret operation in the audit log (SPEC §7).
    async fn audit_refusal(
        &self,
        caller: &Caller,
        id: &ConnectionId,
        action: &str,
        err: &ServiceError,
    ) {
        let (caller, id, action, now) = (caller.clone(), id.clone(), action.to_owned(), self.now());
        let reason = match err {
            ServiceError::Refused(r) => r.clone(),
            other => Refusal::Conflict {
                reason: if matches!(other, ServiceError::RateLimited { .. }) {
                    "rate limited"
                } else {
                    "not carried out"
                },
            },
        };
        let written = self
            .core
            .store
            .write(move |tx| {
                let Some(conn) = tx.get_connection(&id)? else {
                    return Ok(());
                };
                let event =
                    audit_refusal(&caller, conn.parties(), &action, id.as_str(), &reason, now);
                tx.append_audit(&event)?;
                Ok(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not audit a refused secret operation");
        }
    }
}
