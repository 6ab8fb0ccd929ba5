use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{privileges, role_privileges, roles};

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = privileges)]
pub struct Privilege {
    pub key: String,
    pub scope: String,
    pub category: String,
    pub resource: String,
    pub action: String,
    pub administers_access: bool,
    #[serde(skip)]
    pub position: i32,
}

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = roles)]
pub struct Role {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub scope: String,
    pub name: String,
    pub description: String,
    /// Set on system roles, which cannot be changed.
    pub system_key: Option<String>,
    /// A parent tenant's role that its managed workspaces receive.
    pub inheritable: bool,
    /// In a managed workspace: the parent's role this read-only copy follows.
    pub inherited_from: Option<Uuid>,
    #[serde(skip)]
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Role {
    pub fn is_system(&self) -> bool {
        self.system_key.is_some()
    }
}

pub fn catalogue(conn: &mut PgConnection, scope: Option<&str>) -> QueryResult<Vec<Privilege>> {
    let mut query = privileges::table.into_boxed();
    if let Some(scope) = scope {
        query = query.filter(privileges::scope.eq(scope.to_string()));
    }
    query
        .order((privileges::position, privileges::key))
        .select(Privilege::as_select())
        .load(conn)
}

/// The keys among `keys` that are in the catalogue with the given scope.
pub fn known_privileges(
    conn: &mut PgConnection,
    scope: &str,
    keys: &[String],
) -> QueryResult<Vec<String>> {
    privileges::table
        .filter(privileges::scope.eq(scope))
        .filter(privileges::key.eq_any(keys))
        .select(privileges::key)
        .load(conn)
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    scope: Option<&str>,
) -> QueryResult<Vec<Role>> {
    let mut query = roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(scope) = scope {
        query = query.filter(roles::scope.eq(scope.to_string()));
    }
    query
        .order((roles::scope, roles::position, roles::name, roles::id))
        .select(Role::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Role> {
    roles::table
        .find((tenant_id, id))
        .select(Role::as_select())
        .first(conn)
}

pub fn find_system(conn: &mut PgConnection, tenant_id: Uuid, key: &str) -> QueryResult<Role> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::system_key.eq(key))
        .select(Role::as_select())
        .first(conn)
}

pub fn privileges_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Vec<String>> {
    role_privileges::table
        .inner_join(privileges::table)
        .filter(role_privileges::tenant_id.eq(tenant_id))
        .filter(role_privileges::role_id.eq(id))
        .order((privileges::position, privileges::key))
        .select(role_privileges::privilege_key)
        .load(conn)
}

/// A new custom role: either the tenant's own or a managed workspace's copy of its parent's.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = roles)]
pub struct RoleInsertForm<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub scope: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub inheritable: bool,
    pub inherited_from: Option<Uuid>,
}

pub fn insert(conn: &mut PgConnection, form: &RoleInsertForm<'_>) -> QueryResult<Role> {
    diesel::insert_into(roles::table)
        .values(form)
        .returning(Role::as_returning())
        .get_result(conn)
}

/// Whether the parent's role is inheritable from now on.
pub fn set_inheritable(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    inheritable: bool,
) -> QueryResult<Role> {
    diesel::update(roles::table.find((tenant_id, id)))
        .set(roles::inheritable.eq(inheritable))
        .returning(Role::as_returning())
        .get_result(conn)
}

/// A tenant's inheritable roles, which each new managed workspace receives.
pub fn inheritable(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Role>> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::inheritable)
        .order(roles::id)
        .select(Role::as_select())
        .load(conn)
}

/// The workspace's copy of its parent's role `parent_role`.
pub fn find_copy(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    parent_role: Uuid,
) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::inherited_from.eq(parent_role))
        .select(Role::as_select())
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<Role> {
    diesel::update(roles::table.find((tenant_id, id)))
        .set((
            roles::name.eq(name),
            roles::description.eq(description),
            roles::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Role::as_returning())
        .get_result(conn)
}

/// Replaces the role's privileges with `keys`.
pub fn set_privileges(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    keys: &[String],
) -> QueryResult<()> {
    diesel::delete(
        role_privileges::table
            .filter(role_privileges::tenant_id.eq(tenant_id))
            .filter(role_privileges::role_id.eq(id)),
    )
    .execute(conn)?;
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            (
                role_privileges::tenant_id.eq(tenant_id),
                role_privileges::role_id.eq(id),
                role_privileges::privilege_key.eq(k),
            )
        })
        .collect();
    diesel::insert_into(role_privileges::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(roles::table.find((tenant_id, id))).execute(conn)
}

/// Whether another role of the tenant (not `except`) has this scope and name, compared as
/// the tenant's unique index compares them.
pub fn name_taken(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    scope: &str,
    name: &str,
    except: Option<Uuid>,
) -> QueryResult<bool> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let mut query = roles::table
        .filter(roles::tenant_id.eq(tenant_id))
        .filter(roles::scope.eq(scope))
        .filter(
            sql::<Bool>("lower(name) COLLATE \"C\" = lower(")
                .bind::<Text, _>(name)
                .sql(") COLLATE \"C\""),
        )
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(roles::id.ne(id));
    }
    diesel::select(diesel::dsl::exists(query.select(roles::id))).get_result(conn)
}
