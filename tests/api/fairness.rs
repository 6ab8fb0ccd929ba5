//! Fairness between tenants: one tenant flooding the server with more parallel Bulk
//! requests and expensive filters than the pool has connections does not slow another
//! tenant's simple reads. (A latency bound, but a coarse one — 100 ms against a few
//! milliseconds — and the point: without the per-tenant share the reads wait seconds for a
//! connection and fail.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Options, USER_SCHEMA};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const FLOODERS: usize = 24;
const FLOOD: Duration = Duration::from_secs(6);

fn bulk_of_users(prefix: &str, count: usize) -> Value {
    let operations: Vec<Value> = (0..count)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                   "data": {"schemas": [USER_SCHEMA], "userName": format!("{prefix}-{i}"),
                            "title": format!("title {i}"),
                            "emails": [{"value": format!("{prefix}-{i}@example.com")}]}})
        })
        .collect();
    json!({"schemas": [BULK], "Operations": operations})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tenant_does_not_slow_another_tenants_reads() {
    let app = Arc::new(
        spawn_app_with(Options {
            pool_size: 6,
            body_limit: 1024 * 1024,
            ..Options::default()
        })
        .await,
    );
    let quiet = app.other_tenant_token();
    let created = app
        .request_as(
            Some(&quiet),
            Method::POST,
            "/Users",
            Some(&json!({"schemas": [USER_SCHEMA], "userName": "quiet"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let seed = app.post("/Bulk", &bulk_of_users("seed", 1000)).await;
    assert_eq!(seed.status, 200, "{}", seed.body);

    let stop = Arc::new(AtomicBool::new(false));
    let (answered, busy) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut flooders = Vec::new();
    for f in 0..FLOODERS {
        let (app, stop, answered, busy) =
            (app.clone(), stop.clone(), answered.clone(), busy.clone());
        flooders.push(tokio::spawn(async move {
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                let reply = if (f + round) % 2 == 0 {
                    app.post("/Bulk", &bulk_of_users(&format!("f{f}r{round}"), 100))
                        .await
                } else {
                    app.get(
                        "/Users?count=200&sortBy=title&filter=not%20(emails%20ew%20%22%40nowhere.invalid%22)%20and%20title%20co%20%22e%201%22",
                    )
                    .await
                };
                match reply.status {
                    200 => answered.fetch_add(1, Ordering::Relaxed),
                    429 => {
                        assert!(reply.header("retry-after").is_some());
                        busy.fetch_add(1, Ordering::Relaxed)
                    }
                    other => panic!("the flooding tenant got {other}: {}", reply.body),
                };
                round += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let mut latencies = Vec::new();
    while started.elapsed() < FLOOD {
        let sent = Instant::now();
        let reply = app
            .request_as(Some(&quiet), Method::GET, "/Users?count=1", None)
            .await;
        latencies.push(sent.elapsed());
        assert_eq!(
            reply.status, 200,
            "the quiet tenant's read failed: {}",
            reply.body
        );
        assert_eq!(reply.body["totalResults"], 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.await.expect("flooder finishes");
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    let p50 = latencies[latencies.len() / 2];
    let done = answered.load(Ordering::Relaxed);
    eprintln!(
        "quiet tenant: {} reads, p50 {p50:?}, p99 {p99:?}; flooding tenant: {done} answered, {} busy",
        latencies.len(),
        busy.load(Ordering::Relaxed)
    );
    assert!(done > 0, "the flooding tenant was served too");
    assert!(p99 < Duration::from_millis(100), "p99 {p99:?}");
}

/// Beyond its share a tenant's requests wait in its own queue; one that waits longer than
/// the pool's connection timeout is refused with 429 and `Retry-After` in the interface's
/// format, while other tenants are served at once.
#[tokio::test]
async fn requests_beyond_a_tenants_share_wait_then_get_429() {
    let app = Arc::new(
        spawn_app_with(Options {
            pool_size: 4,
            tenant_max_connections: 1,
            db_timeout: Duration::from_millis(700),
            ..Options::default()
        })
        .await,
    );
    let quiet = app.other_tenant_token();
    let user = app.create_user("member").await;
    let group = app.create_group("held", &[&user]).await;
    let mut locker = PgConnection::establish(&app.database_url).expect("connects");
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .expect("begin");
    diesel::sql_query("LOCK TABLE group_members IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .expect("locks");
    // This read waits for the lock, holding the tenant's only slot.
    let held = {
        let app = app.clone();
        tokio::spawn(async move { app.get(&format!("/Groups/{group}")).await.status })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    let refused = app.get("/Users?count=1").await;
    refused.assert_error(429, None);
    assert!(refused
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok()));
    let refused = app.admin(Method::GET, "/environments", None).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "https://rolegate.dev/problems/tenant-busy"
    );
    assert!(refused.header("retry-after").is_some());

    let sent = Instant::now();
    let other = app
        .request_as(Some(&quiet), Method::GET, "/Users?count=1", None)
        .await;
    assert_eq!(other.status, 200);
    assert!(
        sent.elapsed() < Duration::from_millis(500),
        "{:?}",
        sent.elapsed()
    );

    diesel::sql_query("ROLLBACK")
        .execute(&mut locker)
        .expect("rollback");
    assert_eq!(held.await.expect("joins"), 200);
    assert_eq!(app.get("/Users?count=1").await.status, 200);
}
