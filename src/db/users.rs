use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{effective_roles, group_members, groups, users};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
    pub attributes: Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The stored fields of a user, as provisioning decides them.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserFields {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
    pub attributes: Value,
}

/// Where a user came from (`users.source`), shown by the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// Created by the identity provider through SCIM.
    Scim,
    /// Created by a login (just-in-time provisioning).
    Login,
    /// Invited by an administrator.
    Invitation,
    /// Invited by a CSV import.
    Import,
    /// A managed workspace's account of a parent's moderator.
    Moderator,
}

impl UserSource {
    pub const ALL: [UserSource; 5] = [
        UserSource::Scim,
        UserSource::Login,
        UserSource::Invitation,
        UserSource::Import,
        UserSource::Moderator,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            UserSource::Scim => "scim",
            UserSource::Login => "login",
            UserSource::Invitation => "invitation",
            UserSource::Import => "import",
            UserSource::Moderator => "moderator",
        }
    }

    pub fn parse(text: &str) -> Option<UserSource> {
        UserSource::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &UserFields,
    source: UserSource,
) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant_id),
            users::id.eq(id),
            users::source.eq(source.as_str()),
            fields,
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find((tenant_id, id))
        .select(UserRow::as_select())
        .first(conn)
}

/// Reads the row and locks it until the transaction ends, so concurrent modifications of
/// the same user apply one after the other.
pub fn find_for_update(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find((tenant_id, id))
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    fields: &UserFields,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find((tenant_id, id)))
        .set((
            fields,
            users::version.eq(users::version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
}

/// The user's status: `invited`, `active` or `archived`.
pub fn status(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<String> {
    users::table
        .find((tenant_id, id))
        .select(users::status)
        .first(conn)
}

/// Deletes the user and its effective-role paths (the path table has no foreign key to
/// users, whose per-row checks would cost as much as a large grant's inserts).
pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(
        effective_roles::table
            .filter(effective_roles::tenant_id.eq(tenant_id))
            .filter(effective_roles::user_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(users::table.find((tenant_id, id))).execute(conn)
}

/// The id of the user with this userName (compared case-insensitively).
pub fn find_by_user_name(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_name: &str,
) -> QueryResult<Uuid> {
    diesel::sql_query(
        "SELECT id FROM users WHERE tenant_id = $1 AND rolegate_fold(user_name) COLLATE \"C\" = rolegate_fold($2) COLLATE \"C\"",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .bind::<diesel::sql_types::Text, _>(user_name)
    .get_result::<IdRow>(conn)
    .map(|r| r.id)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// Which of `ids` are users of the tenant.
pub fn existing_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
}

/// Which groups [`groups_of`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSources {
    /// Groups provisioned over SCIM only (what a SCIM User's `groups` shows).
    Scim,
    /// SCIM groups and the groups of login claims.
    ScimAndLogin,
}

/// One group a user is a direct member of.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct MemberOf {
    pub user_id: Uuid,
    pub group_id: Uuid,
    pub display_name: String,
    /// The OIDC provider whose login claims fill the group; `None` for a SCIM group.
    pub oidc_provider_id: Option<Uuid>,
}

/// The groups each of `user_ids` is a direct member of, by user, then display name.
pub fn groups_of(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_ids: &[Uuid],
    sources: GroupSources,
) -> QueryResult<Vec<MemberOf>> {
    let mut query = group_members::table
        .inner_join(
            groups::table.on(groups::tenant_id
                .eq(group_members::tenant_id)
                .and(groups::id.eq(group_members::group_id))),
        )
        .filter(group_members::tenant_id.eq(tenant_id))
        .filter(group_members::user_id.eq_any(user_ids))
        .into_boxed();
    if sources == GroupSources::Scim {
        query = query.filter(groups::oidc_provider_id.is_null());
    }
    query
        .order((group_members::user_id, groups::display_name, groups::id))
        .select((
            group_members::user_id,
            groups::id,
            groups::display_name,
            groups::oidc_provider_id,
        ))
        .load(conn)
}

diesel::define_sql_function! {
    /// `[[group id, display name], …]`: the SCIM groups a user is a direct member of, in
    /// `groups_of`'s order (a plpgsql function, so its plan is kept per connection).
    fn user_scim_groups(tenant: diesel::sql_types::Uuid, user: diesel::sql_types::Uuid) -> diesel::sql_types::Jsonb;
}

/// One user and the SCIM groups it is a direct member of, in one statement — a prepared
/// one: this is every SCIM read's statement, and planning it each time cost more than
/// running it.
pub fn find_with_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<(UserRow, Vec<(Uuid, String)>)> {
    let (record, member_of): (UserRow, Value) = users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select((
            UserRow::as_select(),
            user_scim_groups(users::tenant_id, users::id),
        ))
        .get_result(conn)?;
    let groups = member_of
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|pair| {
                    let id = pair.get(0)?.as_str()?.parse().ok()?;
                    Some((id, pair.get(1)?.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((record, groups))
}

/// A user with its sort key, as list queries return it.
#[derive(Debug, Clone, QueryableByName)]
pub struct KeyedUserRow {
    #[diesel(embed)]
    pub record: UserRow,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub sort_key: Option<String>,
}

impl super::query::Positioned for KeyedUserRow {
    fn position(&self) -> super::query::Position {
        super::query::Position {
            key: self.sort_key.clone(),
            id: self.record.id,
        }
    }
}

/// One line of the console's user list.
#[derive(Debug, Clone, QueryableByName)]
pub struct ListedUser {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub user_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub display_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub active: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub source: String,
    /// The key the next page starts after.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub sort_key: String,
}

/// What the console's user list asks for.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery<'a> {
    /// Part of the userName, the start of the display name, or an exact e-mail address or
    /// externalId.
    pub search: Option<&'a str>,
    /// `invited`, `active`, `archived`, or `deactivated` (SCIM `active: false`).
    pub status: Option<&'a str>,
    pub source: Option<UserSource>,
    /// The sort key of the last user of the previous page.
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// A page of the tenant's users by folded userName: a keyset page (never an offset), each
/// search term through its own index.
pub fn page(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    q: &UserListQuery,
) -> QueryResult<Vec<ListedUser>> {
    use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
    let pattern = q.search.map(super::like_pattern);
    diesel::sql_query(include_str!("sql/console_users_page.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Nullable<Text>, _>(pattern)
        .bind::<Nullable<Text>, _>(q.search)
        .bind::<Nullable<Text>, _>(q.status)
        .bind::<Nullable<Text>, _>(q.source.map(UserSource::as_str))
        .bind::<Nullable<Text>, _>(q.after)
        .bind::<BigInt, _>(q.limit)
        .load(conn)
}
