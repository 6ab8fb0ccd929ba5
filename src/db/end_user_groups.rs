use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{end_user_group_members, end_user_groups};

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = end_user_groups)]
pub struct EndUserGroup {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub environment_id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    environment_id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<EndUserGroup> {
    diesel::insert_into(end_user_groups::table)
        .values((
            end_user_groups::tenant_id.eq(tenant_id),
            end_user_groups::id.eq(Uuid::new_v4()),
            end_user_groups::environment_id.eq(environment_id),
            end_user_groups::name.eq(name),
            end_user_groups::description.eq(description),
        ))
        .returning(EndUserGroup::as_returning())
        .get_result(conn)
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    environment_id: Option<Uuid>,
) -> QueryResult<Vec<EndUserGroup>> {
    let mut query = end_user_groups::table
        .filter(end_user_groups::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(env) = environment_id {
        query = query.filter(end_user_groups::environment_id.eq(env));
    }
    query
        .order((end_user_groups::name, end_user_groups::id))
        .select(EndUserGroup::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<EndUserGroup> {
    end_user_groups::table
        .find((tenant_id, id))
        .select(EndUserGroup::as_select())
        .first(conn)
}

pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<EndUserGroup> {
    end_user_groups::table
        .find((tenant_id, id))
        .select(EndUserGroup::as_select())
        .for_update()
        .first(conn)
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<EndUserGroup> {
    diesel::update(end_user_groups::table.find((tenant_id, id)))
        .set((
            end_user_groups::name.eq(name),
            end_user_groups::description.eq(description),
            end_user_groups::updated_at.eq(diesel::dsl::now),
        ))
        .returning(EndUserGroup::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(end_user_groups::table.find((tenant_id, id))).execute(conn)
}

pub fn members(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Vec<Uuid>> {
    end_user_group_members::table
        .filter(end_user_group_members::tenant_id.eq(tenant_id))
        .filter(end_user_group_members::end_user_group_id.eq(id))
        .order((
            end_user_group_members::created_at,
            end_user_group_members::user_id,
        ))
        .select(end_user_group_members::user_id)
        .load(conn)
}

pub fn member_count(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<i64> {
    end_user_group_members::table
        .filter(end_user_group_members::tenant_id.eq(tenant_id))
        .filter(end_user_group_members::end_user_group_id.eq(id))
        .count()
        .get_result(conn)
}

/// Adds members (existing ones are left alone); returns how many were new.
pub fn add_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<_> = user_ids
        .iter()
        .map(|u| {
            (
                end_user_group_members::tenant_id.eq(tenant_id),
                end_user_group_members::end_user_group_id.eq(id),
                end_user_group_members::user_id.eq(*u),
            )
        })
        .collect();
    let mut added = Vec::new();
    for chunk in rows.chunks(10_000) {
        added.extend(
            diesel::insert_into(end_user_group_members::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(end_user_group_members::user_id)
                .get_results::<Uuid>(conn)?,
        );
    }
    Ok(added)
}

pub fn remove_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::delete(
        end_user_group_members::table
            .filter(end_user_group_members::tenant_id.eq(tenant_id))
            .filter(end_user_group_members::end_user_group_id.eq(id))
            .filter(end_user_group_members::user_id.eq_any(user_ids)),
    )
    .returning(end_user_group_members::user_id)
    .get_results(conn)
}

/// A member as the console lists it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ListedMember {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub user_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub display_name: Option<String>,
}

/// A keyset page of a group's direct members by user id (the primary key's order: cheap
/// at any group size).
pub fn members_page(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ListedMember>> {
    use diesel::sql_types::{BigInt, Nullable, Uuid as SqlUuid};
    diesel::sql_query(
        "SELECT u.id, u.user_name, u.display_name \
         FROM end_user_group_members m \
         JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id \
         WHERE m.tenant_id = $1 AND m.end_user_group_id = $2 \
           AND ($3::uuid IS NULL OR m.user_id > $3) \
         ORDER BY m.user_id LIMIT $4",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<SqlUuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// A role a group grants, by name.
#[derive(Debug, Clone, QueryableByName)]
pub struct GrantedRole {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub assignment_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub application: Option<String>,
}

pub fn granted_roles(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Vec<GrantedRole>> {
    use diesel::sql_types::Uuid as SqlUuid;
    diesel::sql_query(
        "SELECT s.id AS assignment_id, r.name AS role, a.name AS application \
         FROM assignments s \
         JOIN roles r ON r.tenant_id = s.tenant_id AND r.id = s.role_id \
         LEFT JOIN applications a ON a.tenant_id = s.tenant_id AND a.id = s.application_id \
         WHERE s.tenant_id = $1 AND s.end_user_group_id = $2 \
         ORDER BY a.name NULLS FIRST, r.name",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .load(conn)
}

/// An IdP group mapped into a group, by name.
#[derive(Debug, Clone, QueryableByName)]
pub struct MappedIdpGroup {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display_name: String,
    /// Pushed by SCIM (null) or learned from logins with this provider.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub oidc_provider_id: Option<Uuid>,
}

pub fn mapped_idp_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Vec<MappedIdpGroup>> {
    use diesel::sql_types::Uuid as SqlUuid;
    diesel::sql_query(
        "SELECT g.id, g.display_name, g.oidc_provider_id \
         FROM group_mappings gm \
         JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.idp_group_id \
         WHERE gm.tenant_id = $1 AND gm.end_user_group_id = $2 \
         ORDER BY g.display_name",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .load(conn)
}
