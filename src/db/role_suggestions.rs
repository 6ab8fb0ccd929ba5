//! Role suggestions: assignments proposed for a deployed project, waiting to be accepted
//! or rejected. Every write to `role_suggestions` is here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use serde::Serialize;
use uuid::Uuid;

use super::assignments::Principal;
use super::schema::role_suggestions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = role_suggestions)]
pub struct SuggestionRow {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub application_id: Uuid,
    pub role_id: Uuid,
    pub user_id: Option<Uuid>,
    pub end_user_group_id: Option<Uuid>,
    pub collaborator_group_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A proposed assignment: `principal` receives `role_id` on the application.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Suggestion {
    pub id: Uuid,
    pub application_id: Uuid,
    pub principal: Principal,
    pub role_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<SuggestionRow> for Suggestion {
    fn from(r: SuggestionRow) -> Self {
        let principal =
            Principal::from_columns(r.user_id, r.end_user_group_id, r.collaborator_group_id);
        Suggestion {
            id: r.id,
            application_id: r.application_id,
            principal,
            role_id: r.role_id,
            created_at: r.created_at,
        }
    }
}

/// Proposes the source application's assignments for the target (see
/// `sql/propose_role_suggestions.sql`); answers how many are new.
pub fn propose(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source: Uuid,
    target: Uuid,
    target_environment: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(include_str!("sql/propose_role_suggestions.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(source)
        .bind::<SqlUuid, _>(target)
        .bind::<SqlUuid, _>(target_environment)
        .execute(conn)
}

/// The application's waiting suggestions, oldest first.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    application_id: Uuid,
) -> QueryResult<Vec<Suggestion>> {
    role_suggestions::table
        .filter(role_suggestions::tenant_id.eq(tenant_id))
        .filter(role_suggestions::application_id.eq(application_id))
        .order((role_suggestions::created_at, role_suggestions::id))
        .select(SuggestionRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(Suggestion::from).collect())
}

/// Removes the named suggestions of the application and answers them (those that exist).
pub fn take(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    application_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<Suggestion>> {
    diesel::delete(
        role_suggestions::table
            .filter(role_suggestions::tenant_id.eq(tenant_id))
            .filter(role_suggestions::application_id.eq(application_id))
            .filter(role_suggestions::id.eq_any(ids)),
    )
    .returning(SuggestionRow::as_returning())
    .get_results(conn)
    .map(|rows| rows.into_iter().map(Suggestion::from).collect())
}
