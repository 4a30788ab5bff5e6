//! Grants (SPEC §5): offering or requesting a channel inside an agreement, listing the
//! caller's grants, and approve/deny/revoke (revoking terminates its connections in the same
//! transaction).

use switchboard_domain::entities::Grant;
use switchboard_domain::ids::GrantId;
use switchboard_domain::permissions::{Action, authorize};
use switchboard_domain::rules::grant::{self, GrantEvent};
use switchboard_domain::{Caller, EntityKind};
use switchboard_storage::Reader;

use super::org::member_org;
use super::types::{GrantView, NewGrant};
use super::{Switchboard, found};
use crate::error::ServiceResult;

impl Switchboard {
    /// `POST /v1/grants {agreement_id, channel_id}`: an offer if the caller owns the channel,
    /// a request otherwise.
    pub async fn create_grant(&self, caller: &Caller, req: NewGrant) -> ServiceResult<GrantView> {
        member_org(caller)?;
        let (caller2, now) = (caller.clone(), self.now());
        self.change(&req.agreement_id.clone(), move |tx| {
            let agreement = found(tx.get_agreement(&req.agreement_id)?, EntityKind::Agreement)?;
            let channel = found(tx.get_channel(&req.channel_id)?, EntityKind::Channel)?;
            let caller_org = caller2.org().cloned();
            let grantee = if caller_org.as_ref() == Some(&channel.org_id) {
                agreement.other_party(&channel.org_id).cloned()
            } else {
                caller_org
            };
            let duplicate = tx.grants_of_agreement(&agreement.id)?.iter().any(|g| {
                g.channel_id == channel.id
                    && Some(&g.grantee_org) == grantee.as_ref()
                    && !g.status.is_terminal()
            });
            let (grant, changes) = grant::create(&caller2, &agreement, &channel, duplicate, now)?;
            Ok((
                GrantView {
                    grant,
                    channel_public_name: channel.public_name,
                    channel_direction: channel.direction,
                },
                changes,
            ))
        })
        .await
    }

    /// `GET /v1/grants`: grants the caller's organization owns or holds.
    pub async fn list_grants(&self, caller: &Caller) -> ServiceResult<Vec<GrantView>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Grant)?;
        self.core
            .store
            .read(move |tx| {
                tx.grants_of_org(&org)?
                    .into_iter()
                    .map(|g| grant_view(tx, g))
                    .collect()
            })
            .await
    }

    /// `POST /v1/grants/{id}/approve|deny|revoke`.
    pub async fn decide_grant(
        &self,
        caller: &Caller,
        id: &GrantId,
        event: GrantEvent,
    ) -> ServiceResult<GrantView> {
        member_org(caller)?;
        let agreement = {
            let id = id.clone();
            self.core
                .store
                .read(move |tx| Ok(found(tx.get_grant(&id)?, EntityKind::Grant)?.agreement_id))
                .await?
        };
        let (caller2, id, now) = (caller.clone(), id.clone(), self.now());
        self.change(&agreement, move |tx| {
            let g = found(tx.get_grant(&id)?, EntityKind::Grant)?;
            let connections = tx.connections_of_grant(&g.id)?;
            let (updated, changes) = grant::decide(&caller2, &g, event, &connections, now)?;
            Ok((grant_view(tx, updated)?, changes))
        })
        .await
    }
}

fn grant_view(tx: &impl Reader, grant: Grant) -> ServiceResult<GrantView> {
    let channel = found(tx.get_channel(&grant.channel_id)?, EntityKind::Channel)?;
    Ok(GrantView {
        grant,
        channel_public_name: channel.public_name,
        channel_direction: channel.direction,
    })
}
