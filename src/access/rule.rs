//! The rules of the access model that can refuse an otherwise valid change. Each is
//! answered as 409 with the problem type `…/problems/<slug>`, so clients can tell them apart.

use std::fmt;

/// A rule that refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The change would leave the tenant (or a managed workspace) without an admin.
    LastAdmin,
    /// The change would take the acting admin's own admin access away.
    SelfLockout,
    /// A tenant keeps at least one environment.
    LastEnvironment,
    /// A user holds at most one environment role per environment.
    OneEnvironmentRole,
    /// An application has at most one role for everyone else.
    OneEveryoneElse,
    /// An application or end-user group stays in the environment it was created in.
    EnvironmentFixed,
    /// A role keeps the scope it was created with.
    RoleScopeFixed,
    /// System roles cannot be changed or deleted.
    SystemRoleImmutable,
    /// A project is deployed to another environment than its own.
    DeploySameEnvironment,
    /// The tenant requires every end-user group to keep a direct member.
    GroupNeedsMember,
    /// A group with members cannot be deleted.
    GroupHasMembers,
    /// Only an invited user has an invitation.
    NotInvited,
    /// Only an archived user can be unarchived.
    NotArchived,
    /// An admin token is bound only to the user who creates it.
    TokenForAnotherUser,
    /// Owner tokens are revoked with the CLI or by an owner.
    OwnerToken,
    /// A managed workspace's inherited role is changed in its parent tenant.
    InheritedRoleImmutable,
    /// A workspace's own role cannot take the name of an inherited one.
    InheritedRoleNameTaken,
    /// A role that workspace moderators hold cannot be withdrawn from the workspace.
    RoleHeldByModerators,
    /// A moderator's assignment belongs to the parent tenant.
    ModeratorAssignmentManaged,
    /// Moderators are managed by the parent tenant.
    ModeratorManagedByParent,
    /// Only an active account can moderate a workspace.
    ModeratorAccountNotActive,
    /// Moderators are not members of collaborator groups.
    ModeratorNotInCollaboratorGroups,
}

impl Rule {
    /// Every rule, for documentation and tests.
    pub const ALL: [Rule; 22] = [
        Rule::LastAdmin,
        Rule::SelfLockout,
        Rule::LastEnvironment,
        Rule::OneEnvironmentRole,
        Rule::OneEveryoneElse,
        Rule::EnvironmentFixed,
        Rule::RoleScopeFixed,
        Rule::SystemRoleImmutable,
        Rule::DeploySameEnvironment,
        Rule::GroupNeedsMember,
        Rule::GroupHasMembers,
        Rule::NotInvited,
        Rule::NotArchived,
        Rule::TokenForAnotherUser,
        Rule::OwnerToken,
        Rule::InheritedRoleImmutable,
        Rule::InheritedRoleNameTaken,
        Rule::RoleHeldByModerators,
        Rule::ModeratorAssignmentManaged,
        Rule::ModeratorManagedByParent,
        Rule::ModeratorAccountNotActive,
        Rule::ModeratorNotInCollaboratorGroups,
    ];

    /// The rule's name in the problem type.
    pub fn slug(self) -> &'static str {
        match self {
            Rule::LastAdmin => "last-admin",
            Rule::SelfLockout => "self-lockout",
            Rule::LastEnvironment => "last-environment",
            Rule::OneEnvironmentRole => "one-environment-role",
            Rule::OneEveryoneElse => "one-everyone-else",
            Rule::EnvironmentFixed => "environment-fixed",
            Rule::RoleScopeFixed => "role-scope-fixed",
            Rule::SystemRoleImmutable => "system-role-immutable",
            Rule::DeploySameEnvironment => "deploy-same-environment",
            Rule::GroupNeedsMember => "group-needs-member",
            Rule::GroupHasMembers => "group-has-members",
            Rule::NotInvited => "not-invited",
            Rule::NotArchived => "not-archived",
            Rule::TokenForAnotherUser => "token-for-another-user",
            Rule::OwnerToken => "owner-token",
            Rule::InheritedRoleImmutable => "inherited-role-immutable",
            Rule::InheritedRoleNameTaken => "inherited-role-name-taken",
            Rule::RoleHeldByModerators => "role-held-by-moderators",
            Rule::ModeratorAssignmentManaged => "moderator-assignment-managed",
            Rule::ModeratorManagedByParent => "moderator-managed-by-parent",
            Rule::ModeratorAccountNotActive => "moderator-account-not-active",
            Rule::ModeratorNotInCollaboratorGroups => "moderator-not-in-collaborator-groups",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn slugs_are_distinct_kebab_case_names() {
        let all = Rule::ALL;
        let slugs: std::collections::HashSet<&str> = all.iter().map(|r| r.slug()).collect();
        assert_eq!(slugs.len(), all.len());
        for slug in slugs {
            assert!(
                !slug.is_empty()
                    && slug
                        .split('-')
                        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{slug}"
            );
        }
        assert_eq!(Rule::LastAdmin.to_string(), "last-admin");
    }
}
