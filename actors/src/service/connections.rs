//! Connections (SPEC §5–§6): provisioning from an approved grant, admin offers, the list and
//! detail views (route, peer name, never a secret), status moves, and the timer that expires
//! admin offers (armed from the store on start, so it survives restarts).

use std::time::Duration;

use switchboard_domain::entities::{Connection, ConnectionStatus};
use switchboard_domain::ids::ConnectionId;
use switchboard_domain::permissions::{Action, authorize_any};
use switchboard_domain::rules::connection::{ConnectionEvent, transition};
use switchboard_domain::rules::provisioning::{
    AdminAccess, AdminOffer, P2pRequest, offer_admin, provision_p2p,
};
use switchboard_domain::visibility::{ConnectionContext, ConnectionView, connection_for};
use switchboard_domain::{Caller, EntityKind, Refusal};
use switchboard_storage::Reader;

use super::org::member_org;
use super::types::{AccessLevel, ConnectionFilter, ConnectionMove, NewAdminOffer, NewP2p};
use super::{Switchboard, found};
use crate::error::{ServiceError, ServiceResult};
use crate::registry::exec;

/// How often the offer timer looks again when no offer is due sooner.
pub const OFFER_SWEEP_MAX_SLEEP: Duration = Duration::from_secs(60);

impl Switchboard {
    /// `POST /v1/connections`: a p2p connection from an approved grant, in status `ready`.
    pub async fn provision(&self, caller: &Caller, req: NewP2p) -> ServiceResult<ConnectionView> {
        let org = member_org(caller)?;
        let grant_agreement = {
            let g = req.grant_id.clone();
            self.core
                .store
                .read(move |tx| Ok(found(tx.get_grant(&g)?, EntityKind::Grant)?.agreement_id))
                .await?
        };
        let (caller2, now) = (caller.clone(), self.now());
        self.change(&grant_agreement, move |tx| {
            let grant = found(tx.get_grant(&req.grant_id)?, EntityKind::Grant)?;
            let agreement = found(
                tx.get_agreement(&grant.agreement_id)?,
                EntityKind::Agreement,
            )?;
            let channel = found(tx.get_channel(&grant.channel_id)?, EntityKind::Channel)?;
            let source = found(tx.get_server(&req.source_server_id)?, EntityKind::Server)?;
            let target = found(tx.get_server(&req.target_server_id)?, EntityKind::Server)?;
            let duplicate_exists = tx.connections_of_grant(&grant.id)?.iter().any(|c| {
                !c.status.is_terminal()
                    && c.source_server_id.as_ref() == Some(&source.id)
                    && c.target_server_id == target.id
            });
            let request = P2pRequest {
                agreement: &agreement,
                grant: &grant,
                channel: &channel,
                source: &source,
                target: &target,
                mode: req.mode.unwrap_or_default(),
                duplicate_exists,
            };
            let (conn, changes) = provision_p2p(&caller2, request, now)?;
            Ok((project(tx, &org, &conn)?, changes))
        })
        .await
    }

    /// `POST /v1/connections/admin`: offers remote management of the caller's server.
    pub async fn offer_admin(
        &self,
        caller: &Caller,
        req: NewAdminOffer,
    ) -> ServiceResult<ConnectionView> {
        let org = member_org(caller)?;
        let (caller2, now, tiers) = (caller.clone(), self.now(), self.core.tiers);
        let ttl = chrono::Duration::from_std(self.core.settings.admin_offer_ttl)
            .unwrap_or(chrono::Duration::days(7));
        let (view, changes) = exec(&self.core, &req.agreement_id.clone(), move |tx| {
            let agreement = found(tx.get_agreement(&req.agreement_id)?, EntityKind::Agreement)?;
            let server = found(tx.get_server(&req.server_id)?, EntityKind::Server)?;
            let owner = found(tx.get_org(&server.org_id)?, EntityKind::Organization)?;
            let access = match req.access {
                AccessLevel::Rw => AdminAccess::ReadWrite,
                AccessLevel::Ro => AdminAccess::ReadOnly,
            };
            let offer = AdminOffer {
                agreement: &agreement,
                server: &server,
                owner: &owner,
                access,
                offer_ttl: ttl,
            };
            let (conn, changes) = offer_admin(&caller2, offer, &tiers, now)?;
            super::commit(tx, &changes)?;
            Ok((project(tx, &org, &conn)?, changes))
        })
        .await?;
        self.after(&changes);
        self.core.offers_changed.notify_one();
        Ok(view)
    }

    /// `GET /v1/connections?status=&include_terminal=`.
    pub async fn list_connections(
        &self,
        caller: &Caller,
        filter: ConnectionFilter,
    ) -> ServiceResult<Vec<ConnectionView>> {
        let org = member_org(caller)?;
        switchboard_domain::permissions::authorize(
            caller,
            &org,
            Action::Read,
            EntityKind::Connection,
        )?;
        self.core
            .store
            .read(move |tx| {
                tx.connections_of_org(&org)?
                    .into_iter()
                    .filter(|c| match filter.status {
                        Some(s) => c.status == s,
                        None => filter.include_terminal || !c.status.is_terminal(),
                    })
                    .map(|c| project(tx, &org, &c))
                    .collect()
            })
            .await
    }

    /// `GET /v1/connections/{id}`.
    pub async fn get_connection(
        &self,
        caller: &Caller,
        id: &ConnectionId,
    ) -> ServiceResult<ConnectionView> {
        let org = member_org(caller)?;
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                authorize_any(
                    &caller,
                    &conn.parties(),
                    Action::Read,
                    EntityKind::Connection,
                )?;
                project(tx, &org, &conn)
            })
            .await
    }

    /// `POST /v1/connections/{id}/activate|pause|resume|terminate|retry|decline|accept`.
    pub async fn move_connection(
        &self,
        caller: &Caller,
        id: &ConnectionId,
        action: ConnectionMove,
    ) -> ServiceResult<ConnectionView> {
        let org = member_org(caller)?;
        let (caller2, now) = (caller.clone(), self.now());
        let (view, changes) = exec(&self.core, id, {
            let id = id.clone();
            move |tx| {
                let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                let event = match action.clone() {
                    ConnectionMove::Activate => ConnectionEvent::Activate,
                    ConnectionMove::Pause => ConnectionEvent::Pause,
                    ConnectionMove::Resume => ConnectionEvent::Resume,
                    ConnectionMove::Terminate => ConnectionEvent::Terminate,
                    ConnectionMove::Retry => ConnectionEvent::Retry,
                    ConnectionMove::Decline => ConnectionEvent::Decline,
                    ConnectionMove::Accept(accept) => {
                        let source = tx.get_server(&accept.server_id)?;
                        match source {
                            Some(source) => ConnectionEvent::Accept { source },
                            None if conn.has_party(&org) => {
                                return Err(Refusal::NotFound {
                                    kind: EntityKind::Server,
                                }
                                .into());
                            }
                            None => {
                                return Err(Refusal::NotFound {
                                    kind: EntityKind::Connection,
                                }
                                .into());
                            }
                        }
                    }
                };
                let (updated, changes) = transition(&caller2, &conn, event, now)?;
                super::commit(tx, &changes)?;
                Ok((project(tx, &org, &updated)?, changes))
            }
        })
        .await?;
        self.after(&changes);
        Ok(view)
    }

    /// Expires every admin offer whose deadline has passed; returns when the next one is due.
    pub async fn expire_due_offers(&self) -> ServiceResult<Option<chrono::DateTime<chrono::Utc>>> {
        let offers = self
            .core
            .store
            .read(|tx| Ok(tx.connections_with_status(ConnectionStatus::Offered)?))
            .await?;
        let now = self.now();
        let mut next = None;
        for offer in offers {
            match offer.offer_expires_at {
                Some(at) if at <= now => {
                    let changes = exec(&self.core, &offer.id, {
                        let id = offer.id.clone();
                        move |tx| {
                            let conn = found(tx.get_connection(&id)?, EntityKind::Connection)?;
                            if conn.status != ConnectionStatus::Offered {
                                return Ok(None);
                            }
                            let (_, changes) =
                                transition(&Caller::System, &conn, ConnectionEvent::Expire, now)?;
                            super::commit(tx, &changes)?;
                            Ok(Some(changes))
                        }
                    })
                    .await?;
                    if let Some(changes) = changes {
                        tracing::info!(connection = %offer.id, "admin offer expired");
                        self.after(&changes);
                    }
                }
                Some(at) => {
                    next = Some(next.map_or(at, |n: chrono::DateTime<chrono::Utc>| n.min(at)))
                }
                None => {}
            }
        }
        Ok(next)
    }

    /// Runs the offer-expiry timer until `shutdown` resolves: expire what is due, sleep until
    /// the next deadline (or a new offer, or [`OFFER_SWEEP_MAX_SLEEP`]), repeat.
    pub async fn run_offer_timer(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let next = match self.expire_due_offers().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = %e, "offer expiry sweep failed; retrying");
                    None
                }
            };
            let sleep = next
                .and_then(|at| (at - self.now()).to_std().ok())
                .map_or(OFFER_SWEEP_MAX_SLEEP, |d| d.min(OFFER_SWEEP_MAX_SLEEP));
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.core.offers_changed.notified() => {}
                _ = &mut shutdown => return,
            }
        }
    }
}

/// The caller's view of a connection.
pub(super) fn project(
    tx: &impl Reader,
    viewer: &switchboard_domain::ids::OrgId,
    conn: &Connection,
) -> ServiceResult<ConnectionView> {
    let target = found(tx.get_server(&conn.target_server_id)?, EntityKind::Server)?;
    let source = match &conn.source_server_id {
        Some(id) => Some(found(tx.get_server(id)?, EntityKind::Server)?),
        None => None,
    };
    let peer_org = if &conn.source_org == viewer {
        &conn.target_org
    } else {
        &conn.source_org
    };
    let peer_name = found(tx.get_org(peer_org)?, EntityKind::Organization)?.name;
    connection_for(
        viewer,
        conn,
        ConnectionContext {
            source: source.as_ref(),
            target: &target,
            peer_org_name: &peer_name,
        },
    )
    .ok_or(ServiceError::Refused(Refusal::NotFound {
        kind: EntityKind::Connection,
    }))
}
