//! Servers and channels (SPEC §3, §5): creation under tier limits, and the refusal to
//! unpublish or delete what live grants or connections still rely on.

use chrono::{DateTime, Utc};

use crate::caller::Caller;
use crate::entities::{Channel, Organization, Server};
use crate::permissions::{Action, authorize};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::tiers::{Limit, TierTable};

/// Whether the caller may register one more server for `org`, which has `servers` now.
pub fn create_server(
    caller: &Caller,
    org: &Organization,
    servers: u32,
    tiers: &TierTable,
    now: DateTime<Utc>,
) -> Decision<()> {
    authorize(
        caller,
        &org.id,
        Action::ManageCatalog,
        EntityKind::Organization,
    )?;
    org.limits(tiers, now)
        .check_room_for_one(Limit::Servers, servers)
}

/// Whether the caller may change `server`.
pub fn update_server(caller: &Caller, server: &Server) -> Decision<()> {
    authorize(
        caller,
        &server.org_id,
        Action::ManageCatalog,
        EntityKind::Server,
    )
}

/// Whether the caller may delete `server`; `live_connections` counts its non-terminal
/// connections and `channels` its channels.
pub fn delete_server(
    caller: &Caller,
    server: &Server,
    channels: u32,
    live_connections: u32,
) -> Decision<()> {
    update_server(caller, server)?;
    if channels > 0 {
        return Err(Refusal::Conflict {
            reason: "delete the server's channels first",
        });
    }
    if live_connections > 0 {
        return Err(Refusal::Conflict {
            reason: "terminate the server's connections first",
        });
    }
    Ok(())
}

/// Whether the caller may add one more channel to `server` (owned by `org`), which has
/// `channels` now.
pub fn create_channel(
    caller: &Caller,
    org: &Organization,
    server: &Server,
    channels: u32,
    tiers: &TierTable,
    now: DateTime<Utc>,
) -> Decision<()> {
    update_server(caller, server)?;
    if org.id != server.org_id {
        return Err(Refusal::NotFound {
            kind: EntityKind::Server,
        });
    }
    org.limits(tiers, now)
        .check_room_for_one(Limit::ChannelsPerServer, channels)
}

/// Whether the caller may change `channel` so that it is published or not; `live_grants`
/// counts its pending, requested and approved grants.
pub fn update_channel(
    caller: &Caller,
    channel: &Channel,
    published: bool,
    live_grants: u32,
) -> Decision<()> {
    authorize(
        caller,
        &channel.org_id,
        Action::ManageCatalog,
        EntityKind::Channel,
    )?;
    if channel.published && !published && live_grants > 0 {
        return Err(Refusal::Conflict {
            reason: "revoke the channel's grants before unpublishing it",
        });
    }
    Ok(())
}

/// Whether the caller may delete `channel`; `live_grants` as for [`update_channel`].
pub fn delete_channel(caller: &Caller, channel: &Channel, live_grants: u32) -> Decision<()> {
    authorize(
        caller,
        &channel.org_id,
        Action::ManageCatalog,
        EntityKind::Channel,
    )?;
    if live_grants > 0 {
        return Err(Refusal::Conflict {
            reason: "revoke the channel's grants before deleting it",
        });
    }
    Ok(())
}
