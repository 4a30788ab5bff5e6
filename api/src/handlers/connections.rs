//! Connections: provisioning, admin offers, lists, status moves and the shared secret.

use switchboard_actors::service::types::{ConnectionFilter, ConnectionMove};
use switchboard_domain::EntityKind;
use switchboard_domain::ids::ConnectionId;

use super::{Handled, Input, Out};

/// `POST /v1/connections`.
pub(super) async fn provision(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().provision(i.caller()?, req).await?)
}

/// `POST /v1/connections/admin`.
pub(super) async fn offer_admin(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().offer_admin(i.caller()?, req).await?)
}

/// `GET /v1/connections?status=&include_terminal=`.
pub(super) async fn list(i: &Input<'_>) -> Handled {
    let filter = ConnectionFilter {
        status: i.query.enumeration("status")?,
        include_terminal: i.query.flag("include_terminal", false)?,
    };
    Out::json(&i.svc().list_connections(i.caller()?, filter).await?)
}

/// `GET /v1/connections/{id}`.
pub(super) async fn get(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    Out::json(&i.svc().get_connection(i.caller()?, &id).await?)
}

/// `POST /v1/connections/{id}/activate|pause|resume|terminate|retry|decline`.
pub(super) async fn simple_move(i: &Input<'_>, action: ConnectionMove) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    i.no_body()?;
    Out::json(&i.svc().move_connection(i.caller()?, &id, action).await?)
}

/// `POST /v1/connections/{id}/accept {server_id}`.
pub(super) async fn accept(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    let req = i.json()?;
    Out::json(
        &i.svc()
            .move_connection(i.caller()?, &id, ConnectionMove::Accept(req))
            .await?,
    )
}

/// `POST /v1/connections/{id}/secret/view`.
pub(super) async fn view_secret(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    i.no_body()?;
    Out::json(&i.svc().view_secret(i.caller()?, &id).await?)
}

/// `POST /v1/connections/{id}/secret/rotate`.
pub(super) async fn rotate_secret(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    i.no_body()?;
    Out::json(&i.svc().rotate_secret(i.caller()?, &id).await?)
}
