//! The reads behind delegated administration: which privileges a user holds where. Every
//! one starts from the user's own effective-role rows (an index range of that user), so a
//! check costs what the user's own paths cost, never the tenant's size.

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::schema::environments;

/// The tenant's first environment (in the tenant's order): workspace-wide privileges are
/// the ones held there.
pub fn first_environment(conn: &mut PgConnection, tenant_id: Uuid) -> QueryResult<Option<Uuid>> {
    environments::table
        .filter(environments::tenant_id.eq(tenant_id))
        .order((environments::position, environments::id))
        .select(environments::id)
        .first(conn)
        .optional()
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = Bool)]
    held: bool,
}

/// Whether the user holds one of `privileges` in the environment (through an environment
/// role) or, when `application` is given, one of `application_privileges` on that
/// application. An explicit *No access* environment role there refuses everything.
pub fn holds(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    environment_id: Uuid,
    privileges: &[&str],
    application: Option<Uuid>,
    application_privileges: &[&str],
) -> QueryResult<bool> {
    let row: Held = diesel::sql_query(include_str!("sql/holds_privilege.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(environment_id)
        .bind::<Array<Text>, _>(privileges)
        .bind::<Nullable<SqlUuid>, _>(application)
        .bind::<Array<Text>, _>(application_privileges)
        .get_result(conn)?;
    Ok(row.held)
}

/// Whether the user's environment role in the environment is the explicit *No access*.
pub fn has_no_access(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    environment_id: Uuid,
) -> QueryResult<bool> {
    let row: Held = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM assignments a \
                        JOIN roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id \
                        WHERE a.tenant_id = $1 AND a.user_id = $2 AND a.environment_id = $3 \
                          AND a.application_id IS NULL \
                          AND r.system_key = 'environment_no_access') AS held",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<SqlUuid, _>(environment_id)
    .get_result(conn)?;
    Ok(row.held)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The environments where the user holds one of `privileges` (and is not *No access*).
pub fn environments_holding(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    privileges: &[&str],
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Id> = diesel::sql_query(include_str!("sql/environments_holding.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(user_id)
        .bind::<Array<Text>, _>(privileges)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The applications the user holds a role on (other than *No access*), outside the
/// environments where the user is *No access*.
pub fn applications_with_role(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Id> = diesel::sql_query(include_str!("sql/applications_with_role.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<SqlUuid, _>(user_id)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// One permission check as the database takes it: a user by exactly one of id, userName or
/// externalId, and exactly one of environment or application.
#[derive(Debug, Clone, Default)]
pub struct CheckRow {
    pub user_id: Option<Uuid>,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub privilege: String,
    pub environment_id: Option<Uuid>,
    pub application_id: Option<Uuid>,
}

#[derive(QueryableByName)]
struct CheckAnswer {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    position: i64,
    #[diesel(sql_type = Bool)]
    allowed: bool,
}

diesel::define_sql_function! {
    /// One check by user id (migration `check_one_by_id`), a prepared statement.
    fn check_privilege(
        tenant: SqlUuid,
        user: SqlUuid,
        privilege: Text,
        environment: Nullable<SqlUuid>,
        application: Nullable<SqlUuid>,
    ) -> Bool;
}

/// Answers one check of a user given by id: the same rule as [`check_privileges`], in a
/// statement prepared once per connection (the batch function takes arrays and looks users
/// up by three keys, which costs more than the answer).
pub fn check_one_by_id(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    privilege: &str,
    environment_id: Option<Uuid>,
    application_id: Option<Uuid>,
) -> QueryResult<bool> {
    diesel::select(check_privilege(
        tenant_id,
        user_id,
        privilege,
        environment_id,
        application_id,
    ))
    .get_result(conn)
}

/// Answers the checks in one statement, in order. An unknown user, application or
/// environment is simply not allowed.
pub fn check_privileges(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    checks: &[CheckRow],
) -> QueryResult<Vec<bool>> {
    let column = |f: fn(&CheckRow) -> Option<Uuid>| checks.iter().map(f).collect::<Vec<_>>();
    let text = |f: fn(&CheckRow) -> Option<String>| checks.iter().map(f).collect::<Vec<_>>();
    // The statement lives in the function `check_privileges` (migration
    // `permission_checks`), whose plan is made once per connection.
    let answers: Vec<CheckAnswer> = diesel::sql_query(
        "SELECT check_ord AS position, check_allowed AS allowed \
         FROM check_privileges($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind::<SqlUuid, _>(tenant_id)
    .bind::<Array<Nullable<SqlUuid>>, _>(column(|c| c.user_id))
    .bind::<Array<Nullable<Text>>, _>(text(|c| c.user_name.clone()))
    .bind::<Array<Nullable<Text>>, _>(text(|c| c.external_id.clone()))
    .bind::<Array<Text>, _>(
        checks
            .iter()
            .map(|c| c.privilege.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<SqlUuid>>, _>(column(|c| c.environment_id))
    .bind::<Array<Nullable<SqlUuid>>, _>(column(|c| c.application_id))
    .load(conn)?;
    let mut allowed = vec![false; checks.len()];
    for answer in answers {
        let slot = usize::try_from(answer.position - 1)
            .ok()
            .and_then(|i| allowed.get_mut(i));
        if let Some(slot) = slot {
            *slot = answer.allowed;
        }
    }
    Ok(allowed)
}

/// One privilege a user holds in an environment (on an application, or environment-wide).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, QueryableByName)]
pub struct HeldPrivilege {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub application_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub privilege_key: String,
}

/// Every privilege the users hold, anywhere in the tenant (for previews).
pub fn privileges_held(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    users: &[Uuid],
) -> QueryResult<Vec<HeldPrivilege>> {
    diesel::sql_query(include_str!("sql/privileges_held.sql"))
        .bind::<SqlUuid, _>(tenant_id)
        .bind::<Array<SqlUuid>, _>(users)
        .load(conn)
}
