//! Creating connections (SPEC §5–§6): a p2p connection is provisioned explicitly from an
//! approved grant under the direction rules; an admin connection is offered by the owner of
//! the server to be managed and waits for the other party.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::{ChangeSet, Effect};
use crate::entities::{
    Agreement, AgreementStatus, Channel, Connection, ConnectionKind, ConnectionMode,
    ConnectionStatus, Connectivity, Direction, Grant, GrantStatus, NotificationKind, Organization,
    SecretState, Server,
};
use crate::ids::ConnectionId;
use crate::permissions::{Action, authorize, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::tiers::{Feature, TierTable};

/// Everything a p2p provisioning decision needs, loaded by the caller of the rule.
#[derive(Debug, Clone, Copy)]
pub struct P2pRequest<'a> {
    /// The grant's agreement.
    pub agreement: &'a Agreement,
    /// The approved grant.
    pub grant: &'a Grant,
    /// The granted channel.
    pub channel: &'a Channel,
    /// The chosen source server.
    pub source: &'a Server,
    /// The chosen target server.
    pub target: &'a Server,
    /// Requested transport.
    pub mode: ConnectionMode,
    /// Whether a non-terminal connection with the same grant, source and target exists.
    pub duplicate_exists: bool,
}

/// Provisions a p2p connection in status `ready`.
pub fn provision_p2p(
    caller: &Caller,
    req: P2pRequest<'_>,
    now: DateTime<Utc>,
) -> Decision<(Connection, ChangeSet)> {
    let P2pRequest {
        agreement,
        grant,
        channel,
        source,
        target,
        mode,
        duplicate_exists,
    } = req;
    authorize_any(
        caller,
        &agreement.parties(),
        Action::ManageConnections,
        EntityKind::Grant,
    )?;
    if grant.agreement_id != agreement.id || grant.channel_id != channel.id {
        return Err(Refusal::NotFound {
            kind: EntityKind::Grant,
        });
    }
    for server in [source, target] {
        if !agreement.has_party(&server.org_id) {
            return Err(Refusal::NotFound {
                kind: EntityKind::Server,
            });
        }
    }
    if agreement.status != AgreementStatus::Active {
        return Err(Refusal::Conflict {
            reason: "the agreement is revoked",
        });
    }
    if grant.status != GrantStatus::Approved {
        return Err(Refusal::Conflict {
            reason: "the grant is not approved",
        });
    }
    if source.id == target.id {
        return Err(Refusal::Invalid {
            field: "target_server_id",
            problem: "source and target must be different servers",
        });
    }
    match channel.direction {
        Direction::Listener => {
            if target.id != channel.server_id {
                return Err(Refusal::Invalid {
                    field: "target_server_id",
                    problem: "a listener channel's server must be the target",
                });
            }
            if source.org_id != grant.grantee_org {
                return Err(Refusal::Invalid {
                    field: "source_server_id",
                    problem: "the source must be a server of the grantee",
                });
            }
        }
        Direction::Sender => {
            if source.id != channel.server_id {
                return Err(Refusal::Invalid {
                    field: "source_server_id",
                    problem: "a sender channel's server must be the source",
                });
            }
            if target.org_id != grant.grantee_org {
                return Err(Refusal::Invalid {
                    field: "target_server_id",
                    problem: "the target must be a server of the grantee",
                });
            }
        }
    }
    if duplicate_exists {
        return Err(Refusal::Conflict {
            reason: "a live connection with this grant, source and target already exists",
        });
    }
    let conn = Connection {
        id: ConnectionId::generate(),
        kind: ConnectionKind::P2p,
        mode,
        agreement_id: agreement.id.clone(),
        grant_id: Some(grant.id.clone()),
        source_server_id: Some(source.id.clone()),
        target_server_id: target.id.clone(),
        source_org: source.org_id.clone(),
        target_org: target.org_id.clone(),
        status: ConnectionStatus::Ready,
        status_reason: None,
        secret: SecretState::fresh(0),
        connectivity: Connectivity::default(),
        offer_expires_at: None,
        created_at: now,
        updated_at: now,
    };
    let changes = created(
        caller,
        &conn,
        NotificationKind::ConnectionStatusChanged,
        "connection.provision",
        json!({"grant_id": grant.id, "route": format!("{} → {}", source.name, target.name)}),
        now,
    );
    Ok((conn, changes))
}

/// The access an admin connection gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAccess {
    /// Read-write (needs the tier feature).
    ReadWrite,
    /// Read-only (every tier).
    ReadOnly,
}

/// Everything an admin offer decision needs, loaded by the caller of the rule.
#[derive(Debug, Clone, Copy)]
pub struct AdminOffer<'a> {
    /// The agreement the offer is made in.
    pub agreement: &'a Agreement,
    /// The server to be managed (the target), owned by the caller's organization.
    pub server: &'a Server,
    /// The organization owning `server`; its tier decides read-write.
    pub owner: &'a Organization,
    /// Read-write or read-only.
    pub access: AdminAccess,
    /// How long the recipient has to accept (`admin_offer_ttl`).
    pub offer_ttl: Duration,
}

/// Offers an admin connection managing the caller's server to the other party of the
/// agreement; it waits in `offered` until accepted, declined or expired.
pub fn offer_admin(
    caller: &Caller,
    offer: AdminOffer<'_>,
    tiers: &TierTable,
    now: DateTime<Utc>,
) -> Decision<(Connection, ChangeSet)> {
    let AdminOffer {
        agreement,
        server,
        owner,
        access,
        offer_ttl,
    } = offer;
    authorize_any(
        caller,
        &agreement.parties(),
        Action::ManageConnections,
        EntityKind::Agreement,
    )?;
    authorize(
        caller,
        &server.org_id,
        Action::ManageConnections,
        EntityKind::Server,
    )?;
    if !agreement.has_party(&server.org_id) || owner.id != server.org_id {
        return Err(Refusal::NotFound {
            kind: EntityKind::Server,
        });
    }
    if agreement.status != AgreementStatus::Active {
        return Err(Refusal::Conflict {
            reason: "the agreement is revoked",
        });
    }
    if access == AdminAccess::ReadWrite {
        owner
            .limits(tiers, now)
            .check_feature(tiers, Feature::AdminRw)?;
    }
    let recipient = agreement
        .other_party(&server.org_id)
        .unwrap_or(&server.org_id)
        .clone();
    let conn = Connection {
        id: ConnectionId::generate(),
        kind: match access {
            AdminAccess::ReadWrite => ConnectionKind::AdminRw,
            AdminAccess::ReadOnly => ConnectionKind::AdminRo,
        },
        mode: ConnectionMode::Webrtc,
        agreement_id: agreement.id.clone(),
        grant_id: None,
        source_server_id: None,
        target_server_id: server.id.clone(),
        source_org: recipient,
        target_org: server.org_id.clone(),
        status: ConnectionStatus::Offered,
        status_reason: None,
        secret: SecretState::fresh(0),
        connectivity: Connectivity::default(),
        offer_expires_at: Some(now + offer_ttl),
        created_at: now,
        updated_at: now,
    };
    let changes = created(
        caller,
        &conn,
        NotificationKind::AdminOfferReceived,
        "connection.offer_admin",
        json!({"kind": conn.kind.as_str(), "server_id": server.id}),
        now,
    );
    Ok((conn, changes))
}

fn created(
    caller: &Caller,
    conn: &Connection,
    kind: NotificationKind,
    action: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    changes.effects.push(Effect::IssueSecret {
        connection: conn.id.clone(),
        generation: 0,
    });
    for org in conn.parties() {
        if caller.org() != Some(&org) || conn.source_org == conn.target_org {
            let text = format!(
                "New {} connection {} ({})",
                conn.kind.as_str(),
                conn.id,
                conn.status.as_str()
            );
            changes.notify(&org, kind, text, conn.id.as_str(), now);
        }
    }
    changes.audit(
        caller,
        conn.parties(),
        action,
        conn.id.as_str(),
        details,
        now,
    );
    changes.connections.push(conn.clone());
    changes
}
