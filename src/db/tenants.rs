use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::tenants;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub cursor_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// The tenant this one is a managed workspace of.
    pub parent_id: Option<Uuid>,
}

pub fn insert(conn: &mut PgConnection, name: &str, parent: Option<Uuid>) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(Uuid::new_v4()),
            tenants::name.eq(name),
            tenants::parent_id.eq(parent),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
}

/// The managed workspaces of `parent`, by name.
pub fn children(conn: &mut PgConnection, parent: Uuid) -> QueryResult<Vec<Tenant>> {
    tenants::table
        .filter(tenants::parent_id.eq(parent))
        .order((tenants::name, tenants::id))
        .select(Tenant::as_select())
        .load(conn)
}

/// The ids of `parent`'s managed workspaces, in id order (the order their locks are taken).
pub fn child_ids(conn: &mut PgConnection, parent: Uuid) -> QueryResult<Vec<Uuid>> {
    tenants::table
        .filter(tenants::parent_id.eq(parent))
        .order(tenants::id)
        .select(tenants::id)
        .load(conn)
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<Tenant>> {
    tenants::table
        .order(tenants::created_at)
        .select(Tenant::as_select())
        .load(conn)
}

pub fn any_exists(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tenants::table.select(tenants::id))).get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Tenant> {
    tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
}

/// The key that signs the tenant's pagination cursors.
pub fn cursor_secret(conn: &mut PgConnection, id: Uuid) -> QueryResult<Vec<u8>> {
    tenants::table
        .find(id)
        .select(tenants::cursor_secret)
        .first(conn)
}

/// Whether the tenant requires end-user groups to keep at least one direct member.
pub fn requires_end_user_group_members(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    tenants::table
        .find(id)
        .select(tenants::require_end_user_group_members)
        .first(conn)
}

pub fn set_requires_end_user_group_members(
    conn: &mut PgConnection,
    id: Uuid,
    value: bool,
) -> QueryResult<usize> {
    diesel::update(tenants::table.find(id))
        .set(tenants::require_end_user_group_members.eq(value))
        .execute(conn)
}
