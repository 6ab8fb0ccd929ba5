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
