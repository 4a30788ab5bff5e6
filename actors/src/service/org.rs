//! The caller and their organization (SPEC §2, §8): `me`, the org profile, members and their
//! roles, API tokens, and the Directory of discoverable organizations.

use switchboard_domain::entities::{Organization, User};
use switchboard_domain::ids::{OrgId, UserId};
use switchboard_domain::permissions::{Action, authorize};
use switchboard_domain::rules::members;
use switchboard_domain::{Caller, ChangeSet, EntityKind, Refusal, Role};
use switchboard_storage::{ApiToken, Reader, TokenRecord};

use super::types::{
    DirectoryEntry, Me, MemberCreated, MemberPatch, NewMember, NewToken, OrgPatch, TokenCreated,
    email, optional, required,
};
use super::{Switchboard, found};
use crate::error::{ServiceError, ServiceResult};
use crate::registry::exec;

/// The organization a member acts for; platform admins have none here.
pub(super) fn member_org(caller: &Caller) -> ServiceResult<OrgId> {
    caller
        .org()
        .cloned()
        .ok_or(ServiceError::Refused(Refusal::Forbidden {
            reason: "platform admins act through the admin endpoints",
        }))
}

impl Switchboard {
    /// `GET /v1/me`.
    pub async fn me(&self, caller: &Caller) -> ServiceResult<Me> {
        let user_id = match caller {
            Caller::Member { user, .. } | Caller::PlatformAdmin { user } => user.clone(),
            Caller::System => return Err(ServiceError::Unauthorized("no user")),
        };
        self.core
            .store
            .read(move |tx| {
                let user = found(tx.get_user(&user_id)?, EntityKind::User)?;
                let org = found(tx.get_org(&user.org_id)?, EntityKind::Organization)?;
                Ok(Me { user, org })
            })
            .await
    }

    /// `GET /v1/org`.
    pub async fn get_org(&self, caller: &Caller) -> ServiceResult<Organization> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Organization)?;
        self.core
            .store
            .read(move |tx| found(tx.get_org(&org)?, EntityKind::Organization))
            .await
    }

    /// `PATCH /v1/org`: name, description, discoverability (owners and admins).
    pub async fn update_org(
        &self,
        caller: &Caller,
        patch: OrgPatch,
    ) -> ServiceResult<Organization> {
        let org_id = member_org(caller)?;
        authorize(
            caller,
            &org_id,
            Action::ManageMembers,
            EntityKind::Organization,
        )?;
        let name = patch
            .name
            .as_deref()
            .map(|n| required("name", n))
            .transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(|d| optional("description", d))
            .transpose()?;
        let (caller2, now) = (caller.clone(), self.now());
        self.change(&org_id, {
            let org_id = org_id.clone();
            move |tx| {
                let mut org = found(tx.get_org(&org_id)?, EntityKind::Organization)?;
                if let Some(n) = name.clone() {
                    org.name = n;
                }
                if let Some(d) = description.clone() {
                    org.description = d;
                }
                if let Some(d) = patch.discoverable {
                    org.discoverable = d;
                }
                tx.put_org(&org)?;
                let changes = super::audited(
                    &caller2,
                    vec![org.id.clone()],
                    "org.update",
                    org.id.as_str(),
                    serde_json::json!({"discoverable": org.discoverable}),
                    now,
                );
                Ok((org, changes))
            }
        })
        .await
    }

    /// `GET /v1/org/members`: the organization's users.
    pub async fn list_members(&self, caller: &Caller) -> ServiceResult<Vec<User>> {
        let org = member_org(caller)?;
        authorize(caller, &org, Action::Read, EntityKind::Organization)?;
        self.core
            .store
            .read(move |tx| Ok(tx.users_of_org(&org)?))
            .await
    }

    /// `POST /v1/org/members`: a new member and their first token (shown once).
    pub async fn add_member(
        &self,
        caller: &Caller,
        req: NewMember,
    ) -> ServiceResult<MemberCreated> {
        let org_id = member_org(caller)?;
        members::add(caller, &org_id, req.role)?;
        let now = self.now();
        let user = User {
            id: UserId::generate(),
            org_id: org_id.clone(),
            email: email("email", &req.email)?,
            name: required("name", &req.name)?,
            role: req.role,
            platform_admin: false,
            created_at: now,
        };
        let token = ApiToken::generate();
        let mut changes = ChangeSet::default();
        changes.audit(
            caller,
            vec![org_id.clone()],
            "member.add",
            user.id.as_str(),
            serde_json::json!({"role": user.role}),
            now,
        );
        let (u, t) = (user.clone(), token.as_str().to_owned());
        self.change(&org_id, move |tx| {
            put_user_with_token(tx, &u, &t, "first", now)?;
            Ok(((), changes))
        })
        .await?;
        Ok(MemberCreated {
            user,
            token: token.as_str().to_owned(),
        })
    }

    /// `PATCH /v1/org/members/{id}`: change a member's role.
    pub async fn update_member(
        &self,
        caller: &Caller,
        user: &UserId,
        patch: MemberPatch,
    ) -> ServiceResult<User> {
        let org_id = member_org(caller)?;
        let (caller2, user, now) = (caller.clone(), user.clone(), self.now());
        self.change(&org_id, move |tx| {
            let mut target = found(tx.get_user(&user)?, EntityKind::User)?;
            let owners = owner_count(tx, &target.org_id)?;
            members::change_role(&caller2, &target, patch.role, owners)?;
            let from = target.role;
            target.role = patch.role;
            tx.put_user(&target)?;
            let changes = super::audited(
                &caller2,
                vec![target.org_id.clone()],
                "member.change_role",
                target.id.as_str(),
                serde_json::json!({"from": from, "to": target.role}),
                now,
            );
            Ok((target, changes))
        })
        .await
    }

    /// `DELETE /v1/org/members/{id}`: removes a member and every token of theirs.
    pub async fn remove_member(&self, caller: &Caller, user: &UserId) -> ServiceResult<()> {
        let org_id = member_org(caller)?;
        let (caller2, user, now) = (caller.clone(), user.clone(), self.now());
        self.change(&org_id, move |tx| {
            let target = found(tx.get_user(&user)?, EntityKind::User)?;
            let owners = owner_count(tx, &target.org_id)?;
            members::remove(&caller2, &target, owners)?;
            tx.delete_user(&target.id)?;
            let changes = super::audited(
                &caller2,
                vec![target.org_id.clone()],
                "member.remove",
                target.id.as_str(),
                serde_json::json!({"role": target.role}),
                now,
            );
            Ok(((), changes))
        })
        .await
    }

    /// `POST /v1/tokens`: another API token for the caller (shown once).
    pub async fn create_token(
        &self,
        caller: &Caller,
        req: NewToken,
    ) -> ServiceResult<TokenCreated> {
        let (user_id, org) = match caller {
            Caller::Member { user, org, .. } => (user.clone(), org.clone()),
            Caller::PlatformAdmin { user } => (user.clone(), OrgId::generate()),
            Caller::System => return Err(ServiceError::Unauthorized("no user")),
        };
        let label = req
            .label
            .as_deref()
            .map(|l| optional("label", l))
            .transpose()?;
        let token = ApiToken::generate();
        let now = self.now();
        let mut changes = ChangeSet::default();
        changes.audit(
            caller,
            caller.org().cloned().into_iter().collect(),
            "token.create",
            user_id.as_str(),
            serde_json::json!({"label": label}),
            now,
        );
        let (t, c) = (token.as_str().to_owned(), changes.clone());
        let work = move |tx: &mut switchboard_storage::WriteTx<'_>| {
            let t: ApiToken = t
                .parse()
                .map_err(|_| ServiceError::Unavailable("token encoding"))?;
            tx.put_api_token(
                &t,
                &TokenRecord {
                    user_id: user_id.clone(),
                    created_at: now,
                    label: label.clone(),
                },
            )?;
            super::commit(tx, &c)?;
            Ok(())
        };
        if caller.org().is_some() {
            exec(&self.core, &org, work).await?;
        } else {
            self.core.store.write(work).await?;
        }
        self.after(&changes);
        Ok(TokenCreated {
            token: token.as_str().to_owned(),
        })
    }

    /// `GET /v1/directory?q=`: discoverable organizations whose name or slug contains `q`.
    pub async fn directory(
        &self,
        caller: &Caller,
        q: Option<&str>,
    ) -> ServiceResult<Vec<crate::service::types::DirectoryEntry>> {
        member_org(caller)?;
        let q = q.map(|q| q.trim().to_lowercase()).unwrap_or_default();
        self.core
            .store
            .read(move |tx| {
                Ok(tx
                    .list_orgs()?
                    .into_iter()
                    .filter(|o| {
                        o.discoverable
                            && (q.is_empty()
                                || o.name.to_lowercase().contains(&q)
                                || o.slug.contains(&q))
                    })
                    .map(|o| DirectoryEntry {
                        id: o.id,
                        name: o.name,
                        slug: o.slug,
                    })
                    .collect())
            })
            .await
    }
}

/// Stores a user and its first API token. The token travels as text so the transaction body
/// can be cloned for a retry; the token type itself is deliberately not `Clone`.
pub(super) fn put_user_with_token(
    tx: &mut switchboard_storage::WriteTx<'_>,
    user: &User,
    token: &str,
    label: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<()> {
    tx.put_user(user)?;
    let token: ApiToken = token
        .parse()
        .map_err(|_| ServiceError::Unavailable("token encoding"))?;
    let record = TokenRecord {
        user_id: user.id.clone(),
        created_at: now,
        label: Some(label.to_owned()),
    };
    tx.put_api_token(&token, &record)?;
    Ok(())
}

fn owner_count(tx: &impl Reader, org: &OrgId) -> ServiceResult<u32> {
    Ok(tx
        .users_of_org(org)?
        .iter()
        .filter(|u| u.role == Role::Owner && !u.platform_admin)
        .count() as u32)
}
