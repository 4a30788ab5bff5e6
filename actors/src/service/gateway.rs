//! Gateway setup and troubleshooting (SPEC §6, §8): the connector configuration for the
//! target's owner (with a fresh single-use registration token, never the secret), enrollment
//! that exchanges the token for the secret (the target side's one view), and diagnostics.

use std::net::IpAddr;

use switchboard_domain::entities::{ConnectionKind, ConnectionStatus, OverallConnectivity, Side};
use switchboard_domain::ids::ConnectionId;
use switchboard_domain::permissions::{Action, authorize_any};
use switchboard_domain::rules::secret;
use switchboard_domain::visibility::connector_config_access;
use switchboard_domain::{Caller, ChangeSet, EntityKind, Refusal};
use switchboard_storage::{Reader, RegistrationToken};

use super::org::member_org;
use super::types::{
    ConnectorConfig, Diagnostics, EnrollRequest, Enrolled, ListenerSettings, SideDiagnosis,
};
use super::{Switchboard, found};
use crate::effects::issue_registration_token;
use crate::error::{ServiceError, ServiceResult};
use crate::registry::exec;

impl Switchboard {
    /// `GET /v1/connections/{id}/connector-config` (target server's owner only). Each call
    /// issues a new registration token and invalidates the previous one.
    pub async fn connector_config(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<ConnectorConfig> {
        if let Caller::PlatformAdmin { .. } = caller {
            // Platform admins never see what leads to a secret, not even that it exists.
            return Err(Refusal::NotFound {
                kind: EntityKind::Connection,
            }
            .into());
        }
        member_org(caller)?;
        let broker = self
            .core
            .gateway
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let (caller2, now) = (caller.clone(), self.now());
        let (config, changes) = exec(&self.core, id, {
            let id = id.clone();
            move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                connector_config_access(&caller2, &conn)?;
                if conn.status.is_terminal()
                    || !conn.secret.plaintext_kept
                    || (conn.kind == ConnectionKind::P2p && conn.secret.target_viewed)
                {
                    return Err(Refusal::SecretUnavailable.into());
                }
                let listener = match &conn.grant_id {
                    Some(grant) => {
                        let grant = found(tx.get_grant(grant)?, EntityKind::Grant)?;
                        let channel =
                            found(tx.get_channel(&grant.channel_id)?, EntityKind::Channel)?;
                        Some(ListenerSettings {
                            channel_public_name: channel.public_name,
                            direction: channel.direction,
                        })
                    }
                    None => None,
                };
                let token = issue_registration_token(tx, &conn.id, conn.secret.generation, now)?;
                let mut changes = ChangeSet::default();
                changes.audit(
                    &caller2,
                    conn.parties(),
                    "connector_config.issue",
                    conn.id.as_str(),
                    serde_json::json!({"generation": conn.secret.generation}),
                    now,
                );
                super::commit(tx, &changes)?;
                let config = ConnectorConfig {
                    connection_id: conn.id.clone(),
                    side: Side::Target,
                    kind: conn.kind,
                    broker,
                    listener,
                    registration_token: token.as_str().to_owned(),
                };
                Ok((config, changes))
            }
        })
        .await?;
        self.after(&changes);
        Ok(config)
    }

    /// `POST /v1/gateway/enroll {registration_token}` (no user token): the secret, once.
    pub async fn enroll(&self, req: EnrollRequest, peer: IpAddr) -> ServiceResult<Enrolled> {
        if self.core.enroll_limiter.check_key(&peer).is_err() {
            return Err(ServiceError::RateLimited {
                retry_after: std::time::Duration::from_secs(60),
            });
        }
        let token: RegistrationToken = req
            .registration_token
            .trim()
            .parse()
            .map_err(|_| ServiceError::Unauthorized("invalid registration token"))?;
        let conn_id = {
            let t = token.as_str().to_owned();
            self.core
                .store
                .read(move |tx| Ok(tx.lookup_registration_token(&t)?.map(|r| r.connection_id)))
                .await?
                .ok_or(ServiceError::Unauthorized("invalid registration token"))?
        };
        let now = self.now();
        let result = exec(&self.core, &conn_id, {
            let t = token.as_str().to_owned();
            move |tx| {
                let record = tx
                    .lookup_registration_token(&t)?
                    .ok_or(ServiceError::Unauthorized("invalid registration token"))?;
                let conn = found(
                    tx.get_connection(&record.connection_id)?,
                    EntityKind::Connection,
                )?;
                if record.used
                    || record.expires_at <= now
                    || record.generation != conn.secret.generation
                {
                    return Err(ServiceError::Unauthorized(
                        "registration token used or expired",
                    ));
                }
                let view = secret::enroll(&conn, now).map_err(|_| {
                    ServiceError::Unauthorized("registration token used or expired")
                })?;
                let plaintext = tx
                    .reveal_secret(&conn.id)?
                    .ok_or(ServiceError::Unauthorized(
                        "registration token used or expired",
                    ))?;
                tx.mark_registration_token_used(&t)?;
                super::commit(tx, &view.changes)?;
                Ok((
                    Enrolled {
                        connection_id: conn.id.clone(),
                        side: Side::Target,
                        secret: plaintext.as_str().to_owned(),
                    },
                    view.changes,
                ))
            }
        })
        .await;
        match result {
            Ok((enrolled, changes)) => {
                self.after(&changes);
                Ok(enrolled)
            }
            Err(e) => {
                tracing::info!(%peer, connection = %conn_id, "enrollment refused");
                Err(e)
            }
        }
    }

    /// `GET /v1/connections/{id}/diagnostics`: why a connection is not connected, per side.
    pub async fn diagnostics(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<Diagnostics> {
        let org = member_org(caller)?;
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                authorize_any(&caller, &conn.parties(), Action::Read, EntityKind::Connection)?;
                let mine = conn.sides_of(&org);
                let mut order: Vec<Side> = mine.clone();
                order.extend([Side::Source, Side::Target].into_iter().filter(|s| !mine.contains(s)));
                let sides: Vec<SideDiagnosis> = order
                    .into_iter()
                    .map(|side| {
                        let c = *conn.connectivity.side(side);
                        let mut findings = Vec::new();
                        if let Some(f) = c.last_auth_failure {
                            findings.push(format!("last refused connect at {}: {:?} (check the Connection ID and shared secret in the plugin settings)", f.at.to_rfc3339(), f.reason));
                        }
                        if c.last_connected_at.is_none() {
                            findings.push("the gateway never came online: plugin not installed or not started, or it cannot reach the broker".to_owned());
                        } else if !c.online {
                            findings.push("the gateway is offline now".to_owned());
                        }
                        SideDiagnosis { side, connectivity: c, findings }
                    })
                    .collect();
                let both_online = conn.connectivity.source.online && conn.connectivity.target.online;
                let summary = if !conn.status.accepts_gateways() {
                    format!("the connection is {}, not active: gateways cannot use it", conn.status.as_str())
                } else if conn.connectivity.state == OverallConnectivity::Connected {
                    "a tunnel is up".to_owned()
                } else if both_online {
                    "both gateways are online but no tunnel is up: check the network path and the TURN relay".to_owned()
                } else if conn.status == ConnectionStatus::Paused {
                    "the connection is paused: new sessions are refused".to_owned()
                } else {
                    "a gateway is not online; see each side's findings".to_owned()
                };
                Ok(Diagnostics {
                    connection_id: conn.id.clone(),
                    status: conn.status,
                    connectivity: conn.connectivity.state,
                    last_connected_at: conn.connectivity.last_connected_at,
                    last_path: conn.connectivity.last_path,
                    sides,
                    summary,
                })
            })
            .await
    }
}
