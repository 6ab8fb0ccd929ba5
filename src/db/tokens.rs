use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{connector_tokens, users};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = connector_tokens)]
pub struct ConnectorToken {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `scim` (a provisioning connector) or `admin` (the admin API).
    pub kind: String,
    /// For admin tokens: the user the token acts as, if bound to one.
    pub user_id: Option<Uuid>,
    /// An admin token bound to no user, with full access (made only with the CLI).
    pub owner: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = connector_tokens)]
pub struct NewToken<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: &'a str,
    pub kind: &'a str,
    pub user_id: Option<Uuid>,
    pub owner: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub secret_hash: &'a [u8],
}

pub fn insert(conn: &mut PgConnection, token: &NewToken) -> QueryResult<ConnectorToken> {
    diesel::insert_into(connector_tokens::table)
        .values(token)
        .returning(ConnectorToken::as_returning())
        .get_result(conn)
}

/// A token with the state of the user it is bound to (`None` when unbound or when that
/// user is gone): (status, active).
pub type TokenWithUser = (ConnectorToken, Option<String>, Option<bool>);

/// The token and its user's state in one read (a primary-key probe on each table).
pub fn find_with_user(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<TokenWithUser> {
    connector_tokens::table
        .left_join(
            users::table.on(users::tenant_id
                .eq(connector_tokens::tenant_id)
                .and(connector_tokens::user_id.eq(users::id.nullable()))),
        )
        .filter(connector_tokens::tenant_id.eq(tenant_id))
        .filter(connector_tokens::id.eq(id))
        .select((
            ConnectorToken::as_select(),
            users::status.nullable(),
            users::active.nullable(),
        ))
        .first::<(ConnectorToken, Option<String>, Option<bool>)>(conn)
}

/// Records a use, at most once a minute per token so that checking stays a read.
pub fn touch(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::update(connector_tokens::table.find((tenant_id, id)))
        .filter(
            connector_tokens::last_used_at
                .is_null()
                .or(connector_tokens::last_used_at.lt(Utc::now() - chrono::Duration::minutes(1))),
        )
        .set(connector_tokens::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<ConnectorToken>> {
    connector_tokens::table
        .filter(connector_tokens::tenant_id.eq(tenant_id))
        .order(connector_tokens::created_at)
        .select(ConnectorToken::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<ConnectorToken> {
    connector_tokens::table
        .find((tenant_id, id))
        .select(ConnectorToken::as_select())
        .first(conn)
}

/// Marks the token revoked; returns it as it was before, or NotFound.
pub fn revoke(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<ConnectorToken> {
    diesel::update(connector_tokens::table.find((tenant_id, id)))
        .filter(connector_tokens::revoked_at.is_null())
        .set(connector_tokens::revoked_at.eq(diesel::dsl::now))
        .returning(ConnectorToken::as_returning())
        .get_result(conn)
}
