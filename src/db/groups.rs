use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{group_members, groups};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub display_name: String,
    pub external_id: Option<String>,
    pub attributes: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = groups, treat_none_as_null = true)]
pub struct GroupFields {
    pub display_name: String,
    pub external_id: Option<String>,
    pub attributes: Value,
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &GroupFields,
) -> QueryResult<GroupRow> {
    diesel::insert_into(groups::table)
        .values((groups::tenant_id.eq(tenant_id), groups::id.eq(id), fields))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

/// Any IdP group: one pushed by SCIM or one made from an OIDC groups claim.
pub fn find_any(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<GroupRow> {
    groups::table
        .find((tenant_id, id))
        .select(GroupRow::as_select())
        .first(conn)
}

/// A group as SCIM sees it: groups made from OIDC claims are not found.
pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<GroupRow> {
    groups::table
        .find((tenant_id, id))
        .filter(groups::oidc_provider_id.is_null())
        .select(GroupRow::as_select())
        .first(conn)
}

/// Locks the group row for the rest of the transaction: concurrent changes to one group
/// (and its version) apply one after the other, while member rows stay independent.
pub fn find_for_update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<GroupRow> {
    groups::table
        .find((tenant_id, id))
        .filter(groups::oidc_provider_id.is_null())
        .select(GroupRow::as_select())
        .for_update()
        .first(conn)
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &GroupFields,
) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find((tenant_id, id)))
        .set((
            fields,
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(diesel::dsl::now),
        ))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

/// Records a change to the group's membership: a new version, nothing else rewritten.
pub fn touch(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<GroupRow> {
    diesel::update(groups::table.find((tenant_id, id)))
        .set((
            groups::version.eq(groups::version + 1),
            groups::updated_at.eq(diesel::dsl::now),
        ))
        .returning(GroupRow::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(groups::table.find((tenant_id, id))).execute(conn)
}

/// Member ids of several groups in one query: (group id, user id).
pub fn members_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    group_members::table
        .filter(group_members::tenant_id.eq(tenant_id))
        .filter(group_members::group_id.eq_any(group_ids))
        .order((
            group_members::group_id,
            group_members::created_at,
            group_members::user_id,
        ))
        .select((group_members::group_id, group_members::user_id))
        .load(conn)
}

/// Adds members; ones already present are left alone. Returns the users that were new.
pub fn add_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<_> = user_ids
        .iter()
        .map(|u| {
            (
                group_members::tenant_id.eq(tenant_id),
                group_members::group_id.eq(group_id),
                group_members::user_id.eq(*u),
            )
        })
        .collect();
    let mut added = Vec::new();
    // PostgreSQL takes at most 65535 parameters per statement.
    for chunk in rows.chunks(10_000) {
        added.extend(
            diesel::insert_into(group_members::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(group_members::user_id)
                .get_results::<Uuid>(conn)?,
        );
    }
    Ok(added)
}

/// Removes members; returns the users that were members.
pub fn remove_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    diesel::delete(
        group_members::table
            .filter(group_members::tenant_id.eq(tenant_id))
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::user_id.eq_any(user_ids)),
    )
    .returning(group_members::user_id)
    .get_results(conn)
}

pub fn remove_all_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    diesel::delete(
        group_members::table
            .filter(group_members::tenant_id.eq(tenant_id))
            .filter(group_members::group_id.eq(group_id)),
    )
    .returning(group_members::user_id)
    .get_results(conn)
}

/// A group with its sort key, as list queries return it.
#[derive(Debug, Clone, QueryableByName)]
pub struct KeyedGroupRow {
    #[diesel(embed)]
    pub record: GroupRow,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub sort_key: Option<String>,
}

impl super::query::Positioned for KeyedGroupRow {
    fn position(&self) -> super::query::Position {
        super::query::Position {
            key: self.sort_key.clone(),
            id: self.record.id,
        }
    }
}

/// Gives every group the user belongs to a new version: their member lists are about to
/// change because the user is going away.
pub fn touch_groups_of_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<usize> {
    let containing = group_members::table
        .filter(group_members::tenant_id.eq(tenant_id))
        .filter(group_members::user_id.eq(user_id))
        .select(group_members::group_id);
    diesel::update(
        groups::table
            .filter(groups::tenant_id.eq(tenant_id))
            .filter(groups::id.eq_any(containing)),
    )
    .set((
        groups::version.eq(groups::version + 1),
        groups::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
}

/// One line of the IdP group list.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct ListedIdpGroup {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub display_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub external_id: Option<String>,
    /// Learned from logins with this provider; null: pushed by SCIM.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub oidc_provider_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub provider_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub member_count: i64,
    /// `[{"id", "name", "environment_id"}]`: the end-user groups it is mapped into.
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub mapped_to: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub sort_name: String,
}

/// A keyset page of the tenant's IdP groups by folded display name, then id.
pub fn idp_groups_page(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    search: Option<&str>,
    after: Option<(&str, Uuid)>,
    limit: i64,
    environments: Option<&[Uuid]>,
) -> QueryResult<Vec<ListedIdpGroup>> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
    diesel::sql_query(include_str!("sql/idp_groups_page.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Nullable<Text>, _>(search.map(super::like_pattern))
        .bind::<Nullable<Text>, _>(after.map(|(name, _)| name))
        .bind::<BigInt, _>(limit)
        .bind::<Nullable<Array<SqlUuid>>, _>(environments)
        .bind::<Nullable<SqlUuid>, _>(after.map(|(_, id)| id))
        .load(conn)
}
