use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::connector_tokens;

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
}

pub fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    kind: &str,
    user_id: Option<Uuid>,
    secret_hash: &[u8],
) -> QueryResult<ConnectorToken> {
    diesel::insert_into(connector_tokens::table)
        .values((
            connector_tokens::tenant_id.eq(tenant_id),
            connector_tokens::id.eq(id),
            connector_tokens::name.eq(name),
            connector_tokens::kind.eq(kind),
            connector_tokens::user_id.eq(user_id),
            connector_tokens::secret_hash.eq(secret_hash),
        ))
        .returning(ConnectorToken::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<ConnectorToken> {
    connector_tokens::table
        .find((tenant_id, id))
        .select(ConnectorToken::as_select())
        .first(conn)
}

pub fn list(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Vec<ConnectorToken>> {
    connector_tokens::table
        .filter(connector_tokens::tenant_id.eq(tenant_id))
        .order(connector_tokens::created_at)
        .select(ConnectorToken::as_select())
        .load(conn)
}

/// Marks the token revoked; returns it as it was before, or NotFound.
pub fn revoke(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<ConnectorToken> {
    diesel::update(connector_tokens::table.find((tenant_id, id)))
        .filter(connector_tokens::revoked_at.is_null())
        .set(connector_tokens::revoked_at.eq(diesel::dsl::now))
        .returning(ConnectorToken::as_returning())
        .get_result(conn)
}
