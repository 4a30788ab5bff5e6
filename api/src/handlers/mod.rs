//! Route handlers: each turns one request into one service call and its result into JSON.
//! [`dispatch`] matches every [`RouteId`] exhaustively; the handlers live in one file per area
//! of SPEC §8. A handler never picks its status: the route table's `status` is used, so the
//! OpenAPI document and the wire agree.

mod admin;
mod catalog;
mod connections;
mod feeds;
mod gateway;
mod ops;
mod org;
mod peering;

use std::net::IpAddr;
use std::str::FromStr;

use bytes::Bytes;
use hyper::header::HeaderValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_actors::service::Switchboard;
use switchboard_actors::service::types::ConnectionMove;
use switchboard_domain::rules::grant::GrantEvent;
use switchboard_domain::rules::peering::PeeringEvent;
use switchboard_domain::{Caller, EntityKind};

use crate::body::{self, NoFields};
use crate::error::ApiError;
use crate::query::Query;
use crate::routes::{Route, RouteId};
use crate::state::ApiState;

/// Everything a handler may read about its request.
pub(crate) struct Input<'a> {
    /// Shared state.
    pub state: &'a ApiState,
    /// The matched route.
    pub route: &'static Route,
    /// The authenticated caller (bearer routes only).
    pub caller: Option<Caller>,
    /// The path segments matched by `{…}`, in order.
    pub params: Vec<String>,
    /// Decoded, checked query parameters.
    pub query: Query,
    /// The request body (already size-checked).
    pub body: Bytes,
    /// The request's `Content-Type`.
    pub content_type: Option<HeaderValue>,
    /// The client's address (rate limits of unauthenticated routes).
    pub peer: IpAddr,
}

impl Input<'_> {
    /// The service.
    pub fn svc(&self) -> &Switchboard {
        &self.state.service
    }

    /// The caller of a bearer route.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        // The server authenticates every `Auth::Bearer` route before dispatching; a handler
        // asking for a caller on a public route is a routing-table bug, reported as a 500.
        self.caller.as_ref().ok_or_else(|| {
            tracing::error!(
                route = self.route.name,
                "handler needs a caller on a public route"
            );
            ApiError::internal()
        })
    }

    /// The `{id}` path segment as an id of type `T`. A malformed id names nothing that can
    /// exist, so it is 404 like an unknown one.
    pub fn id<T: FromStr>(&self, kind: EntityKind) -> Result<T, ApiError> {
        self.params
            .first()
            .and_then(|raw| raw.parse().ok())
            .ok_or_else(|| ApiError::not_found(kind))
    }

    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        body::parse_json(&self.body, self.content_type.as_ref())
    }

    /// Checks that a route without fields got an empty body or `{}`.
    pub fn no_body(&self) -> Result<(), ApiError> {
        self.json::<NoFields>().map(|_| ())
    }
}

/// A handler's successful result.
#[derive(Debug)]
pub(crate) enum Out {
    /// A JSON body.
    Json(Bytes),
    /// No body (204).
    Empty,
    /// Another body with its content type (metrics).
    Raw(&'static str, Bytes),
}

impl Out {
    /// Serializes `value`.
    pub fn json<T: Serialize>(value: &T) -> Result<Out, ApiError> {
        serde_json::to_vec(value)
            .map(|v| Out::Json(Bytes::from(v)))
            .map_err(|e| {
                tracing::error!(error = %e, "cannot serialize a response");
                ApiError::internal()
            })
    }
}

/// Handler result.
pub(crate) type Handled = Result<Out, ApiError>;

/// Runs the handler of `input.route`.
pub(crate) async fn dispatch(i: &Input<'_>) -> Handled {
    use RouteId as R;
    match i.route.id {
        R::Healthz => ops::healthz(i),
        R::Readyz => ops::readyz(i),
        R::Metrics => ops::metrics(i),
        R::OpenApi => ops::openapi(i),
        R::CreateOrg => admin::create_org(i).await,
        R::AdminListOrgs => admin::list_orgs(i).await,
        R::AdminListUsers => admin::list_users(i).await,
        R::AdminSetTier => admin::set_tier(i).await,
        R::AdminAddOverride => admin::add_override(i).await,
        R::AdminAudit => admin::audit(i).await,
        R::AdminRotateSecret => admin::rotate_secret(i).await,
        R::Me => org::me(i).await,
        R::GetOrg => org::get(i).await,
        R::UpdateOrg => org::update(i).await,
        R::ListMembers => org::list_members(i).await,
        R::AddMember => org::add_member(i).await,
        R::UpdateMember => org::update_member(i).await,
        R::RemoveMember => org::remove_member(i).await,
        R::CreateToken => org::create_token(i).await,
        R::Directory => org::directory(i).await,
        R::CreateServer => catalog::create_server(i).await,
        R::ListServers => catalog::list_servers(i).await,
        R::GetServer => catalog::get_server(i).await,
        R::UpdateServer => catalog::update_server(i).await,
        R::DeleteServer => catalog::delete_server(i).await,
        R::CreateChannel => catalog::create_channel(i).await,
        R::ListChannels => catalog::list_channels(i).await,
        R::GetChannel => catalog::get_channel(i).await,
        R::UpdateChannel => catalog::update_channel(i).await,
        R::DeleteChannel => catalog::delete_channel(i).await,
        R::SendPeeringRequest => peering::send(i).await,
        R::PeeringInbox => peering::inbox(i).await,
        R::PeeringOutbox => peering::outbox(i).await,
        R::AcceptPeeringRequest => peering::decide(i, PeeringEvent::Accept).await,
        R::DeclinePeeringRequest => peering::decide(i, PeeringEvent::Decline).await,
        R::WithdrawPeeringRequest => peering::decide(i, PeeringEvent::Withdraw).await,
        R::ListAgreements => peering::list_agreements(i).await,
        R::GetAgreement => peering::get_agreement(i).await,
        R::AgreementChannels => peering::agreement_channels(i).await,
        R::RevokeAgreement => peering::revoke_agreement(i).await,
        R::CreateGrant => peering::create_grant(i).await,
        R::ListGrants => peering::list_grants(i).await,
        R::ApproveGrant => peering::decide_grant(i, GrantEvent::Approve).await,
        R::DenyGrant => peering::decide_grant(i, GrantEvent::Deny).await,
        R::RevokeGrant => peering::decide_grant(i, GrantEvent::Revoke).await,
        R::Provision => connections::provision(i).await,
        R::OfferAdmin => connections::offer_admin(i).await,
        R::ListConnections => connections::list(i).await,
        R::GetConnection => connections::get(i).await,
        R::ActivateConnection => connections::simple_move(i, ConnectionMove::Activate).await,
        R::PauseConnection => connections::simple_move(i, ConnectionMove::Pause).await,
        R::ResumeConnection => connections::simple_move(i, ConnectionMove::Resume).await,
        R::TerminateConnection => connections::simple_move(i, ConnectionMove::Terminate).await,
        R::RetryConnection => connections::simple_move(i, ConnectionMove::Retry).await,
        R::DeclineConnection => connections::simple_move(i, ConnectionMove::Decline).await,
        R::AcceptConnection => connections::accept(i).await,
        R::ViewSecret => connections::view_secret(i).await,
        R::RotateSecret => connections::rotate_secret(i).await,
        R::ConnectorConfig => gateway::connector_config(i).await,
        R::Enroll => gateway::enroll(i).await,
        R::Diagnostics => gateway::diagnostics(i).await,
        R::Notifications => feeds::notifications(i).await,
        R::Audit => feeds::audit(i).await,
    }
}
