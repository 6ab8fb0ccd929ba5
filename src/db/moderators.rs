//! Moderators of managed workspaces: rows, and the assignments they are kept in sync with.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Uuid as SqlUuid};
use uuid::Uuid;

use super::schema::{assignments, moderators};

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = moderators)]
pub struct Moderator {
    /// The managed workspace.
    #[serde(rename = "workspace_id")]
    pub tenant_id: Uuid,
    /// The moderator's user in the workspace.
    pub user_id: Uuid,
    /// The person in the parent tenant.
    pub parent_user_id: Uuid,
    pub environment_role_id: Uuid,
    pub project_role_id: Uuid,
    #[diesel(skip_insertion)]
    pub created_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, moderator: &Moderator) -> QueryResult<Moderator> {
    diesel::insert_into(moderators::table)
        .values(moderator)
        .returning(Moderator::as_returning())
        .get_result(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Moderator>> {
    moderators::table
        .filter(moderators::tenant_id.eq(tenant_id))
        .order((moderators::created_at, moderators::user_id))
        .select(Moderator::as_select())
        .load(conn)
}

/// The workspace's moderator standing for the parent's user `parent_user_id`.
pub fn find_by_parent_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    parent_user_id: Uuid,
) -> QueryResult<Option<Moderator>> {
    moderators::table
        .filter(moderators::tenant_id.eq(tenant_id))
        .filter(moderators::parent_user_id.eq(parent_user_id))
        .select(Moderator::as_select())
        .first(conn)
        .optional()
}

/// Whether the workspace's user is a moderator.
pub fn is_moderator(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        moderators::table.find((tenant_id, user_id)),
    ))
    .get_result(conn)
}

/// Whether the workspace has any moderator (most tenants have none: creating an environment
/// or a project then skips the grant).
pub fn any(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        moderators::table.filter(moderators::tenant_id.eq(tenant_id)),
    ))
    .get_result(conn)
}

/// Whether a moderator of the workspace holds `role_id` as its environment or project role.
pub fn using_role(conn: &mut PgConnection, tenant_id: Uuid, role_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        moderators::table
            .filter(moderators::tenant_id.eq(tenant_id))
            .filter(
                moderators::environment_role_id
                    .eq(role_id)
                    .or(moderators::project_role_id.eq(role_id)),
            ),
    ))
    .get_result(conn)
}

/// The workspace's moderator accounts of the parent's user `parent_user_id` (at most one).
pub fn accounts_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    parent_user_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    moderators::table
        .filter(moderators::tenant_id.eq(tenant_id))
        .filter(moderators::parent_user_id.eq(parent_user_id))
        .select(moderators::user_id)
        .load(conn)
}

/// Removes the moderator and the assignments that came with it.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> QueryResult<usize> {
    delete_assignments(conn, tenant_id, user_id)?;
    diesel::delete(moderators::table.find((tenant_id, user_id))).execute(conn)
}

/// The moderator assignments of a user.
fn delete_assignments(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        assignments::table
            .filter(assignments::tenant_id.eq(tenant_id))
            .filter(assignments::user_id.eq(user_id))
            .filter(assignments::moderator),
    )
    .execute(conn)
}

/// Removes a user's environment roles in the workspace, which its moderator role replaces.
pub fn clear_environment_roles(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        assignments::table
            .filter(assignments::tenant_id.eq(tenant_id))
            .filter(assignments::user_id.eq(user_id))
            .filter(assignments::application_id.is_null()),
    )
    .execute(conn)
}

/// Which moderator assignments to add (see `sql/grant_moderator_assignments.sql`).
#[derive(Debug, Clone, Copy)]
pub enum Reach {
    /// Everything of one (new) moderator.
    Moderator(Uuid),
    /// Every moderator's environment role in a new environment.
    Environment(Uuid),
    /// Every moderator's project role in a new project.
    Application(Uuid),
}

/// One moderator assignment made or taken over by [`grant`].
#[derive(Debug, Clone, QueryableByName, serde::Serialize)]
pub struct Granted {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub role_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub application_id: Option<Uuid>,
}

/// Adds the moderator assignments `reach` calls for.
pub fn grant(conn: &mut PgConnection, tenant_id: Uuid, reach: Reach) -> QueryResult<Vec<Granted>> {
    let (user, environment, application) = match reach {
        Reach::Moderator(u) => (Some(u), None, None),
        Reach::Environment(e) => (None, Some(e), None),
        Reach::Application(a) => (None, None, Some(a)),
    };
    diesel::sql_query(include_str!("sql/grant_moderator_assignments.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Nullable<SqlUuid>, _>(user)
        .bind::<Nullable<SqlUuid>, _>(environment)
        .bind::<Nullable<SqlUuid>, _>(application)
        .load(conn)
}
