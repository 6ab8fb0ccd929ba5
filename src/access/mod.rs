//! The access model administered through the admin API: environments, applications,
//! privileges and roles, end-user and collaborator groups, assignments, group mappings,
//! users' access, and the effective roles they add up to.
//!
//! Every mutation runs through [`mutate`]: one transaction that takes the tenant's access
//! lock, applies the change, brings effective roles up to date, enforces the lockout rules,
//! and — for a dry run — reports who would gain and lose which roles, then rolls back.

pub mod applications;
pub mod assignments;
pub mod audit;
pub mod authorization;
pub mod check;
pub mod collaborator_groups;
pub mod deployments;
pub mod effective;
pub mod end_user_groups;
pub mod environments;
pub mod group_mappings;
pub mod idp_groups;
pub mod invitations;
pub mod preview;
pub mod roles;
pub mod rule;
pub mod settings;
pub mod tokens;
pub mod user_list;
pub mod users;
pub mod workspaces;

use std::cell::Cell;

use authorization::{AdminPrincipal, Requirement, Target};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::audit::{self as audit_log, NewAuditEntry};
use crate::db::authorization::privileges_held;
use crate::error::AdminError;
use effective::Pending;
pub use preview::Preview;
pub use rule::Rule;

/// Who is acting through the admin API, and what the route they called requires.
#[derive(Debug, Clone)]
pub struct AdminContext {
    pub tenant_id: Uuid,
    /// For the audit log: `admin-token:<id>`.
    pub actor: String,
    pub principal: AdminPrincipal,
    /// The requirement the route declares (see [`authorization`]).
    pub requirement: Requirement,
    /// The route, as `METHOD /path`, for metrics and errors.
    pub operation: &'static str,
    /// Set once the requirement has been checked.
    authorized: Cell<bool>,
    /// Set by a dry run: what its change does in managed workspaces is collected here.
    dry_run: Cell<bool>,
    workspace_previews: std::cell::RefCell<Vec<preview::WorkspacePreview>>,
}

impl AdminContext {
    /// A request through an admin route; nothing is authorized yet.
    pub fn for_route(
        tenant_id: Uuid,
        actor: String,
        principal: AdminPrincipal,
        requirement: Requirement,
        operation: &'static str,
    ) -> Self {
        AdminContext {
            tenant_id,
            actor,
            principal,
            requirement,
            operation,
            authorized: Cell::new(false),
            dry_run: Cell::new(false),
            workspace_previews: Default::default(),
        }
    }

    /// Rolegate acting for itself (the CLI, session reads, tests of the access core): an
    /// owner whose operations need no route check.
    pub fn internal(tenant_id: Uuid, actor: impl Into<String>) -> Self {
        AdminContext {
            tenant_id,
            actor: actor.into(),
            principal: AdminPrincipal::Owner,
            requirement: Requirement::Public,
            operation: "internal",
            authorized: Cell::new(true),
            dry_run: Cell::new(false),
            workspace_previews: Default::default(),
        }
    }

    /// Whether this is a dry run's change.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.get()
    }

    /// Adds a managed workspace's part to the dry run's preview.
    pub fn preview_workspace(&self, part: preview::WorkspacePreview) {
        self.workspace_previews.borrow_mut().push(part);
    }

    /// Appends an audit entry for a mutation of this admin.
    pub fn record(
        &self,
        conn: &mut PgConnection,
        resource_type: &str,
        resource_id: impl ToString,
        operation: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> QueryResult<()> {
        audit_log::append(
            conn,
            NewAuditEntry {
                tenant_id: self.tenant_id,
                actor: &self.actor,
                resource_type,
                resource_id: resource_id.to_string(),
                operation,
                before,
                after,
            },
        )
    }
}

/// Query flags every admin mutation accepts.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct MutationOptions {
    /// Report who would gain and lose which roles, and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Allow a change that removes the acting admin's own admin access.
    #[serde(default)]
    pub confirm_self_lockout: bool,
}

/// The result of a mutation: applied, or previewed by a dry run.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome<T> {
    Applied(T),
    Preview(Preview),
}

enum Abort {
    /// A dry run's change, applied and about to be undone, with what it did.
    Rehearsed(Box<(preview::Rehearsal, Vec<Uuid>)>),
    Preview(Box<Preview>),
    Failed(AdminError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Failed(e.into())
    }
}

impl From<AdminError> for Abort {
    fn from(e: AdminError) -> Self {
        Abort::Failed(e)
    }
}

/// Runs one admin mutation (see the module documentation). `change` marks in `Pending`
/// whom it may affect.
pub fn mutate<T>(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    options: MutationOptions,
    cause: &'static str,
    change: impl FnOnce(&mut PgConnection, &mut Pending) -> Result<T, AdminError>,
) -> Result<Outcome<T>, AdminError> {
    ctx.dry_run.set(options.dry_run);
    let result = conn.transaction::<T, Abort, _>(|conn| {
        effective::lock_tenant(conn, ctx.tenant_id)?;
        // Checked under the tenant's lock: a concurrent change to the principal's own roles
        // is either entirely before this check or entirely after this change.
        if ctx.requirement_is_tenant_wide() {
            ctx.authorize(conn, Target::Tenant)?;
        }
        let (had_admin, mine_before) =
            effective::admin_environments(conn, ctx.tenant_id, ctx.user_id())?;
        let mut pending =
            Pending::new(ctx.tenant_id, cause, &ctx.actor).previewing(options.dry_run);
        let apply = |conn: &mut PgConnection| -> Result<T, Abort> {
            let value = change(conn, &mut pending)?;
            ctx.ensure_authorized()?;
            let diff = effective::refresh(conn, &pending, options.dry_run)?;
            let (has_admin, mine_after) =
                effective::admin_environments(conn, ctx.tenant_id, ctx.user_id())?;
            check_lockout(had_admin, has_admin, &mine_before, &mine_after, options)?;
            if options.dry_run {
                let users = pending.preview_users(&diff);
                let after = privileges_held(conn, ctx.tenant_id, &users)?;
                let rehearsal = preview::rehearse(conn, ctx.tenant_id, diff, after)?;
                return Err(Abort::Rehearsed(Box::new((rehearsal, users))));
            }
            Ok(value)
        };
        if !options.dry_run {
            return apply(conn);
        }
        // A dry run applies the change under a savepoint, and reads the users' privileges
        // again once it is undone: the preview compares the two.
        match conn.transaction(apply) {
            Err(Abort::Rehearsed(rehearsed)) => {
                let (rehearsal, users) = *rehearsed;
                let before = privileges_held(conn, ctx.tenant_id, &users)?;
                let mut preview = preview::finish(conn, ctx.tenant_id, rehearsal, before)?;
                preview.workspaces = ctx.workspace_previews.take();
                for part in &mut preview.workspaces {
                    preview::name_the_deleted(conn, part.workspace_id, &mut part.gains)?;
                    preview::name_the_deleted(conn, part.workspace_id, &mut part.losses)?;
                }
                Err(Abort::Preview(Box::new(preview)))
            }
            other => other,
        }
    });
    match result {
        Ok(value) => Ok(Outcome::Applied(value)),
        Err(Abort::Preview(preview)) => Ok(Outcome::Preview(*preview)),
        Err(Abort::Failed(e)) => Err(e),
        Err(Abort::Rehearsed(..)) => Err(AdminError::Internal(
            "a dry run ended without its preview".into(),
        )),
    }
}

/// The lockout rules: nobody left with admin access, or the acting admin losing their own
/// without confirming it.
fn check_lockout(
    had_admin: bool,
    has_admin: bool,
    mine_before: &[Uuid],
    mine_after: &[Uuid],
    options: MutationOptions,
) -> Result<(), AdminError> {
    if had_admin && !has_admin {
        return Err(AdminError::Rule(
            Rule::LastAdmin,
            "this change would leave the tenant without anyone holding admin access".into(),
        ));
    }
    let lost: Vec<Uuid> = mine_before
        .iter()
        .filter(|e| !mine_after.contains(e))
        .copied()
        .collect();
    if !lost.is_empty() && !options.confirm_self_lockout {
        return Err(AdminError::Rule(
            Rule::SelfLockout,
            format!(
                "this change removes your own admin access in environment(s) {}; \
                 repeat it with confirm_self_lockout=true to go ahead",
                lost.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

/// Checks a name's length after trimming; `what` names it in the error.
pub fn valid_name(name: &str, what: &str) -> Result<String, AdminError> {
    const MAX_NAME: usize = 100;
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(AdminError::BadRequest(format!(
            "a {what} name contains a control character"
        )));
    }
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AdminError::BadRequest(format!(
            "a {what} name has 1 to {MAX_NAME} characters"
        )));
    }
    Ok(name.to_string())
}

pub fn valid_description(description: &str) -> Result<String, AdminError> {
    const MAX_DESCRIPTION: usize = 1000;
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AdminError::BadRequest(
            "a description contains a control character".into(),
        ));
    }
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(AdminError::BadRequest(format!(
            "a description has at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(description.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(result: Result<(), AdminError>) -> Option<Rule> {
        match result {
            Err(AdminError::Rule(rule, _)) => Some(rule),
            _ => None,
        }
    }

    #[test]
    fn nobody_is_left_without_admin_access_and_nobody_locks_themself_out_unconfirmed() {
        let (e1, e2) = (Uuid::new_v4(), Uuid::new_v4());
        let plain = MutationOptions::default();
        let confirmed = MutationOptions {
            confirm_self_lockout: true,
            ..plain
        };
        // The tenant's last admin access goes: refused, confirmed or not.
        for options in [plain, confirmed] {
            assert_eq!(
                rule_of(check_lockout(true, false, &[], &[], options)),
                Some(Rule::LastAdmin)
            );
        }
        assert!(check_lockout(true, true, &[], &[], plain).is_ok());
        assert!(check_lockout(false, false, &[], &[], plain).is_ok());
        assert!(check_lockout(false, true, &[], &[e1], plain).is_ok());
        // The acting admin loses one environment of two: only with confirmation.
        let lost = check_lockout(true, true, &[e1, e2], &[e2], plain);
        let Err(AdminError::Rule(Rule::SelfLockout, detail)) = lost else {
            panic!("{lost:?}")
        };
        assert!(detail.contains(&e1.to_string()) && !detail.contains(&e2.to_string()));
        assert!(check_lockout(true, true, &[e1, e2], &[e2], confirmed).is_ok());
        assert!(check_lockout(true, true, &[e1, e2], &[e2, e1], plain).is_ok());
    }

    #[test]
    fn names_are_trimmed_one_to_a_hundred_characters_without_control_characters() {
        assert_eq!(
            valid_name("  Sales ", "group").ok().as_deref(),
            Some("Sales")
        );
        assert!(valid_name(&"é".repeat(100), "group").is_ok());
        let long = valid_name(&"é".repeat(101), "group");
        assert!(matches!(&long, Err(AdminError::BadRequest(d)) if d.contains("group name")));
        assert!(valid_name("   ", "group").is_err());
        assert!(valid_name("", "group").is_err());
        assert!(valid_name("a\u{7}b", "group").is_err());
        assert!(valid_name("a\nb", "group").is_err());
    }

    #[test]
    fn descriptions_have_at_most_a_thousand_characters_and_only_whitespace_controls() {
        assert_eq!(valid_description("").ok().as_deref(), Some(""));
        assert!(valid_description(&"é".repeat(1000)).is_ok());
        assert!(valid_description(&"é".repeat(1001)).is_err());
        assert_eq!(
            valid_description("line\none\tand\r\n").ok().as_deref(),
            Some("line\none\tand\r\n")
        );
        assert!(valid_description("bell\u{7}").is_err());
        assert!(valid_description("nul\u{0}").is_err());
    }
}
