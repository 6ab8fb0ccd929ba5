//! Reads across a parent tenant's managed workspaces.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

#[derive(utoipa::ToSchema, Debug, Clone, QueryableByName, serde::Serialize)]
pub struct WorkspaceTotals {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Users not archived.
    #[diesel(sql_type = BigInt)]
    pub users: i64,
    /// Users who hold the Admin or Builder default group or may build an application.
    #[diesel(sql_type = BigInt)]
    pub builders: i64,
}

pub fn totals(conn: &mut PgConnection, parent: Uuid) -> QueryResult<Vec<WorkspaceTotals>> {
    diesel::sql_query(include_str!("sql/workspace_totals.sql"))
        .bind::<SqlUuid, _>(parent)
        .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct WorkspaceUserRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub user_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub display_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub sort_key: String,
    #[diesel(sql_type = Bool)]
    pub builder: bool,
}

/// One page of a workspace's users (see `sql/workspace_users.sql`).
pub fn users_page(
    conn: &mut PgConnection,
    workspace: Uuid,
    after: Option<&str>,
    pattern: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<WorkspaceUserRow>> {
    diesel::sql_query(include_str!("sql/workspace_users.sql"))
        .bind::<SqlUuid, _>(workspace)
        .bind::<Nullable<Text>, _>(after)
        .bind::<Nullable<Text>, _>(pattern)
        .bind::<BigInt, _>(limit)
        .load(conn)
}
