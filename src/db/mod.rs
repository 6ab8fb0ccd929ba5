//! PostgreSQL access: the connection pool, the one helper that runs blocking Diesel code,
//! embedded migrations, the embedded cluster, and the queries per table.

pub mod audit;
pub mod embedded;
pub mod filter;
pub mod groups;
pub mod schema;
pub mod tenants;
pub mod tokens;
pub mod users;

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why a database call failed, before the interface decides what to answer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

pub fn build_pool(database_url: &str, size: u32, timeout: Duration) -> anyhow::Result<PgPool> {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    let pool = Pool::builder()
        .max_size(size)
        .connection_timeout(timeout)
        .build(manager)?;
    Ok(pool)
}

/// Applies every pending migration.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    Ok(())
}

/// Runs synchronous Diesel code on the blocking thread pool, with a connection taken from
/// the pool inside the closure's thread. This is the only place that touches the pool from
/// request handlers.
pub async fn run_blocking<F, T, E>(pool: &PgPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(DbError::Blocking(e.to_string())))?
}

/// Whether an error is PostgreSQL's unique violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

fn bind_all<'a>(
    mut query: diesel::query_builder::BoxedSqlQuery<
        'a,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    >,
    binds: &[filter::Bind],
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    use diesel::sql_types::{Bool, Text};
    for bind in binds {
        query = match bind {
            filter::Bind::Text(s) => query.bind::<Text, _>(s.clone()),
            filter::Bind::Bool(b) => query.bind::<Bool, _>(*b),
        };
    }
    query
}

/// One page of a tenant's rows of `table` (`users` or `groups`) matching an optional
/// condition whose placeholders start at `$2`, oldest first, and the total count.
fn page<R>(
    conn: &mut PgConnection,
    table: &'static str,
    tenant_id: uuid::Uuid,
    condition: Option<&filter::SqlCondition>,
    offset: i64,
    limit: i64,
) -> diesel::QueryResult<(Vec<R>, i64)>
where
    R: diesel::QueryableByName<diesel::pg::Pg> + 'static,
{
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    let filter_sql = condition
        .map(|c| format!(" AND {}", c.sql))
        .unwrap_or_default();
    let mut binds = vec![filter::Bind::Text(tenant_id.to_string())];
    binds.extend(condition.map(|c| c.binds.clone()).unwrap_or_default());
    let count_sql = format!(
        "SELECT count(*) AS count FROM {table} WHERE {table}.tenant_id = $1::uuid{filter_sql}"
    );
    let total = bind_all(diesel::sql_query(count_sql).into_boxed(), &binds)
        .get_result::<Count>(conn)?
        .count;
    if limit == 0 || total == 0 {
        return Ok((Vec::new(), total));
    }
    let page_sql = format!(
        "SELECT {table}.* FROM {table} WHERE {table}.tenant_id = $1::uuid{filter_sql} \
         ORDER BY {table}.created_at, {table}.id OFFSET ${} LIMIT ${}",
        binds.len() + 1,
        binds.len() + 2
    );
    let rows = bind_all(diesel::sql_query(page_sql).into_boxed(), &binds)
        .bind::<BigInt, _>(offset)
        .bind::<BigInt, _>(limit)
        .load::<R>(conn)?;
    Ok((rows, total))
}
