use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{collaborator_group_members, collaborator_groups};

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = collaborator_groups)]
pub struct CollaboratorGroup {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<CollaboratorGroup> {
    diesel::insert_into(collaborator_groups::table)
        .values((
            collaborator_groups::tenant_id.eq(tenant_id),
            collaborator_groups::id.eq(Uuid::new_v4()),
            collaborator_groups::name.eq(name),
            collaborator_groups::description.eq(description),
        ))
        .returning(CollaboratorGroup::as_returning())
        .get_result(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<CollaboratorGroup>> {
    collaborator_groups::table
        .filter(collaborator_groups::tenant_id.eq(tenant_id))
        .order((collaborator_groups::name, collaborator_groups::id))
        .select(CollaboratorGroup::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<CollaboratorGroup> {
    collaborator_groups::table
        .find((tenant_id, id))
        .select(CollaboratorGroup::as_select())
        .first(conn)
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<CollaboratorGroup> {
    diesel::update(collaborator_groups::table.find((tenant_id, id)))
        .set((
            collaborator_groups::name.eq(name),
            collaborator_groups::description.eq(description),
            collaborator_groups::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CollaboratorGroup::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(collaborator_groups::table.find((tenant_id, id))).execute(conn)
}

pub fn members(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Vec<Uuid>> {
    collaborator_group_members::table
        .filter(collaborator_group_members::tenant_id.eq(tenant_id))
        .filter(collaborator_group_members::collaborator_group_id.eq(id))
        .order((
            collaborator_group_members::created_at,
            collaborator_group_members::user_id,
        ))
        .select(collaborator_group_members::user_id)
        .load(conn)
}

pub fn add_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<usize> {
    let rows: Vec<_> = user_ids
        .iter()
        .map(|u| {
            (
                collaborator_group_members::tenant_id.eq(tenant_id),
                collaborator_group_members::collaborator_group_id.eq(id),
                collaborator_group_members::user_id.eq(*u),
            )
        })
        .collect();
    let mut added = 0;
    for chunk in rows.chunks(10_000) {
        added += diesel::insert_into(collaborator_group_members::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(added)
}

pub fn remove_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<usize> {
    diesel::delete(
        collaborator_group_members::table
            .filter(collaborator_group_members::tenant_id.eq(tenant_id))
            .filter(collaborator_group_members::collaborator_group_id.eq(id))
            .filter(collaborator_group_members::user_id.eq_any(user_ids)),
    )
    .execute(conn)
}

/// Takes the user out of every collaborator group of the tenant.
pub fn remove_user_everywhere(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        collaborator_group_members::table
            .filter(collaborator_group_members::tenant_id.eq(tenant_id))
            .filter(collaborator_group_members::user_id.eq(user_id)),
    )
    .execute(conn)
}
