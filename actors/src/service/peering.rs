//! Peering requests and agreements (SPEC §4): sending (by id or slug), inbox/outbox, deciding,
//! listing agreements with "Self" as the peer of a self-agreement, the peer's published
//! channels, and revocation with its whole cascade in one transaction.

use switchboard_domain::entities::{Agreement, Organization, PeeringRequest};
use switchboard_domain::ids::{AgreementId, OrgId, PeeringRequestId};
use switchboard_domain::permissions::{Action, authorize, authorize_any};
use switchboard_domain::rules::agreement;
use switchboard_domain::rules::peering::{
    Pair, PairFacts, PeeringEvent, decide_request, send_request,
};
use switchboard_domain::visibility::{ChannelView, SELF_PEER_NAME, channel_for};
use switchboard_domain::{Caller, EntityKind};
use switchboard_storage::Reader;

use super::org::member_org;
use super::types::{AgreementView, NewPeeringRequest, PeerRef, PeeringRequestView};
use super::{Switchboard, found};
use crate::error::ServiceResult;

impl Switchboard {
    /// `POST /v1/peering/requests {to_org}` (an id, or a slug).
    pub async fn send_peering_request(
        &self,
        caller: &Caller,
        req: NewPeeringRequest,
    ) -> ServiceResult<PeeringRequestView> {
        let from_id = member_org(caller)?;
        let (caller2, now, tiers) = (caller.clone(), self.now(), self.core.tiers);
        let target = req.to_org.trim().to_owned();
        self.change(&from_id, {
            let from_id = from_id.clone();
            move |tx| {
                let from = found(tx.get_org(&from_id)?, EntityKind::Organization)?;
                let to = match target.parse::<OrgId>() {
                    Ok(id) => tx.get_org(&id)?,
                    Err(_) => tx.org_by_slug(&target)?,
                };
                let to = found(to, EntityKind::Organization)?;
                let facts = pair_facts(tx, &from, &to)?;
                let changes = send_request(
                    &caller2,
                    Pair {
                        from: &from,
                        to: &to,
                        facts,
                        tiers: &tiers,
                    },
                    now,
                )?;
                let request = changes
                    .requests
                    .last()
                    .cloned()
                    .ok_or(crate::error::ServiceError::Unavailable("no request"))?;
                Ok((view_of(request, &from, &to), changes))
            }
        })
        .await
    }

    /// `GET /v1/peering/inbox`.
    pub async fn peering_inbox(&self, caller: &Caller) -> ServiceResult<Vec<PeeringRequestView>> {
        self.peering_box(caller, true).await
    }

    /// `GET /v1/peering/outbox`.
    pub async fn peering_outbox(&self, caller: &Caller) -> ServiceResult<Vec<PeeringRequestView>> {
        self.peering_box(caller, false).await
    }

    async fn peering_box(
        &self,
        caller: &Caller,
        inbox: bool,
    ) -> ServiceResult<Vec<PeeringRequestView>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::PeeringRequest)?;
        self.core
            .store
            .read(move |tx| {
                let requests = if inbox {
                    tx.peering_inbox(&org)?
                } else {
                    tx.peering_outbox(&org)?
                };
                requests
                    .into_iter()
                    .map(|r| {
                        let from = found(tx.get_org(&r.from_org)?, EntityKind::Organization)?;
                        let to = found(tx.get_org(&r.to_org)?, EntityKind::Organization)?;
                        Ok(view_of(r, &from, &to))
                    })
                    .collect()
            })
            .await
    }

    /// `POST /v1/peering/requests/{id}/accept|decline|withdraw`.
    pub async fn decide_peering_request(
        &self,
        caller: &Caller,
        id: &PeeringRequestId,
        event: PeeringEvent,
    ) -> ServiceResult<PeeringRequestView> {
        let org = member_org(caller)?;
        let (caller2, id, now, tiers) = (caller.clone(), id.clone(), self.now(), self.core.tiers);
        self.change(&org, move |tx| {
            let request = found(tx.get_peering_request(&id)?, EntityKind::PeeringRequest)?;
            let from = found(tx.get_org(&request.from_org)?, EntityKind::Organization)?;
            let to = found(tx.get_org(&request.to_org)?, EntityKind::Organization)?;
            let facts = pair_facts(tx, &from, &to)?;
            let changes = decide_request(
                &caller2,
                &request,
                event,
                Pair {
                    from: &from,
                    to: &to,
                    facts,
                    tiers: &tiers,
                },
                now,
            )?;
            let updated = changes.requests.last().cloned().unwrap_or(request);
            Ok((view_of(updated, &from, &to), changes))
        })
        .await
    }

    /// `GET /v1/agreements`.
    pub async fn list_agreements(&self, caller: &Caller) -> ServiceResult<Vec<AgreementView>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Agreement)?;
        self.core
            .store
            .read(move |tx| {
                tx.agreements_of_org(&org)?
                    .into_iter()
                    .map(|a| agreement_view(tx, &org, a))
                    .collect()
            })
            .await
    }

    /// `GET /v1/agreements/{id}`.
    pub async fn get_agreement(
        &self,
        caller: &Caller,
        id: &AgreementId,
    ) -> ServiceResult<AgreementView> {
        let org = member_org(caller)?;
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let a = found(tx.get_agreement(&id)?, EntityKind::Agreement)?;
                authorize_any(&caller, &a.parties(), Action::Read, EntityKind::Agreement)?;
                agreement_view(tx, &org, a)
            })
            .await
    }

    /// `GET /v1/agreements/{id}/channels`: the peer's published channels, public fields only
    /// (in a self-agreement, the organization's own channels in full).
    pub async fn agreement_channels(
        &self,
        caller: &Caller,
        id: &AgreementId,
    ) -> ServiceResult<Vec<ChannelView>> {
        let org = member_org(caller)?;
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let a = found(tx.get_agreement(&id)?, EntityKind::Agreement)?;
                authorize_any(&caller, &a.parties(), Action::Read, EntityKind::Agreement)?;
                let peer = a.other_party(&org).cloned().unwrap_or_else(|| org.clone());
                let mut out = Vec::new();
                for server in tx.servers_of_org(&peer)? {
                    for channel in tx.channels_of_server(&server.id)? {
                        if let Some(view) = channel_for(&org, &channel) {
                            out.push(view);
                        }
                    }
                }
                Ok(out)
            })
            .await
    }

    /// `POST /v1/agreements/{id}/revoke`: terminates its connections and revokes its grants in
    /// the same transaction; irreversible.
    pub async fn revoke_agreement(
        &self,
        caller: &Caller,
        id: &AgreementId,
    ) -> ServiceResult<AgreementView> {
        let org = member_org(caller)?;
        let (caller2, now) = (caller.clone(), self.now());
        self.change(id, {
            let id = id.clone();
            move |tx| {
                let a = found(tx.get_agreement(&id)?, EntityKind::Agreement)?;
                let grants = tx.grants_of_agreement(&a.id)?;
                let connections = tx.connections_of_agreement(&a.id)?;
                let changes = agreement::revoke(&caller2, &a, &grants, &connections, now)?;
                let revoked = changes.agreements.first().cloned().unwrap_or(a);
                Ok((agreement_view(tx, &org, revoked)?, changes))
            }
        })
        .await
    }
}

fn pair_facts(
    tx: &impl Reader,
    from: &Organization,
    to: &Organization,
) -> ServiceResult<PairFacts> {
    let active_agreement_exists = if from.id == to.id {
        tx.active_self_agreement(&from.id)?.is_some()
    } else {
        tx.active_agreement_between(&from.id, &to.id)?.is_some()
    };
    Ok(PairFacts {
        pending_exists: tx.pending_request_between(&from.id, &to.id)?.is_some(),
        active_agreement_exists,
        from_peers: tx.count_active_peer_agreements(&from.id)?,
        to_peers: tx.count_active_peer_agreements(&to.id)?,
    })
}

fn view_of(request: PeeringRequest, from: &Organization, to: &Organization) -> PeeringRequestView {
    PeeringRequestView {
        request,
        from_name: from.name.clone(),
        to_name: to.name.clone(),
    }
}

fn agreement_view(tx: &impl Reader, viewer: &OrgId, a: Agreement) -> ServiceResult<AgreementView> {
    let peer_id = a
        .other_party(viewer)
        .cloned()
        .unwrap_or_else(|| a.party_b.clone());
    let name = if a.is_self() {
        SELF_PEER_NAME.to_owned()
    } else {
        found(tx.get_org(&peer_id)?, EntityKind::Organization)?.name
    };
    Ok(AgreementView {
        id: a.id.clone(),
        peer: PeerRef { id: peer_id, name },
        is_self: a.is_self(),
        status: a.status,
        created_at: a.created_at,
        revoked_at: a.revoked_at,
        revoked_by: a.revoked_by,
    })
}
