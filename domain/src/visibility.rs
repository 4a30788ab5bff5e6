//! What each caller may see (SPEC §2): projections of channels, servers and connections. The
//! list and detail views here have no field that could hold a secret or a registration token,
//! so no code path can leak one through them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::caller::Caller;
use crate::entities::{
    Agreement, Channel, Connection, ConnectionKind, ConnectionMode, ConnectionStatus, Connectivity,
    Direction, Server,
};
use crate::ids::{AgreementId, ChannelId, ConnectionId, GrantId, OrgId, ServerId};
use crate::permissions::{Action, authorize};
use crate::refusal::{Decision, EntityKind, Refusal};

/// The peer name shown for a self-agreement.
pub const SELF_PEER_NAME: &str = "Self";

/// A channel as a peer sees it: public fields only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerChannel {
    /// Its id.
    pub id: ChannelId,
    /// The public name.
    pub public_name: String,
    /// The public description.
    pub public_description: String,
    /// Listener or sender.
    pub direction: Direction,
}

/// A channel as `viewer` may see it: everything for its owner (and in a self-agreement),
/// public fields for a peer, nothing for an unpublished channel of someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ChannelView {
    /// The owner's full view.
    Owner(Channel),
    /// A peer's public view.
    Peer(PeerChannel),
}

/// Projects `channel` for an organization.
pub fn channel_for(viewer: &OrgId, channel: &Channel) -> Option<ChannelView> {
    if &channel.org_id == viewer {
        Some(ChannelView::Owner(channel.clone()))
    } else if channel.published {
        Some(ChannelView::Peer(PeerChannel {
            id: channel.id.clone(),
            public_name: channel.public_name.clone(),
            public_description: channel.public_description.clone(),
            direction: channel.direction,
        }))
    } else {
        None
    }
}

/// A server as a party of a connection involving it sees it: name and description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerSummary {
    /// Its id.
    pub id: ServerId,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
}

impl From<&Server> for ServerSummary {
    fn from(s: &Server) -> Self {
        ServerSummary {
            id: s.id.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
        }
    }
}

/// The secret facts a connection view shows: never the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecretFacts {
    /// Rotation count.
    pub generation: u32,
    /// Whether the viewer's side(s) may still reveal it.
    pub viewable: bool,
}

/// A connection as a party sees it in lists and details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionView {
    /// Its id.
    pub id: ConnectionId,
    /// P2P or admin.
    pub kind: ConnectionKind,
    /// Transport mode.
    pub mode: ConnectionMode,
    /// The agreement.
    pub agreement_id: AgreementId,
    /// The grant (p2p).
    pub grant_id: Option<GrantId>,
    /// The source server; `None` while an admin offer is open.
    pub source_server: Option<ServerSummary>,
    /// The target server.
    pub target_server: ServerSummary,
    /// `"{source} → {target}"`.
    pub route: String,
    /// The other party's name, or "Self".
    pub peer_name: String,
    /// The viewer's side(s).
    pub your_sides: Vec<&'static str>,
    /// Current status.
    pub status: ConnectionStatus,
    /// Why it has this status.
    pub status_reason: Option<String>,
    /// Secret facts for the viewer.
    pub secret: SecretFacts,
    /// Presence and tunnel state.
    pub connectivity: Connectivity,
    /// When an open admin offer expires.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
}

/// The facts needed to project a connection, loaded by the caller.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionContext<'a> {
    /// The source server, once chosen.
    pub source: Option<&'a Server>,
    /// The target server.
    pub target: &'a Server,
    /// The name of the organization on the other side from the viewer.
    pub peer_org_name: &'a str,
}

/// Projects `conn` for `viewer`; `None` if the viewer is not a party.
pub fn connection_for(
    viewer: &OrgId,
    conn: &Connection,
    ctx: ConnectionContext<'_>,
) -> Option<ConnectionView> {
    let sides = conn.sides_of(viewer);
    if sides.is_empty() {
        return None;
    }
    let peer_name = if conn.source_org == conn.target_org {
        SELF_PEER_NAME.to_owned()
    } else {
        ctx.peer_org_name.to_owned()
    };
    let source_name = ctx.source.map_or("(not chosen yet)", |s| s.name.as_str());
    let viewable = !conn.status.is_terminal()
        && conn.secret.plaintext_kept
        && (conn.kind != ConnectionKind::P2p || sides.iter().any(|s| !conn.secret.viewed(*s)));
    Some(ConnectionView {
        id: conn.id.clone(),
        kind: conn.kind,
        mode: conn.mode,
        agreement_id: conn.agreement_id.clone(),
        grant_id: conn.grant_id.clone(),
        source_server: ctx.source.map(ServerSummary::from),
        target_server: ServerSummary::from(ctx.target),
        route: format!("{} → {}", source_name, ctx.target.name),
        peer_name,
        your_sides: sides.iter().map(|s| s.as_str()).collect(),
        status: conn.status,
        status_reason: conn.status_reason.clone(),
        secret: SecretFacts {
            generation: conn.secret.generation,
            viewable,
        },
        connectivity: conn.connectivity,
        offer_expires_at: conn.offer_expires_at,
        created_at: conn.created_at,
        updated_at: conn.updated_at,
    })
}

/// The peer's display name in an agreement: "Self" for a self-agreement.
pub fn agreement_peer_name<'a>(agreement: &Agreement, other_org_name: &'a str) -> &'a str {
    if agreement.is_self() {
        SELF_PEER_NAME
    } else {
        other_org_name
    }
}

/// Whether the caller may read a connection's connector configuration: only an owner or admin
/// of the target server's organization; anyone else gets 404.
pub fn connector_config_access(caller: &Caller, conn: &Connection) -> Decision<()> {
    if let Caller::PlatformAdmin { .. } = caller {
        return Err(Refusal::NotFound {
            kind: EntityKind::Connection,
        });
    }
    if caller.org().is_some_and(|org| !conn.has_party(org)) {
        return Err(Refusal::NotFound {
            kind: EntityKind::Connection,
        });
    }
    authorize(
        caller,
        &conn.target_org,
        Action::ManageConnections,
        EntityKind::Connection,
    )
}
