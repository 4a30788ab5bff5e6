//! The caller and their organization: `me`, the profile, members, tokens, the Directory.

use switchboard_domain::EntityKind;
use switchboard_domain::ids::UserId;

use super::{Handled, Input, Out};

/// `GET /v1/me`.
pub(super) async fn me(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().me(i.caller()?).await?)
}

/// `GET /v1/org`.
pub(super) async fn get(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().get_org(i.caller()?).await?)
}

/// `PATCH /v1/org`.
pub(super) async fn update(i: &Input<'_>) -> Handled {
    let patch = i.json()?;
    Out::json(&i.svc().update_org(i.caller()?, patch).await?)
}

/// `GET /v1/org/members`.
pub(super) async fn list_members(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().list_members(i.caller()?).await?)
}

/// `POST /v1/org/members`.
pub(super) async fn add_member(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().add_member(i.caller()?, req).await?)
}

/// `PATCH /v1/org/members/{id}`.
pub(super) async fn update_member(i: &Input<'_>) -> Handled {
    let user: UserId = i.id(EntityKind::User)?;
    let patch = i.json()?;
    Out::json(&i.svc().update_member(i.caller()?, &user, patch).await?)
}

/// `DELETE /v1/org/members/{id}`.
pub(super) async fn remove_member(i: &Input<'_>) -> Handled {
    let user: UserId = i.id(EntityKind::User)?;
    i.svc().remove_member(i.caller()?, &user).await?;
    Ok(Out::Empty)
}

/// `POST /v1/tokens`.
pub(super) async fn create_token(i: &Input<'_>) -> Handled {
    let req = i.json()?;
    Out::json(&i.svc().create_token(i.caller()?, req).await?)
}

/// `GET /v1/directory?q=`.
pub(super) async fn directory(i: &Input<'_>) -> Handled {
    Out::json(&i.svc().directory(i.caller()?, i.query.get("q")).await?)
}
