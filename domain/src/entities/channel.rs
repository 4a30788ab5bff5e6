//! A channel: a message route on a server that may be published to peers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, OrgId, ServerId};

/// Which way data flows through a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Receives from peers: the channel's server is the connection target.
    Listener,
    /// Delivers to a peer: the channel's server is the connection source.
    Sender,
}

/// A channel (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Its id.
    pub id: ChannelId,
    /// The server it runs on.
    pub server_id: ServerId,
    /// The organization owning that server (kept here so rules need not load the server).
    pub org_id: OrgId,
    /// The name inside the owner's engine; visible to the owner only.
    pub internal_name: String,
    /// The name peers see.
    pub public_name: String,
    /// The description peers see.
    pub public_description: String,
    /// Listener or sender.
    pub direction: Direction,
    /// Whether peers can see it and request access.
    pub published: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}
