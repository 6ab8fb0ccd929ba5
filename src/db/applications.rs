use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::applications;

#[derive(utoipa::ToSchema, Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = applications)]
pub struct Application {
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
) -> QueryResult<Application> {
    diesel::insert_into(applications::table)
        .values((
            applications::tenant_id.eq(tenant_id),
            applications::id.eq(Uuid::new_v4()),
            applications::environment_id.eq(environment_id),
            applications::name.eq(name),
            applications::description.eq(description),
        ))
        .returning(Application::as_returning())
        .get_result(conn)
}

pub fn list(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    environment_id: Option<Uuid>,
) -> QueryResult<Vec<Application>> {
    let mut query = applications::table
        .filter(applications::tenant_id.eq(tenant_id))
        .into_boxed();
    if let Some(env) = environment_id {
        query = query.filter(applications::environment_id.eq(env));
    }
    query
        .order((applications::name, applications::id))
        .select(Application::as_select())
        .load(conn)
}

pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<Application> {
    applications::table
        .find((tenant_id, id))
        .select(Application::as_select())
        .first(conn)
}

diesel::define_sql_function! {
    /// The database's case folding (migration `unicode_case_folding`).
    fn rolegate_fold(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The environment's application of this name, ignoring case as names are unique.
pub fn find_by_name(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    environment_id: Uuid,
    name: &str,
) -> QueryResult<Option<Application>> {
    applications::table
        .filter(applications::tenant_id.eq(tenant_id))
        .filter(applications::environment_id.eq(environment_id))
        .filter(rolegate_fold(applications::name).eq(rolegate_fold(name)))
        .select(Application::as_select())
        .first(conn)
        .optional()
}

pub fn update(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    name: &str,
    description: &str,
) -> QueryResult<Application> {
    diesel::update(applications::table.find((tenant_id, id)))
        .set((
            applications::name.eq(name),
            applications::description.eq(description),
            applications::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Application::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::delete(applications::table.find((tenant_id, id))).execute(conn)
}
