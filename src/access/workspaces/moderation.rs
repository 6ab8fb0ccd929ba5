//! Moderators: people of the parent with an environment role in every environment and a
//! project role on every project of a managed workspace.

use crate::access::Rule;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{child_of, in_child, record_grants};
use crate::access::effective::{self, Pending, Scope, Users};
use crate::access::AdminContext;
use crate::db::moderators::{self, Moderator, Reach};
use crate::db::roles::{self, Role};
use crate::db::tenants;
use crate::db::users::{self as user_rows, UserFields, UserSource};
use crate::error::AdminError;
use crate::events::{self, UserState};

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = ModeratorCreate)]
pub struct ModeratorInput {
    /// A user of the parent tenant.
    pub user_id: Uuid,
    /// An environment role of the parent (a system role or an inheritable one): the
    /// moderator holds it in every environment of the workspace.
    pub environment_role_id: Uuid,
    /// A project role of the parent (system or inheritable): held on every project.
    pub project_role_id: Uuid,
}

/// The workspace's role standing for the parent's role `id`: the same system role, or the
/// copy of an inheritable one.
fn role_in_child(
    conn: &mut PgConnection,
    parent: Uuid,
    child: Uuid,
    id: Uuid,
    scope: &str,
) -> Result<Role, AdminError> {
    let unusable =
        |why: &str| AdminError::Unprocessable("moderator-role", format!("role {id} {why}"));
    let role = roles::find(conn, parent, id)
        .optional()?
        .ok_or_else(|| unusable("is not a role of this tenant"))?;
    if role.scope != scope {
        return Err(unusable(&format!("is not an {scope} role")));
    }
    let found = match &role.system_key {
        Some(key) => Some(roles::find_system(conn, child, key)?),
        None if role.inheritable => roles::find_copy(conn, child, role.id)?,
        None => None,
    };
    found.ok_or_else(|| unusable("is neither a system role nor inheritable"))
}

/// Makes the parent's user a moderator of the workspace: its account there (created from
/// the parent's, or the existing one with that userName) holds the environment role in every
/// environment and the project role on every project, now and later; it leaves the
/// workspace's collaborator groups and its own environment roles there are replaced.
pub fn add_moderator(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
    input: &ModeratorInput,
) -> Result<Moderator, AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    let person = user_rows::find(conn, parent.tenant_id, input.user_id)
        .optional()?
        .ok_or_else(|| {
            AdminError::BadRequest(format!("{} is not a user of this tenant", input.user_id))
        })?;
    if user_rows::status(conn, parent.tenant_id, person.id)? != "active"
        || person.active == Some(false)
    {
        return Err(AdminError::Unprocessable(
            "moderator-not-active",
            format!("{} is not an active user of this tenant", person.user_name),
        ));
    }
    let environment_role = role_in_child(
        conn,
        parent.tenant_id,
        workspace,
        input.environment_role_id,
        "environment",
    )?;
    let project_role = role_in_child(
        conn,
        parent.tenant_id,
        workspace,
        input.project_role_id,
        "application",
    )?;
    let moderator = in_child(
        conn,
        parent,
        workspace,
        "moderator",
        |conn, ctx, pending| {
            if moderators::find_by_parent_user(conn, workspace, person.id)?.is_some() {
                return Err(AdminError::Conflict(format!(
                    "{} is already a moderator of this workspace",
                    person.user_name
                )));
            }
            let existing =
                user_rows::find_by_user_name(conn, workspace, &person.user_name).optional()?;
            let mut replaced = json!(null);
            let user_id = match existing {
                Some(id) => {
                    if user_rows::status(conn, workspace, id)? != "active" {
                        return Err(AdminError::Rule(
                            Rule::ModeratorAccountNotActive,
                            format!(
                                "the workspace's account {} is invited or archived",
                                person.user_name
                            ),
                        ));
                    }
                    let environment_roles =
                        moderators::clear_environment_roles(conn, workspace, id)?;
                    let groups = crate::db::collaborator_groups::remove_user_everywhere(
                        conn, workspace, id,
                    )?;
                    replaced = json!({"environment_assignments_removed": environment_roles,
                                      "collaborator_groups_left": groups});
                    id
                }
                None => {
                    let fields = UserFields {
                        user_name: person.user_name.clone(),
                        external_id: person.external_id.clone(),
                        display_name: person.display_name.clone(),
                        active: Some(true),
                        attributes: person.attributes.clone(),
                    };
                    let row = user_rows::insert(
                        conn,
                        workspace,
                        Uuid::new_v4(),
                        &fields,
                        UserSource::Moderator,
                    )?;
                    ctx.record(
                        conn,
                        "User",
                        row.id,
                        "create",
                        None,
                        Some(json!({"userName": row.user_name, "moderator_of": person.id})),
                    )?;
                    events::user_changed(
                        conn,
                        workspace,
                        &ctx.actor,
                        row.id,
                        None,
                        Some(UserState {
                            active: true,
                            archived: false,
                        }),
                        true,
                    )?;
                    row.id
                }
            };
            let moderator = moderators::insert(
                conn,
                &Moderator {
                    tenant_id: workspace,
                    user_id,
                    parent_user_id: person.id,
                    environment_role_id: environment_role.id,
                    project_role_id: project_role.id,
                    created_at: chrono::Utc::now(),
                },
            )?;
            let granted = moderators::grant(conn, workspace, Reach::Moderator(user_id))?;
            record_grants(conn, ctx, pending, Reach::Moderator(user_id), &granted)?;
            ctx.record(
                conn,
                "Moderator",
                user_id,
                "create",
                None,
                Some(json!({"moderator": moderator, "replaced": replaced})),
            )?;
            Ok(moderator)
        },
    )?;
    parent.record(
        conn,
        "Moderator",
        person.id,
        "create",
        None,
        Some(json!(moderator)),
    )?;
    Ok(moderator)
}

pub fn list_moderators(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
) -> Result<Vec<Moderator>, AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    Ok(moderators::list(conn, workspace)?)
}

/// Ends the parent's user's moderation of the workspace: the grants that came with it go;
/// the account stays, holding whatever else it was given there.
pub fn remove_moderator(
    conn: &mut PgConnection,
    parent: &AdminContext,
    workspace: Uuid,
    parent_user_id: Uuid,
) -> Result<(), AdminError> {
    child_of(conn, parent.tenant_id, workspace)?;
    let moderator = in_child(
        conn,
        parent,
        workspace,
        "moderator",
        |conn, ctx, pending| {
            let moderator = moderators::find_by_parent_user(conn, workspace, parent_user_id)?
                .ok_or_else(|| {
                    AdminError::NotFound(format!(
                        "{parent_user_id} is not a moderator of this workspace"
                    ))
                })?;
            end_moderation(conn, ctx, pending, &moderator, None)?;
            Ok(moderator)
        },
    )?;
    parent.record(
        conn,
        "Moderator",
        parent_user_id,
        "delete",
        Some(json!(moderator)),
        None,
    )?;
    Ok(())
}

/// Refuses to put a moderator into a collaborator group (Workato).
pub fn refuse_moderator_in_collaborator_group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    users: &[Uuid],
) -> Result<(), AdminError> {
    for user in users {
        if moderators::is_moderator(conn, tenant_id, *user)? {
            return Err(AdminError::Rule(
                Rule::ModeratorNotInCollaboratorGroups,
                format!("{user} is a moderator; moderators are not members of collaborator groups"),
            ));
        }
    }
    Ok(())
}

/// A user deleted at the parent (by SCIM) moderates nothing any more: every workspace's
/// moderation by them ends, their accounts there staying with what else they were given.
/// Like every change from the identity provider, never refused by the lockout rules.
pub fn person_deleted(
    conn: &mut PgConnection,
    parent_tenant: Uuid,
    actor: &str,
    person: Uuid,
) -> QueryResult<()> {
    for child in tenants::child_ids(conn, parent_tenant)? {
        if moderators::find_by_parent_user(conn, child, person)?.is_none() {
            continue;
        }
        effective::lock_tenant(conn, child)?;
        let Some(m) = moderators::find_by_parent_user(conn, child, person)? else {
            continue;
        };
        let ctx = AdminContext::internal(child, format!("{actor} (parent tenant {parent_tenant})"));
        let mut pending = Pending::new(child, "moderator", &ctx.actor);
        end_moderation(
            conn,
            &ctx,
            &mut pending,
            &m,
            Some("the user was deleted in the parent tenant"),
        )?;
        effective::refresh(conn, &pending, false)?;
    }
    Ok(())
}

/// Ends one moderation in its workspace: its grants and row go, audited there.
fn end_moderation(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    moderator: &Moderator,
    reason: Option<&str>,
) -> QueryResult<()> {
    pending.mark(conn, Users::Ids(&[moderator.user_id]), Scope::Tenant)?;
    moderators::delete(conn, ctx.tenant_id, moderator.user_id)?;
    ctx.record(
        conn,
        "Moderator",
        moderator.user_id,
        "delete",
        Some(json!(moderator)),
        reason.map(|r| json!({ "reason": r })),
    )
}
