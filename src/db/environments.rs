use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::environments;

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = environments)]
pub struct Environment {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    position: i32,
) -> QueryResult<Environment> {
    diesel::insert_into(environments::table)
        .values((
            environments::tenant_id.eq(tenant_id),
            environments::id.eq(Uuid::new_v4()),
            environments::name.eq(name),
            environments::position.eq(position),
        ))
        .returning(Environment::as_returning())
        .get_result(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<Environment>> {
    environments::table
        .filter(environments::tenant_id.eq(tenant_id))
        .order((environments::position, environments::id))
        .select(Environment::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Environment> {
    environments::table
        .find((tenant_id, id))
        .select(Environment::as_select())
        .first(conn)
}

pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Environment> {
    environments::table
        .find((tenant_id, id))
        .select(Environment::as_select())
        .for_update()
        .first(conn)
}

/// The position after the last environment.
pub fn next_position(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<i32> {
    environments::table
        .filter(environments::tenant_id.eq(tenant_id))
        .select(diesel::dsl::max(environments::position))
        .first::<Option<i32>>(conn)
        .map(|max| max.unwrap_or(0) + 1)
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    position: i32,
) -> QueryResult<Environment> {
    diesel::update(environments::table.find((tenant_id, id)))
        .set((
            environments::name.eq(name),
            environments::position.eq(position),
            environments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Environment::as_returning())
        .get_result(conn)
}

/// Deletes the environment; returns how many the tenant has left.
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<i64> {
    diesel::delete(environments::table.find((tenant_id, id))).execute(conn)?;
    environments::table
        .filter(environments::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)
}

/// Locks the tenant's environments, so concurrent deletions cannot both see "one left".
pub fn lock_all(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<usize> {
    environments::table
        .filter(environments::tenant_id.eq(tenant_id))
        .select(environments::id)
        .for_update()
        .load::<Uuid>(conn)
        .map(|ids| ids.len())
}
