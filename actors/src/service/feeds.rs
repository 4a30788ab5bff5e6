//! Notifications and the organization's audit log (SPEC §8 feeds).

use switchboard_domain::entities::Notification;
use switchboard_domain::permissions::{Action, authorize};
use switchboard_domain::{Caller, EntityKind};
use switchboard_storage::{AuditEntry, Reader};

use super::Switchboard;
use super::org::member_org;
use crate::error::ServiceResult;

impl Switchboard {
    /// `GET /v1/notifications`: newest first.
    pub async fn notifications(
        &self,
        caller: &Caller,
        unread_only: bool,
        limit: usize,
    ) -> ServiceResult<Vec<Notification>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Organization)?;
        self.core
            .store
            .read(move |tx| Ok(tx.notifications_for_org(&org, unread_only, limit)?))
            .await
    }

    /// `GET /v1/audit`: the organization's events, oldest first after `after` (owners, admins).
    pub async fn audit(
        &self,
        caller: &Caller,
        after: Option<u64>,
        limit: usize,
    ) -> ServiceResult<Vec<AuditEntry>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::ReadAudit, EntityKind::Organization)?;
        self.core
            .store
            .read(move |tx| Ok(tx.audit_for_org(&org, after, limit)?))
            .await
    }
}
