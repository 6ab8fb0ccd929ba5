use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::schema::{end_user_groups, group_mappings};

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = group_mappings)]
pub struct GroupMapping {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub idp_group_id: Uuid,
    pub end_user_group_id: Uuid,
    pub created_at: DateTime<Utc>,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    idp_group_id: Uuid,
    end_user_group_id: Uuid,
) -> QueryResult<GroupMapping> {
    diesel::insert_into(group_mappings::table)
        .values((
            group_mappings::tenant_id.eq(tenant_id),
            group_mappings::idp_group_id.eq(idp_group_id),
            group_mappings::end_user_group_id.eq(end_user_group_id),
        ))
        .returning(GroupMapping::as_returning())
        .get_result(conn)
}

pub fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    idp_group_id: Uuid,
    end_user_group_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(group_mappings::table.find((tenant_id, idp_group_id, end_user_group_id)))
        .execute(conn)
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    idp_group_id: Option<Uuid>,
    end_user_group_id: Option<Uuid>,
    environments: Option<&[Uuid]>,
) -> QueryResult<Vec<GroupMapping>> {
    let mut query = group_mappings::table
        .filter(group_mappings::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(environments) = environments {
        query = query.filter(
            group_mappings::end_user_group_id.eq_any(
                end_user_groups::table
                    .filter(end_user_groups::tenant_id.eq(tenant_id))
                    .filter(end_user_groups::environment_id.eq_any(environments.to_vec()))
                    .select(end_user_groups::id),
            ),
        );
    }
    if let Some(g) = idp_group_id {
        query = query.filter(group_mappings::idp_group_id.eq(g));
    }
    if let Some(e) = end_user_group_id {
        query = query.filter(group_mappings::end_user_group_id.eq(e));
    }
    query
        .order((
            group_mappings::created_at,
            group_mappings::idp_group_id,
            group_mappings::end_user_group_id,
        ))
        .select(GroupMapping::as_select())
        .load(conn)
}

/// One way a user belongs to an end-user group: directly, or through an IdP group mapped
/// onto it.
#[derive(utoipa::ToSchema, Debug, Clone, QueryableByName, serde::Serialize)]
pub struct MembershipPath {
    #[diesel(sql_type = SqlUuid)]
    pub end_user_group_id: Uuid,
    #[diesel(sql_type = Text)]
    pub end_user_group_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = Text)]
    pub via: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub idp_group_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub idp_group_name: Option<String>,
}

/// Every end-user group the user is in, once per path, from the user's own memberships
/// (index scans on the user; independent of how many groups exist).
pub fn memberships_of_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Vec<MembershipPath>> {
    diesel::sql_query(
        "SELECT e.id AS end_user_group_id, e.name AS end_user_group_name, e.environment_id, \
                'direct' AS via, NULL::uuid AS idp_group_id, NULL::text AS idp_group_name \
           FROM end_user_group_members m \
           JOIN end_user_groups e ON e.tenant_id = m.tenant_id AND e.id = m.end_user_group_id \
          WHERE m.tenant_id = $1 AND m.user_id = $2 \
         UNION ALL \
         SELECT e.id, e.name, e.environment_id, 'idp_group', g.id, g.display_name \
           FROM group_members gm \
           JOIN group_mappings map ON map.tenant_id = gm.tenant_id AND map.idp_group_id = gm.group_id \
           JOIN end_user_groups e ON e.tenant_id = map.tenant_id AND e.id = map.end_user_group_id \
           JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id \
          WHERE gm.tenant_id = $1 AND gm.user_id = $2 \
         ORDER BY 2, 1, 4, 6",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(user_id)
    .load(conn)
}

/// Whether the IdP group is mapped into any end-user group.
pub fn is_mapped(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    idp_group_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        group_mappings::table
            .filter(group_mappings::tenant_id.eq(tenant_id))
            .filter(group_mappings::idp_group_id.eq(idp_group_id)),
    ))
    .get_result(conn)
}
