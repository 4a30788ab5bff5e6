//! Servers and their channels.

use switchboard_domain::EntityKind;
use switchboard_domain::ids::{ChannelId, ServerId};

use super::{Handled, Input, Out};

/// `POST /v1/servers`.
pub(super) async fn create_server(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().create_server(i.caller()?, req).await?)
}

/// `GET /v1/servers`.
pub(super) async fn list_servers(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().list_servers(i.caller()?).await?)
}

/// `GET /v1/servers/{id}`.
pub(super) async fn get_server(i: &Input<'_>) -> Handled {
    let id: ServerId = i.id(EntityKind::Server)?;
    Out::json(&i.svc().get_server(i.caller()?, &id).await?)
}

/// `PATCH /v1/servers/{id}`.
pub(super) async fn update_server(i: &Input<'_>) -> Handled {
    let id: ServerId = i.id(EntityKind::Server)?;
    let patch = i.json()?;
    Out::json(&i.svc().update_server(i.caller()?, &id, patch).await?)
}

/// `DELETE /v1/servers/{id}`.
pub(super) async fn delete_server(i: &Input<'_>) -> Handled {
    let id: ServerId = i.id(EntityKind::Server)?;
    i.svc().delete_server(i.caller()?, &id).await?;
    Ok(Out::Empty)
}

/// `POST /v1/servers/{id}/channels`.
pub(super) async fn create_channel(i: &Input<'_>) -> Handled {
    let server: ServerId = i.id(EntityKind::Server)?;
    let req = i.json()?;
    Out::json(&i.svc().create_channel(i.caller()?, &server, req).await?)
}

/// `GET /v1/servers/{id}/channels`.
pub(super) async fn list_channels(i: &Input<'_>) -> Handled {
    let server: ServerId = i.id(EntityKind::Server)?;
    Out::json(&i.svc().list_channels(i.caller()?, &server).await?)
}

/// `GET /v1/channels/{id}`.
pub(super) async fn get_channel(i: &Input<'_>) -> Handled {
    let id: ChannelId = i.id(EntityKind::Channel)?;
    Out::json(&i.svc().get_channel(i.caller()?, &id).await?)
}

/// `PATCH /v1/channels/{id}`.
pub(super) async fn update_channel(i: &Input<'_>) -> Handled {
    let id: ChannelId = i.id(EntityKind::Channel)?;
    let patch = i.json()?;
    Out::json(&i.svc().update_channel(i.caller()?, &id, patch).await?)
}

/// `DELETE /v1/channels/{id}`.
pub(super) async fn delete_channel(i: &Input<'_>) -> Handled {
    let id: ChannelId = i.id(EntityKind::Channel)?;
    i.svc().delete_channel(i.caller()?, &id).await?;
    Ok(Out::Empty)
}
