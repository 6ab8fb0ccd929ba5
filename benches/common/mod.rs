//! Helpers the benchmark programs share: arguments, seeding SQL, percentiles, query plans.
// Each benchmark uses a different subset.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use rolegate::db::embedded::{Durability, EmbeddedCluster};
use rolegate::db::run_migrations;
use uuid::Uuid;

/// The benchmark's database: `DATABASE_URL`, or a private cluster in a temporary directory
/// that is stopped and removed when this is dropped.
pub struct BenchDatabase {
    pub url: String,
    cluster: Option<EmbeddedCluster>,
    dir: PathBuf,
}

impl BenchDatabase {
    pub fn open(name: &str) -> BenchDatabase {
        let dir = std::env::temp_dir().join(format!("rolegate-{name}-{}", std::process::id()));
        let (cluster, url) = match std::env::var("DATABASE_URL") {
            Ok(url) => (None, url),
            Err(_) => {
                let c = EmbeddedCluster::start(&dir, Durability::Full).expect("cluster");
                c.ensure_database(name).expect("database");
                let url = c.url(name);
                (Some(c), url)
            }
        };
        BenchDatabase { url, cluster, dir }
    }

    /// A connection to the database, migrated.
    pub fn connect(&self) -> PgConnection {
        let mut conn = PgConnection::establish(&self.url).expect("connects");
        run_migrations(&mut conn).expect("migrates");
        conn
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Some(mut c) = self.cluster.take() {
            c.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

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
