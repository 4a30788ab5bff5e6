//! Platform administration (SPEC §2, §8): creating organizations with their first owner,
//! listing organizations and users, tiers and temporary overrides, the global audit log.

use switchboard_domain::entities::{Organization, User, valid_slug};
use switchboard_domain::ids::{OrgId, UserId};
use switchboard_domain::permissions::authorize_platform;
use switchboard_domain::tiers::{OverrideKind, Tier, TierOverride};
use switchboard_domain::{Caller, ChangeSet, EntityKind, Role};
use switchboard_storage::{ApiToken, AuditEntry, Reader};

use super::types::{NewOrg, NewOverride, OrgCreated, TierChange, email, optional, required};
use super::{Switchboard, found};
use crate::error::{ServiceError, ServiceResult};

impl Switchboard {
    /// `POST /v1/orgs`: an organization and its first owner, whose token is returned once.
    pub async fn create_org(&self, caller: &Caller, req: NewOrg) -> ServiceResult<OrgCreated> {
        authorize_platform(caller)?;
        let name = required("name", &req.name)?;
        let slug = req.slug.trim().to_owned();
        if !valid_slug(&slug) {
            return Err(ServiceError::invalid(
                "slug",
                "2–63 characters of a-z, 0-9 and inner '-'",
            ));
        }
        let owner_email = email("owner.email", &req.owner.email)?;
        let owner_name = required("owner.name", &req.owner.name)?;
        let description = optional("description", req.description.as_deref().unwrap_or(""))?;
        let now = self.now();
        let org = Organization {
            id: OrgId::generate(),
            name,
            slug,
            description,
            discoverable: req.discoverable.unwrap_or(false),
            tier: req.tier.unwrap_or(Tier::Free),
            overrides: vec![],
            created_at: now,
        };
        let owner = User {
            id: UserId::generate(),
            org_id: org.id.clone(),
            email: owner_email,
            name: owner_name,
            role: Role::Owner,
            platform_admin: false,
            created_at: now,
        };
        let token = ApiToken::generate();
        let mut changes = ChangeSet::default();
        changes.audit(
            caller,
            vec![org.id.clone()],
            "org.create",
            org.id.as_str(),
            serde_json::json!({"slug": org.slug, "tier": org.tier, "owner": owner.id}),
            now,
        );
        let (o, u, t) = (org.clone(), owner.clone(), token.as_str().to_owned());
        self.change(&org.id, move |tx| {
            tx.put_org(&o)?;
            super::org::put_user_with_token(tx, &u, &t, "owner", now)?;
            Ok(((), changes))
        })
        .await?;
        Ok(OrgCreated {
            org,
            owner,
            owner_token: token.as_str().to_owned(),
        })
    }

    /// `GET /v1/admin/orgs`.
    pub async fn admin_list_orgs(&self, caller: &Caller) -> ServiceResult<Vec<Organization>> {
        authorize_platform(caller)?;
        self.core.store.read(|tx| Ok(tx.list_orgs()?)).await
    }

    /// `GET /v1/admin/users`.
    pub async fn admin_list_users(&self, caller: &Caller) -> ServiceResult<Vec<User>> {
        authorize_platform(caller)?;
        self.core.store.read(|tx| Ok(tx.list_users()?)).await
    }

    /// `PUT /v1/admin/orgs/{id}/tier`. Downgrading never deletes anything; it blocks new things.
    pub async fn admin_set_tier(
        &self,
        caller: &Caller,
        org: &OrgId,
        req: TierChange,
    ) -> ServiceResult<Organization> {
        authorize_platform(caller)?;
        let (caller2, now) = (caller.clone(), self.now());
        self.change(org, {
            let org = org.clone();
            move |tx| {
                let mut o = found(tx.get_org(&org)?, EntityKind::Organization)?;
                let from = o.tier;
                o.tier = req.tier;
                tx.put_org(&o)?;
                let changes = super::audited(
                    &caller2,
                    vec![o.id.clone()],
                    "org.set_tier",
                    o.id.as_str(),
                    serde_json::json!({"from": from, "to": o.tier}),
                    now,
                );
                Ok((o, changes))
            }
        })
        .await
    }

    /// `POST /v1/admin/orgs/{id}/overrides`: a feature, or a limit and value, until `expires_at`.
    pub async fn admin_add_override(
        &self,
        caller: &Caller,
        org: &OrgId,
        req: NewOverride,
    ) -> ServiceResult<Organization> {
        authorize_platform(caller)?;
        let kind = match (req.feature, req.limit) {
            (Some(feature), None) if req.value.is_none() => OverrideKind::Feature { feature },
            (None, Some(limit)) => OverrideKind::Limit {
                limit,
                value: req.value,
            },
            _ => {
                return Err(ServiceError::invalid(
                    "feature",
                    "give either `feature`, or `limit` with `value`",
                ));
            }
        };
        let now = self.now();
        if req.expires_at <= now {
            return Err(ServiceError::invalid("expires_at", "must be in the future"));
        }
        let ov = TierOverride {
            kind,
            expires_at: req.expires_at,
        };
        let caller2 = caller.clone();
        self.change(org, {
            let org = org.clone();
            move |tx| {
                let mut o = found(tx.get_org(&org)?, EntityKind::Organization)?;
                o.overrides.retain(|x| x.applies_at(now));
                o.overrides.push(ov);
                tx.put_org(&o)?;
                let changes = super::audited(
                    &caller2,
                    vec![o.id.clone()],
                    "org.add_override",
                    o.id.as_str(),
                    serde_json::json!({"override": ov}),
                    now,
                );
                Ok((o, changes))
            }
        })
        .await
    }

    /// `GET /v1/admin/audit`: every organization's events, oldest first after `after`.
    pub async fn admin_audit(
        &self,
        caller: &Caller,
        after: Option<u64>,
        limit: usize,
    ) -> ServiceResult<Vec<AuditEntry>> {
        authorize_platform(caller)?;
        self.core
            .store
            .read(move |tx| Ok(tx.audit_all(after, limit)?))
            .await
    }
}
