//! The permission matrix of SPEC §2 and the one function every rule uses to check it.
//!
//! A member of another organization gets [`Refusal::NotFound`], never `Forbidden`, so ids
//! cannot be probed; a member of the right organization whose role lacks the right gets
//! [`Refusal::Forbidden`].

use crate::caller::{Caller, Role};
use crate::ids::OrgId;
use crate::refusal::{Decision, EntityKind, Refusal};

/// Something a caller may or may not do inside an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the organization's own resources.
    Read,
    /// Create, change and delete servers and channels.
    ManageCatalog,
    /// Send, accept, decline, withdraw peering requests; revoke agreements.
    ManagePeering,
    /// Offer, request, approve, deny, revoke grants.
    ManageGrants,
    /// Provision and move connections; accept or decline admin offers.
    ManageConnections,
    /// Reveal a connection's secret.
    ViewSecret,
    /// Rotate a connection's secret (the tier is checked separately).
    RotateSecret,
    /// Add and remove members, change roles.
    ManageMembers,
    /// Read the organization's audit log.
    ReadAudit,
}

impl Action {
    /// Every action, for exhaustive tests.
    pub const ALL: [Action; 9] = [
        Action::Read,
        Action::ManageCatalog,
        Action::ManagePeering,
        Action::ManageGrants,
        Action::ManageConnections,
        Action::ViewSecret,
        Action::RotateSecret,
        Action::ManageMembers,
        Action::ReadAudit,
    ];
}

/// Whether a role may perform an action in its own organization (SPEC §2, member columns).
pub fn role_allows(role: Role, action: Action) -> bool {
    match role {
        Role::Owner | Role::Admin => true,
        Role::Member => action == Action::Read,
    }
}

/// Whether a platform admin may perform an action on an organization's resources: reading the
/// audit log of any org and rotating any secret (support); never reading secrets.
pub fn platform_admin_allows(action: Action) -> bool {
    matches!(action, Action::ReadAudit | Action::RotateSecret)
}

/// Checks that `caller` may perform `action` on a resource of kind `kind` owned by `org`.
pub fn authorize(caller: &Caller, org: &OrgId, action: Action, kind: EntityKind) -> Decision<()> {
    authorize_any(caller, std::slice::from_ref(org), action, kind)
}

/// Like [`authorize`] for a resource shared by several organizations (a connection, an
/// agreement): the caller must belong to one of them.
pub fn authorize_any(
    caller: &Caller,
    orgs: &[OrgId],
    action: Action,
    kind: EntityKind,
) -> Decision<()> {
    match caller {
        Caller::System => Ok(()),
        Caller::PlatformAdmin { .. } => {
            if platform_admin_allows(action) {
                Ok(())
            } else {
                Err(Refusal::Forbidden {
                    reason: "platform admins act through the admin endpoints",
                })
            }
        }
        Caller::Member { org, role, .. } => {
            if !orgs.contains(org) {
                Err(Refusal::NotFound { kind })
            } else if role_allows(*role, action) {
                Ok(())
            } else {
                Err(Refusal::Forbidden {
                    reason: "your role does not allow this",
                })
            }
        }
    }
}

/// Checks that the caller is a platform admin (or the system).
pub fn authorize_platform(caller: &Caller) -> Decision<()> {
    match caller {
        Caller::PlatformAdmin { .. } | Caller::System => Ok(()),
        Caller::Member { .. } => Err(Refusal::Forbidden {
            reason: "platform admins only",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    fn member(org: &OrgId, role: Role) -> Caller {
        Caller::Member {
            user: UserId::generate(),
            org: org.clone(),
            role,
        }
    }

    #[test]
    fn matrix_rows_of_spec_section_2() {
        for action in Action::ALL {
            assert!(role_allows(Role::Owner, action), "{action:?}");
            assert!(role_allows(Role::Admin, action), "{action:?}");
            assert_eq!(
                role_allows(Role::Member, action),
                action == Action::Read,
                "{action:?}"
            );
            assert_eq!(
                platform_admin_allows(action),
                matches!(action, Action::ReadAudit | Action::RotateSecret),
                "{action:?}"
            );
        }
        assert!(!platform_admin_allows(Action::ViewSecret));
    }

    #[test]
    fn other_org_is_not_found_own_member_is_forbidden() {
        let mine = OrgId::generate();
        let theirs = OrgId::generate();
        let kind = EntityKind::Server;
        assert_eq!(
            authorize(&member(&theirs, Role::Owner), &mine, Action::Read, kind),
            Err(Refusal::NotFound { kind })
        );
        assert!(matches!(
            authorize(
                &member(&mine, Role::Member),
                &mine,
                Action::ManageCatalog,
                kind
            ),
            Err(Refusal::Forbidden { .. })
        ));
        assert_eq!(
            authorize(
                &member(&mine, Role::Admin),
                &mine,
                Action::ManageCatalog,
                kind
            ),
            Ok(())
        );
        assert_eq!(
            authorize(&Caller::System, &mine, Action::ViewSecret, kind),
            Ok(())
        );
        let pa = Caller::PlatformAdmin {
            user: UserId::generate(),
        };
        assert!(matches!(
            authorize(&pa, &mine, Action::ViewSecret, kind),
            Err(Refusal::Forbidden { .. })
        ));
        assert_eq!(authorize(&pa, &mine, Action::RotateSecret, kind), Ok(()));
        assert!(authorize_platform(&member(&mine, Role::Owner)).is_err());
        assert!(authorize_platform(&pa).is_ok());
    }
}
