//! Peering requests, agreements and channel grants: the relationships between organizations.

use switchboard_domain::EntityKind;
use switchboard_domain::ids::{AgreementId, GrantId, PeeringRequestId};
use switchboard_domain::rules::grant::GrantEvent;
use switchboard_domain::rules::peering::PeeringEvent;

use super::{Handled, Input, Out};

/// `POST /v1/peering/requests`.
pub(super) async fn send(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().send_peering_request(i.caller()?, req).await?)
}

/// `GET /v1/peering/inbox`.
pub(super) async fn inbox(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().peering_inbox(i.caller()?).await?)
}

/// `GET /v1/peering/outbox`.
pub(super) async fn outbox(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().peering_outbox(i.caller()?).await?)
}

/// `POST /v1/peering/requests/{id}/accept|decline|withdraw`.
pub(super) async fn decide(i: &Input<'_>, event: PeeringEvent) -> Handled {
    let id: PeeringRequestId = i.id(EntityKind::PeeringRequest)?;
    i.no_body()?;
    Out::json(
        &i.svc()
            .decide_peering_request(i.caller()?, &id, event)
            .await?,
    )
}

/// `GET /v1/agreements`.
pub(super) async fn list_agreements(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().list_agreements(i.caller()?).await?)
}

/// `GET /v1/agreements/{id}`.
pub(super) async fn get_agreement(i: &Input<'_>) -> Handled {
    let id: AgreementId = i.id(EntityKind::Agreement)?;
    Out::json(&i.svc().get_agreement(i.caller()?, &id).await?)
}

/// `GET /v1/agreements/{id}/channels`.
pub(super) async fn agreement_channels(i: &Input<'_>) -> Handled {
    let id: AgreementId = i.id(EntityKind::Agreement)?;
    Out::json(&i.svc().agreement_channels(i.caller()?, &id).await?)
}

/// `POST /v1/agreements/{id}/revoke`.
pub(super) async fn revoke_agreement(i: &Input<'_>) -> Handled {
    let id: AgreementId = i.id(EntityKind::Agreement)?;
    i.no_body()?;
    Out::json(&i.svc().revoke_agreement(i.caller()?, &id).await?)
}

/// `POST /v1/grants`.
pub(super) async fn create_grant(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().create_grant(i.caller()?, req).await?)
}

/// `GET /v1/grants`.
pub(super) async fn list_grants(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().list_grants(i.caller()?).await?)
}

/// `POST /v1/grants/{id}/approve|deny|revoke`.
pub(super) async fn decide_grant(i: &Input<'_>, event: GrantEvent) -> Handled {
    let id: GrantId = i.id(EntityKind::Grant)?;
    i.no_body()?;
    Out::json(&i.svc().decide_grant(i.caller()?, &id, event).await?)
}
