//! Membership rules (SPEC §2): owners and admins manage members, admins never touch owners,
//! and an organization always keeps at least one owner.

use crate::caller::{Caller, Role};
use crate::entities::User;
use crate::ids::OrgId;
use crate::permissions::{Action, authorize};
use crate::refusal::{Decision, EntityKind, Refusal};

/// Whether the caller may add a member with `role` to `org`.
pub fn add(caller: &Caller, org: &OrgId, role: Role) -> Decision<()> {
    authorize(caller, org, Action::ManageMembers, EntityKind::Organization)?;
    if role == Role::Owner && caller_role(caller) == Some(Role::Admin) {
        return Err(Refusal::Forbidden {
            reason: "admins cannot create owners",
        });
    }
    Ok(())
}

/// Whether the caller may change `target`'s role to `role`; `owners` is the org's owner count.
pub fn change_role(caller: &Caller, target: &User, role: Role, owners: u32) -> Decision<()> {
    check_target(caller, target)?;
    if caller_role(caller) == Some(Role::Admin) && role == Role::Owner {
        return Err(Refusal::Forbidden {
            reason: "admins cannot create owners",
        });
    }
    if target.role == Role::Owner && role != Role::Owner && owners <= 1 {
        return Err(Refusal::Conflict {
            reason: "an organization must keep at least one owner",
        });
    }
    Ok(())
}

/// Whether the caller may remove `target`; `owners` is the org's owner count.
pub fn remove(caller: &Caller, target: &User, owners: u32) -> Decision<()> {
    check_target(caller, target)?;
    if target.role == Role::Owner && owners <= 1 {
        return Err(Refusal::Conflict {
            reason: "an organization must keep at least one owner",
        });
    }
    Ok(())
}

fn check_target(caller: &Caller, target: &User) -> Decision<()> {
    if target.platform_admin {
        return Err(Refusal::NotFound {
            kind: EntityKind::User,
        });
    }
    let kind = EntityKind::User;
    authorize(caller, &target.org_id, Action::ManageMembers, kind)?;
    if target.role == Role::Owner && caller_role(caller) == Some(Role::Admin) {
        return Err(Refusal::Forbidden {
            reason: "admins cannot change or remove owners",
        });
    }
    Ok(())
}

fn caller_role(caller: &Caller) -> Option<Role> {
    match caller {
        Caller::Member { role, .. } => Some(*role),
        _ => None,
    }
}
