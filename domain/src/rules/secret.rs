//! Secret rules (SPEC §7, §8): who may view a connection's secret and how often, who may
//! rotate it, and what enrollment counts as. Rate limits are the actors' job; the secret
//! itself never passes through here — only its [`SecretState`] bookkeeping.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::caller::Caller;
use crate::changes::{ChangeSet, Effect};
use crate::entities::{
    Connection, ConnectionKind, NotificationKind, Organization, SecretState, Side,
};
use crate::permissions::{Action, authorize_any};
use crate::refusal::{Decision, EntityKind, Refusal};
use crate::tiers::{Feature, TierTable};

/// A permitted view: which side's view it counts as, and the updated connection.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretView {
    /// The side this view counts for.
    pub side: Side,
    /// The connection with its secret bookkeeping updated.
    pub connection: Connection,
    /// What to commit (the connection, audit, maybe forgetting the plaintext).
    pub changes: ChangeSet,
}

/// Decides a View Secret request by an owner/admin of an organization owning one of the
/// connection's servers. A p2p secret is revealed once per side; an admin secret again and
/// again. Platform admins never see secrets.
pub fn view(caller: &Caller, conn: &Connection, now: DateTime<Utc>) -> Decision<SecretView> {
    if let Caller::PlatformAdmin { .. } = caller {
        return Err(Refusal::Forbidden {
            reason: "platform admins never see secrets",
        });
    }
    authorize_any(
        caller,
        &conn.parties(),
        Action::ViewSecret,
        EntityKind::Connection,
    )?;
    let org = caller.org().ok_or(Refusal::Forbidden {
        reason: "secrets are viewed by organization members",
    })?;
    let sides: Vec<Side> = conn
        .sides_of(org)
        .into_iter()
        .filter(|side| *side == Side::Target || conn.source_server_id.is_some())
        .collect();
    if sides.is_empty() {
        return Err(Refusal::Conflict {
            reason: "accept the admin offer before viewing its secret",
        });
    }
    if conn.status.is_terminal() || !conn.secret.plaintext_kept {
        return Err(Refusal::SecretUnavailable);
    }
    let side = if conn.kind == ConnectionKind::P2p {
        *sides
            .iter()
            .find(|side| !conn.secret.viewed(**side))
            .ok_or(Refusal::SecretUnavailable)?
    } else {
        sides[0]
    };
    reveal_to(caller, conn, side, "secret.view", now)
}

/// Decides an enrollment: a gateway exchanging a valid registration token for the secret. It
/// counts as the target side's view of a p2p secret (the token checks are the caller's).
pub fn enroll(conn: &Connection, now: DateTime<Utc>) -> Decision<SecretView> {
    if conn.status.is_terminal() {
        return Err(Refusal::SecretUnavailable);
    }
    if !conn.secret.plaintext_kept
        || (conn.kind == ConnectionKind::P2p && conn.secret.viewed(Side::Target))
    {
        return Err(Refusal::SecretUnavailable);
    }
    reveal_to(&Caller::System, conn, Side::Target, "secret.enroll", now)
}

fn reveal_to(
    caller: &Caller,
    conn: &Connection,
    side: Side,
    action: &str,
    now: DateTime<Utc>,
) -> Decision<SecretView> {
    let mut updated = conn.clone();
    updated.secret.mark_viewed(side);
    let mut changes = ChangeSet::default();
    if conn.kind == ConnectionKind::P2p
        && updated.secret.source_viewed
        && updated.secret.target_viewed
    {
        updated.secret.plaintext_kept = false;
        changes.effects.push(Effect::ForgetSecretPlaintext {
            connection: conn.id.clone(),
        });
    }
    changes.audit(
        caller,
        conn.parties(),
        action,
        conn.id.as_str(),
        json!({"side": side.as_str(), "generation": conn.secret.generation}),
        now,
    );
    changes.connections.push(updated.clone());
    Ok(SecretView {
        side,
        connection: updated,
        changes,
    })
}

/// A permitted rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// The side the new secret is revealed to (and counted for); `None` for a platform admin,
    /// who never receives it.
    pub revealed_to: Option<Side>,
    /// The connection with a fresh secret generation.
    pub connection: Connection,
    /// What to commit, then kick gateways and drop relay allocations.
    pub changes: ChangeSet,
}

/// Decides a rotation. `caller_org` is the caller's organization (its tier decides), `None`
/// for a platform admin, who may rotate on any tier.
pub fn rotate(
    caller: &Caller,
    conn: &Connection,
    caller_org: Option<&Organization>,
    tiers: &TierTable,
    now: DateTime<Utc>,
) -> Decision<Rotation> {
    authorize_any(
        caller,
        &conn.parties(),
        Action::RotateSecret,
        EntityKind::Connection,
    )?;
    let mut revealed_to = None;
    if let Some(org_id) = caller.org() {
        let org = caller_org
            .filter(|o| &o.id == org_id)
            .ok_or(Refusal::NotFound {
                kind: EntityKind::Organization,
            })?;
        org.limits(tiers, now)
            .check_feature(tiers, Feature::SecretRotation)?;
        revealed_to = conn
            .sides_of(org_id)
            .into_iter()
            .find(|side| *side == Side::Target || conn.source_server_id.is_some());
        if revealed_to.is_none() {
            return Err(Refusal::Conflict {
                reason: "accept the admin offer before rotating its secret",
            });
        }
    }
    if conn.status.is_terminal() {
        return Err(Refusal::InvalidTransition {
            from: conn.status.as_str(),
            event: "rotate",
        });
    }
    let mut updated = conn.clone();
    updated.secret = SecretState::fresh(conn.secret.generation.saturating_add(1));
    if let Some(side) = revealed_to {
        updated.secret.mark_viewed(side);
    }
    updated.updated_at = now;
    let mut changes = ChangeSet::default();
    let id = conn.id.clone();
    changes.effects.push(Effect::IssueSecret {
        connection: id.clone(),
        generation: updated.secret.generation,
    });
    changes.effects.push(Effect::KickGateways {
        connection: id.clone(),
    });
    changes.effects.push(Effect::DropRelayAllocations {
        connection: id.clone(),
    });
    for org in conn.parties() {
        if caller.org() != Some(&org) || conn.source_org == conn.target_org {
            changes.notify(
                &org,
                NotificationKind::SecretRotated,
                format!("The secret of connection {id} was rotated; gateways must use the new one"),
                id.as_str(),
                now,
            );
        }
    }
    changes.audit(caller, conn.parties(), "secret.rotate", id.as_str(), json!({"generation": updated.secret.generation, "revealed_to": revealed_to.map(Side::as_str)}), now);
    changes.connections.push(updated.clone());
    Ok(Rotation {
        revealed_to,
        connection: updated,
        changes,
    })
}
