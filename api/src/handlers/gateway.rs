//! Gateway setup and troubleshooting: connector configuration, enrollment, diagnostics.

use switchboard_domain::EntityKind;
use switchboard_domain::ids::ConnectionId;

use super::{Handled, Input, Out};

/// `GET /v1/connections/{id}/connector-config`.
pub(super) async fn connector_config(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    Out::json(&i.svc().connector_config(i.caller()?, &id).await?)
}

/// `POST /v1/gateway/enroll` (no user token; rate-limited per client address by the service).
pub(super) async fn enroll(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().enroll(req, i.peer).await?)
}

/// `GET /v1/connections/{id}/diagnostics`.
pub(super) async fn diagnostics(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    Out::json(&i.svc().diagnostics(i.caller()?, &id).await?)
}
