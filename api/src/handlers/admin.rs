//! Platform administration: organizations, users, tiers, overrides, the global audit log and
//! support rotation of secrets.

use switchboard_domain::EntityKind;
use switchboard_domain::ids::{ConnectionId, OrgId};

use super::{Handled, Input, Out};
use crate::wire::audit_page;

/// `POST /v1/orgs`.
pub(super) async fn create_org(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().create_org(i.caller()?, req).await?)
}

/// `GET /v1/admin/orgs`.
pub(super) async fn list_orgs(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().admin_list_orgs(i.caller()?).await?)
}

/// `GET /v1/admin/users`.
pub(super) async fn list_users(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().admin_list_users(i.caller()?).await?)
}

/// `PUT /v1/admin/orgs/{id}/tier`.
pub(super) async fn set_tier(i: &Input<'_>) -> Handled {
    let org: OrgId = i.id(EntityKind::Organization)?;
    let req = i.json()?;
    Out::json(&i.svc().admin_set_tier(i.caller()?, &org, req).await?)
}

/// `POST /v1/admin/orgs/{id}/overrides`.
pub(super) async fn add_override(i: &Input<'_>) -> Handled {
    let org: OrgId = i.id(EntityKind::Organization)?;
    let req = i.json()?;
    Out::json(&i.svc().admin_add_override(i.caller()?, &org, req).await?)
}

/// `GET /v1/admin/audit?after=&limit=`.
pub(super) async fn audit(i: &Input<'_>) -> Handled {
    let (after, limit) = (i.query.integer("after")?, i.query.limit()?);
    let entries = i.svc().admin_audit(i.caller()?, after, limit).await?;
    Out::json(&audit_page(entries))
}

/// `POST /v1/admin/connections/{id}/secret/rotate`.
pub(super) async fn rotate_secret(i: &Input<'_>) -> Handled {
    let id: ConnectionId = i.id(EntityKind::Connection)?;
    i.no_body()?;
    Out::json(&i.svc().admin_rotate_secret(i.caller()?, &id).await?)
}
