//! Console sessions: the only module that writes `console_sessions`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::schema::console_sessions;

#[derive(Debug, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct NewConsoleSession<'a> {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub secret_hash: &'a [u8],
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub csrf_token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut PgConnection, session: &NewConsoleSession) -> QueryResult<()> {
    // Expired sessions of the tenant go as new ones come: bounded per sign-in.
    diesel::sql_query(
        "DELETE FROM console_sessions WHERE tenant_id = $1 AND id IN \
         (SELECT id FROM console_sessions WHERE tenant_id = $1 AND expires_at < now() LIMIT 100)",
    )
    .bind::<SqlUuid, _>(session.tenant_id)
    .execute(conn)?;
    diesel::insert_into(console_sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// A session with what decides, at this request, whether it still stands: the state of the
/// token it signed in with and of the user it acts as.
#[derive(Debug, QueryableByName)]
pub struct SessionState {
    #[diesel(sql_type = SqlUuid)]
    pub tenant_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    pub secret_hash: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub csrf_token: String,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub token_id: Option<Uuid>,
    /// The token is still usable (not revoked, not expired); null without a token.
    #[diesel(sql_type = Nullable<Bool>)]
    pub token_usable: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub token_owner: Option<bool>,
    /// The user the session acts as: the person signed in, or the token's user.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_status: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub user_active: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_name: Option<String>,
}

/// One statement: the session, its token and its user.
pub fn find_state(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<SessionState>> {
    diesel::sql_query(
        "SELECT s.tenant_id, s.id, s.secret_hash, s.csrf_token, s.expires_at, s.token_id, \
                CASE WHEN t.id IS NULL THEN NULL \
                     ELSE t.revoked_at IS NULL AND t.kind = 'admin' \
                          AND (t.expires_at IS NULL OR t.expires_at > now()) END AS token_usable, \
                t.owner AS token_owner, \
                u.id AS user_id, u.status AS user_status, u.active AS user_active, \
                u.user_name \
         FROM console_sessions s \
         LEFT JOIN connector_tokens t ON t.tenant_id = s.tenant_id AND t.id = s.token_id \
         LEFT JOIN users u ON u.tenant_id = s.tenant_id \
              AND u.id = COALESCE(s.user_id, t.user_id) \
         WHERE s.tenant_id = $1 AND s.id = $2",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .optional()
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(console_sessions::table.find((tenant_id, id))).execute(conn)
}
