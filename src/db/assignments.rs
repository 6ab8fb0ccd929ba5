use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::assignments;

/// Who an assignment is for.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Principal {
    User(Uuid),
    EndUserGroup(Uuid),
    CollaboratorGroup(Uuid),
    /// Everyone without an individual or group assignment on the application.
    EveryoneElse,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub role_id: Uuid,
    pub environment_id: Uuid,
    pub application_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub end_user_group_id: Option<Uuid>,
    pub collaborator_group_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub moderator: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Assignment {
    pub id: Uuid,
    pub principal: Principal,
    pub role_id: Uuid,
    pub environment_id: Uuid,
    /// None: the role applies to the whole environment.
    pub application_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Held by a managed workspace's moderator in every environment or project; it changes
    /// only with the moderator.
    pub moderator: bool,
}

impl Principal {
    /// The principal named by a row's three principal columns (none: everyone else).
    pub fn from_columns(
        user: Option<Uuid>,
        end_user_group: Option<Uuid>,
        collaborator_group: Option<Uuid>,
    ) -> Principal {
        match (user, end_user_group, collaborator_group) {
            (Some(u), _, _) => Principal::User(u),
            (_, Some(g), _) => Principal::EndUserGroup(g),
            (_, _, Some(g)) => Principal::CollaboratorGroup(g),
            _ => Principal::EveryoneElse,
        }
    }
}

impl From<AssignmentRow> for Assignment {
    fn from(r: AssignmentRow) -> Self {
        let principal =
            Principal::from_columns(r.user_id, r.end_user_group_id, r.collaborator_group_id);
        Assignment {
            id: r.id,
            principal,
            role_id: r.role_id,
            environment_id: r.environment_id,
            application_id: r.application_id,
            created_at: r.created_at,
            moderator: r.moderator,
        }
    }
}

pub struct NewAssignment {
    pub role_id: Uuid,
    pub environment_id: Uuid,
    pub application_id: Option<Uuid>,
    pub principal: Principal,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    new: &NewAssignment,
) -> QueryResult<Assignment> {
    let (user, eug, collaborators) = match new.principal {
        Principal::User(u) => (Some(u), None, None),
        Principal::EndUserGroup(g) => (None, Some(g), None),
        Principal::CollaboratorGroup(g) => (None, None, Some(g)),
        Principal::EveryoneElse => (None, None, None),
    };
    diesel::insert_into(assignments::table)
        .values((
            assignments::tenant_id.eq(tenant_id),
            assignments::id.eq(Uuid::new_v4()),
            assignments::role_id.eq(new.role_id),
            assignments::environment_id.eq(new.environment_id),
            assignments::application_id.eq(new.application_id),
            assignments::user_id.eq(user),
            assignments::end_user_group_id.eq(eug),
            assignments::collaborator_group_id.eq(collaborators),
        ))
        .returning(AssignmentRow::as_returning())
        .get_result(conn)
        .map(Assignment::from)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentFilter {
    pub environment_id: Option<Uuid>,
    pub application_id: Option<Uuid>,
    pub role_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub end_user_group_id: Option<Uuid>,
    pub collaborator_group_id: Option<Uuid>,
    /// Only environment-scope (true) or only application-scope (false) assignments.
    pub environment_scope: Option<bool>,
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    f: &AssignmentFilter,
) -> QueryResult<Vec<Assignment>> {
    let mut q = assignments::table
        .filter(assignments::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(v) = f.environment_id {
        q = q.filter(assignments::environment_id.eq(v));
    }
    if let Some(v) = f.application_id {
        q = q.filter(assignments::application_id.eq(v));
    }
    if let Some(v) = f.role_id {
        q = q.filter(assignments::role_id.eq(v));
    }
    if let Some(v) = f.user_id {
        q = q.filter(assignments::user_id.eq(v));
    }
    if let Some(v) = f.end_user_group_id {
        q = q.filter(assignments::end_user_group_id.eq(v));
    }
    if let Some(v) = f.collaborator_group_id {
        q = q.filter(assignments::collaborator_group_id.eq(v));
    }
    match f.environment_scope {
        Some(true) => q = q.filter(assignments::application_id.is_null()),
        Some(false) => q = q.filter(assignments::application_id.is_not_null()),
        None => {}
    }
    Ok(q.order((assignments::created_at, assignments::id))
        .select(AssignmentRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Assignment::from)
        .collect())
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Assignment> {
    assignments::table
        .find((tenant_id, id))
        .select(AssignmentRow::as_select())
        .first(conn)
        .map(Assignment::from)
}

/// The user's environment-role assignment in an environment, if any.
pub fn environment_role_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    environment_id: Uuid,
) -> QueryResult<Option<Assignment>> {
    assignments::table
        .filter(assignments::tenant_id.eq(tenant_id))
        .filter(assignments::environment_id.eq(environment_id))
        .filter(assignments::user_id.eq(user_id))
        .filter(assignments::application_id.is_null())
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Assignment::from))
}

/// The "everyone else" assignment of an application, if any.
pub fn everyone_else_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    application_id: Uuid,
) -> QueryResult<Option<Assignment>> {
    assignments::table
        .filter(assignments::tenant_id.eq(tenant_id))
        .filter(assignments::application_id.eq(application_id))
        .filter(assignments::user_id.is_null())
        .filter(assignments::end_user_group_id.is_null())
        .filter(assignments::collaborator_group_id.is_null())
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
        .map(|r| r.map(Assignment::from))
}

pub fn of_role(conn: &mut PgConnection, tenant_id: Uuid, role_id: Uuid) -> QueryResult<Vec<Uuid>> {
    assignments::table
        .filter(assignments::tenant_id.eq(tenant_id))
        .filter(assignments::role_id.eq(role_id))
        .select(assignments::id)
        .load(conn)
}

pub fn of_end_user_group(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<Assignment>> {
    list(
        conn,
        tenant_id,
        &AssignmentFilter {
            end_user_group_id: Some(group_id),
            ..Default::default()
        },
    )
}

pub fn set_role(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    role_id: Uuid,
) -> QueryResult<Assignment> {
    diesel::update(assignments::table.find((tenant_id, id)))
        .set(assignments::role_id.eq(role_id))
        .returning(AssignmentRow::as_returning())
        .get_result(conn)
        .map(Assignment::from)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(assignments::table.find((tenant_id, id))).execute(conn)
}

/// An End-user's environment role that became Builder.
#[derive(Debug, Clone, QueryableByName)]
pub struct Promotion {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub from_role_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub to_role_id: Uuid,
}

/// Makes Builders of the End-users among `users` (all when `None`) who can build an
/// application in that environment (see `sql/promote_builders.sql`).
pub fn promote_building_end_users(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    users: Option<&[Uuid]>,
) -> QueryResult<Vec<Promotion>> {
    use diesel::sql_types::{Array, Nullable, Uuid as SqlUuid};
    diesel::sql_query(include_str!("sql/promote_builders.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Nullable<Array<SqlUuid>>, _>(users)
        .load(conn)
}

/// Whether any user of the tenant has ToolJet's End-user role somewhere (only then can a
/// change make a Builder).
pub fn any_end_user(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<bool> {
    use super::schema::roles;
    diesel::select(diesel::dsl::exists(
        assignments::table
            .inner_join(
                roles::table.on(roles::tenant_id
                    .eq(assignments::tenant_id)
                    .and(roles::id.eq(assignments::role_id))),
            )
            .filter(assignments::tenant_id.eq(tenant_id))
            .filter(roles::system_key.eq("workspace_end_user")),
    ))
    .get_result(conn)
}

/// One line of an application's access as the console shows it: who holds which role.
#[derive(Debug, Clone, QueryableByName)]
pub struct NamedAccess {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub assignment_id: Uuid,
    /// `user`, `end_user_group`, `collaborator_group` or `everyone_else`.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub principal_kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub principal_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub principal_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: String,
}

/// An application's assignments with the names of their principals and roles.
pub fn named_access_of_application(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    application_id: Uuid,
) -> QueryResult<Vec<NamedAccess>> {
    use diesel::sql_types::Uuid as SqlUuid;
    diesel::sql_query(
        "SELECT s.id AS assignment_id, \
                CASE WHEN s.user_id IS NOT NULL THEN 'user' \
                     WHEN s.end_user_group_id IS NOT NULL THEN 'end_user_group' \
                     WHEN s.collaborator_group_id IS NOT NULL THEN 'collaborator_group' \
                     ELSE 'everyone_else' END AS principal_kind, \
                coalesce(s.user_id, s.end_user_group_id, s.collaborator_group_id) AS principal_id, \
                coalesce(u.user_name, e.name, c.name) AS principal_name, r.name AS role \
         FROM assignments s \
         JOIN roles r ON r.tenant_id = s.tenant_id AND r.id = s.role_id \
         LEFT JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
         LEFT JOIN end_user_groups e ON e.tenant_id = s.tenant_id AND e.id = s.end_user_group_id \
         LEFT JOIN collaborator_groups c ON c.tenant_id = s.tenant_id AND c.id = s.collaborator_group_id \
         WHERE s.tenant_id = $1 AND s.application_id = $2 \
         ORDER BY principal_kind DESC, principal_name, r.name",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(application_id)
    .load(conn)
}
