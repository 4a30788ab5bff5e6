//! Servers and channels (SPEC §3, §5): creation under tier limits, updates, and deletion or
//! unpublishing only when nothing live depends on them.

use switchboard_domain::entities::{Channel, Server};
use switchboard_domain::ids::{ChannelId, ServerId};
use switchboard_domain::permissions::{Action, authorize};
use switchboard_domain::rules::catalog;
use switchboard_domain::{Caller, EntityKind};
use switchboard_storage::Reader;

use super::org::member_org;
use super::types::{ChannelPatch, NewChannel, NewServer, ServerPatch, optional, required};
use super::{Switchboard, found};
use crate::error::ServiceResult;

impl Switchboard {
    /// `POST /v1/servers`.
    pub async fn create_server(&self, caller: &Caller, req: NewServer) -> ServiceResult<Server> {
        let org_id = member_org(caller)?;
        let name = required("name", &req.name)?;
        let kind = required("kind", &req.kind)?;
        let description = optional("description", req.description.as_deref().unwrap_or(""))?;
        let version = optional("version", req.version.as_deref().unwrap_or(""))?;
        let (caller2, now, tiers) = (caller.clone(), self.now(), self.core.tiers);
        self.change(&org_id, {
            let org_id = org_id.clone();
            move |tx| {
                let org = found(tx.get_org(&org_id)?, EntityKind::Organization)?;
                catalog::create_server(
                    &caller2,
                    &org,
                    tx.count_servers_of_org(&org.id)?,
                    &tiers,
                    now,
                )?;
                let server = Server {
                    id: ServerId::generate(),
                    org_id: org.id.clone(),
                    name: name.clone(),
                    description: description.clone(),
                    kind: kind.clone(),
                    version: version.clone(),
                    created_at: now,
                };
                tx.put_server(&server)?;
                let changes = super::audited(
                    &caller2,
                    vec![org.id.clone()],
                    "server.create",
                    server.id.as_str(),
                    serde_json::json!({"name": server.name}),
                    now,
                );
                Ok((server, changes))
            }
        })
        .await
    }

    /// `GET /v1/servers`.
    pub async fn list_servers(&self, caller: &Caller) -> ServiceResult<Vec<Server>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Server)?;
        self.core
            .store
            .read(move |tx| Ok(tx.servers_of_org(&org)?))
            .await
    }

    /// `GET /v1/servers/{id}`.
    pub async fn get_server(&self, caller: &Caller, id: &ServerId) -> ServiceResult<Server> {
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let server = found(tx.get_server(&id)?, EntityKind::Server)?;
                authorize(&caller, &server.org_id, Action::Read, EntityKind::Server)?;
                Ok(server)
            })
            .await
    }

    /// `PATCH /v1/servers/{id}`.
    pub async fn update_server(
        &self,
        caller: &Caller,
        id: &ServerId,
        patch: ServerPatch,
    ) -> ServiceResult<Server> {
        let org_id = member_org(caller)?;
        let name = patch
            .name
            .as_deref()
            .map(|v| required("name", v))
            .transpose()?;
        let kind = patch
            .kind
            .as_deref()
            .map(|v| required("kind", v))
            .transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(|v| optional("description", v))
            .transpose()?;
        let version = patch
            .version
            .as_deref()
            .map(|v| optional("version", v))
            .transpose()?;
        let (caller2, id, now) = (caller.clone(), id.clone(), self.now());
        self.change(&org_id, move |tx| {
            let mut server = found(tx.get_server(&id)?, EntityKind::Server)?;
            catalog::update_server(&caller2, &server)?;
            if let Some(v) = name.clone() {
                server.name = v;
            }
            if let Some(v) = kind.clone() {
                server.kind = v;
            }
            if let Some(v) = description.clone() {
                server.description = v;
            }
            if let Some(v) = version.clone() {
                server.version = v;
            }
            tx.put_server(&server)?;
            let changes = super::audited(
                &caller2,
                vec![server.org_id.clone()],
                "server.update",
                server.id.as_str(),
                serde_json::json!({}),
                now,
            );
            Ok((server, changes))
        })
        .await
    }

    /// `DELETE /v1/servers/{id}`: refused while it has channels or live connections.
    pub async fn delete_server(&self, caller: &Caller, id: &ServerId) -> ServiceResult<()> {
        let org_id = member_org(caller)?;
        let (caller2, id, now) = (caller.clone(), id.clone(), self.now());
        self.change(&org_id, move |tx| {
            let server = found(tx.get_server(&id)?, EntityKind::Server)?;
            let channels = tx.count_channels_of_server(&server.id)?;
            let live = tx
                .connections_of_server(&server.id)?
                .iter()
                .filter(|c| !c.status.is_terminal())
                .count() as u32;
            catalog::delete_server(&caller2, &server, channels, live)?;
            tx.delete_server(&server.id)?;
            let changes = super::audited(
                &caller2,
                vec![server.org_id.clone()],
                "server.delete",
                server.id.as_str(),
                serde_json::json!({"name": server.name}),
                now,
            );
            Ok(((), changes))
        })
        .await
    }

    /// `POST /v1/servers/{id}/channels`.
    pub async fn create_channel(
        &self,
        caller: &Caller,
        server: &ServerId,
        req: NewChannel,
    ) -> ServiceResult<Channel> {
        let org_id = member_org(caller)?;
        let internal_name = required("internal_name", &req.internal_name)?;
        let public_name = required("public_name", &req.public_name)?;
        let public_description = optional(
            "public_description",
            req.public_description.as_deref().unwrap_or(""),
        )?;
        let (caller2, server, now, tiers) =
            (caller.clone(), server.clone(), self.now(), self.core.tiers);
        self.change(&org_id, {
            let org_id = org_id.clone();
            move |tx| {
                let server = found(tx.get_server(&server)?, EntityKind::Server)?;
                let org = found(tx.get_org(&org_id)?, EntityKind::Organization)?;
                catalog::create_channel(
                    &caller2,
                    &org,
                    &server,
                    tx.count_channels_of_server(&server.id)?,
                    &tiers,
                    now,
                )?;
                let channel = Channel {
                    id: ChannelId::generate(),
                    server_id: server.id.clone(),
                    org_id: server.org_id.clone(),
                    internal_name: internal_name.clone(),
                    public_name: public_name.clone(),
                    public_description: public_description.clone(),
                    direction: req.direction,
                    published: req.published.unwrap_or(false),
                    created_at: now,
                };
                tx.put_channel(&channel)?;
                let changes = super::audited(
                    &caller2,
                    vec![org.id.clone()],
                    "channel.create",
                    channel.id.as_str(),
                    serde_json::json!({"server_id": server.id, "published": channel.published}),
                    now,
                );
                Ok((channel, changes))
            }
        })
        .await
    }

    /// `GET /v1/servers/{id}/channels`.
    pub async fn list_channels(
        &self,
        caller: &Caller,
        server: &ServerId,
    ) -> ServiceResult<Vec<Channel>> {
        let (caller, server) = (caller.clone(), server.clone());
        self.core
            .store
            .read(move |tx| {
                let server = found(tx.get_server(&server)?, EntityKind::Server)?;
                authorize(&caller, &server.org_id, Action::Read, EntityKind::Server)?;
                Ok(tx.channels_of_server(&server.id)?)
            })
            .await
    }

    /// `GET /v1/channels/{id}` (the owner's full view; peers see channels through agreements).
    pub async fn get_channel(&self, caller: &Caller, id: &ChannelId) -> ServiceResult<Channel> {
        let (caller, id) = (caller.clone(), id.clone());
        self.core
            .store
            .read(move |tx| {
                let channel = found(tx.get_channel(&id)?, EntityKind::Channel)?;
                authorize(&caller, &channel.org_id, Action::Read, EntityKind::Channel)?;
                Ok(channel)
            })
            .await
    }

    /// `PATCH /v1/channels/{id}`: unpublishing is refused while live grants exist.
    pub async fn update_channel(
        &self,
        caller: &Caller,
        id: &ChannelId,
        patch: ChannelPatch,
    ) -> ServiceResult<Channel> {
        let org_id = member_org(caller)?;
        let internal_name = patch
            .internal_name
            .as_deref()
            .map(|v| required("internal_name", v))
            .transpose()?;
        let public_name = patch
            .public_name
            .as_deref()
            .map(|v| required("public_name", v))
            .transpose()?;
        let public_description = patch
            .public_description
            .as_deref()
            .map(|v| optional("public_description", v))
            .transpose()?;
        let (caller2, id, now) = (caller.clone(), id.clone(), self.now());
        self.change(&org_id, move |tx| {
            let mut channel = found(tx.get_channel(&id)?, EntityKind::Channel)?;
            let live = tx
                .grants_of_channel(&channel.id)?
                .iter()
                .filter(|g| !g.status.is_terminal())
                .count() as u32;
            catalog::update_channel(
                &caller2,
                &channel,
                patch.published.unwrap_or(channel.published),
                live,
            )?;
            if let Some(v) = internal_name.clone() {
                channel.internal_name = v;
            }
            if let Some(v) = public_name.clone() {
                channel.public_name = v;
            }
            if let Some(v) = public_description.clone() {
                channel.public_description = v;
            }
            if let Some(v) = patch.published {
                channel.published = v;
            }
            tx.put_channel(&channel)?;
            let changes = super::audited(
                &caller2,
                vec![channel.org_id.clone()],
                "channel.update",
                channel.id.as_str(),
                serde_json::json!({"published": channel.published}),
                now,
            );
            Ok((channel, changes))
        })
        .await
    }

    /// `DELETE /v1/channels/{id}`: refused while live grants exist.
    pub async fn delete_channel(&self, caller: &Caller, id: &ChannelId) -> ServiceResult<()> {
        let org_id = member_org(caller)?;
        let (caller2, id, now) = (caller.clone(), id.clone(), self.now());
        self.change(&org_id, move |tx| {
            let channel = found(tx.get_channel(&id)?, EntityKind::Channel)?;
            let live = tx
                .grants_of_channel(&channel.id)?
                .iter()
                .filter(|g| !g.status.is_terminal())
                .count() as u32;
            catalog::delete_channel(&caller2, &channel, live)?;
            tx.delete_channel(&channel.id)?;
            let changes = super::audited(
                &caller2,
                vec![channel.org_id.clone()],
                "channel.delete",
                channel.id.as_str(),
                serde_json::json!({}),
                now,
            );
            Ok(((), changes))
        })
        .await
    }
}
