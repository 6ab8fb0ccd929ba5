//! Helpers the benchmark programs share: arguments, seeding SQL, percentiles, query plans.
// Each benchmark uses a different subset.
#![allow(dead_code)]

use std::time::Duration;

use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use uuid::Uuid;

/// The number after `name` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Runs seeding SQL; a benchmark whose data cannot be made has nothing to measure.
pub fn execute(conn: &mut PgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(QueryableByName)]
pub struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub text: String,
}

#[derive(QueryableByName)]
pub struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
}

/// The `id` column of every row `sql` returns.
pub fn ids(conn: &mut PgConnection, sql: &str) -> Vec<Uuid> {
    diesel::sql_query(sql)
        .load::<Id>(conn)
        .expect("ids")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// One line of `EXPLAIN` output.
#[derive(QueryableByName)]
pub struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    pub line: String,
}

/// The `p` quantile (0–1) of the latencies, in milliseconds.
pub fn percentile(latencies: &[Duration], p: f64) -> f64 {
    let mut l = latencies.to_vec();
    l.sort();
    l[((l.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}
