//! The organization's notifications and audit log.

use super::{Handled, Input, Out};
use crate::wire::audit_page;

/// `GET /v1/notifications?unread=&limit=`.
pub(super) async fn notifications(i: &Input<'_>) -> Handled {
    let (unread, limit) = (i.query.flag("unread", false)?, i.query.limit()?);
    Out::json(&i.svc().notifications(i.caller()?, unread, limit).await?)
}

/// `GET /v1/audit?after=&limit=`.
pub(super) async fn audit(i: &Input<'_>) -> Handled {
    let (after, limit) = (i.query.integer("after")?, i.query.limit()?);
    let entries = i.svc().audit(i.caller()?, after, limit).await?;
    Out::json(&audit_page(entries))
}
