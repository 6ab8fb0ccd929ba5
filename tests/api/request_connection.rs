//! One pool checkout per request: the statements of one request share the connection it
//! checked out first, and the connection goes back to the pool when the request ends (or
//! when the request waits for its tenant's turn).

use diesel::prelude::*;
use rolegate::db::{
    build_pool, release_request_connection, run_blocking, with_request_connection, DbError,
};

use crate::helpers::fresh_database;

#[derive(QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

async fn backend(pool: &rolegate::db::PgPool) -> i32 {
    run_blocking(pool, |conn| {
        diesel::sql_query("SELECT pg_backend_pid() AS pid")
            .get_result::<Backend>(conn)
            .map(|b| b.pid)
            .map_err(DbError::from)
    })
    .await
    .expect("query")
}

#[tokio::test]
async fn a_requests_statements_share_one_checkout() {
    let pool = build_pool(&fresh_database(), 2, std::time::Duration::from_secs(5)).expect("pool");
    let (first, second, idle_between) = with_request_connection(async {
        let first = backend(&pool).await;
        let idle = pool.state().idle_connections;
        (first, backend(&pool).await, idle)
    })
    .await;
    assert_eq!(first, second, "both statements ran on one connection");
    assert_eq!(
        idle_between, 0,
        "the request kept its connection between statements"
    );
    assert_eq!(
        pool.state().idle_connections,
        pool.state().connections,
        "given back at the end"
    );

    // Released while the request waits for something else, then checked out again.
    with_request_connection(async {
        backend(&pool).await;
        release_request_connection();
        assert_eq!(pool.state().idle_connections, pool.state().connections);
        backend(&pool).await;
        assert_eq!(pool.state().idle_connections + 1, pool.state().connections);
    })
    .await;

    // Outside a request, each statement checks out and gives back at once.
    backend(&pool).await;
    assert_eq!(pool.state().idle_connections, pool.state().connections);
}

/// A connection whose server stopped taking writes (here: its session was made read-only,
/// as on a standby after a failover) is dropped after the failure, so the next request gets
/// a new one; a refusal of the request's own data keeps the connection without a probe.
#[tokio::test]
async fn a_connection_to_a_read_only_server_is_dropped_and_a_refusal_keeps_it() {
    let pool = build_pool(&fresh_database(), 1, std::time::Duration::from_secs(5)).expect("pool");
    let first = backend(&pool).await;

    let missing = run_blocking(&pool, |conn| {
        diesel::sql_query("SELECT pg_backend_pid() AS pid WHERE false")
            .get_result::<Backend>(conn)
            .map_err(DbError::from)
    })
    .await;
    assert!(matches!(
        missing,
        Err(DbError::Query(diesel::result::Error::NotFound))
    ));
    assert_eq!(
        backend(&pool).await,
        first,
        "a missing row keeps the connection"
    );

    let refused = run_blocking(&pool, |conn| {
        diesel::sql_query("SET default_transaction_read_only = on").execute(conn)?;
        diesel::sql_query("CREATE TABLE written_on_a_standby (n int)")
            .execute(conn)
            .map_err(DbError::from)
    })
    .await;
    let message = format!("{:?}", refused.expect_err("read-only"));
    assert!(message.contains("read-only transaction"), "{message}");
    let second = backend(&pool).await;
    assert_ne!(second, first, "the read-only connection was not reused");
    let role = run_blocking(&pool, |conn| {
        rolegate::db::server_role(conn).map_err(DbError::from)
    })
    .await
    .expect("role");
    assert_eq!(role, rolegate::db::ServerRole::Primary);
}
