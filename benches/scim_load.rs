//! Load benchmark over loopback: the real server in-process, a private PostgreSQL cluster
//! (or `DATABASE_URL`), seeded with SQL, then a bounded number of HTTP requests per case.
//!
//! Run: `cargo bench --bench scim_load` (optionally `-- --requests N`); with `-- --wrk`
//! the ratio cases are driven by `wrk` instead (16 connections, `--seconds S` each).

mod common;
#[path = "common/wrk.rs"]
mod wrk;

use common::{execute, BenchDatabase};

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use futures::stream::{self, StreamExt};
use rolegate::db::build_pool;
use rolegate::provisioning::tokens::TokenHolder;
use rolegate::provisioning::{tenants, tokens};
use rolegate::state::{AppState, Settings};
use serde_json::json;
use uuid::Uuid;

struct Stats {
    name: String,
    requests: usize,
    concurrency: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        let index = ((l.len() as f64 - 1.0) * p).round() as usize;
        l[index].as_secs_f64() * 1000.0
    }

    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            self.name,
            self.requests,
            self.concurrency,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(1.0),
        )
    }
}

async fn measure<F, Fut>(name: &str, requests: usize, concurrency: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let start = Instant::now();
    let latencies: Vec<Duration> = stream::iter(0..requests)
        .map(|i| {
            let fut = make(i);
            async move {
                let t = Instant::now();
                let status = fut.await;
                assert!(status < 300, "{name}: request {i} answered {status}");
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    Stats {
        name: name.to_string(),
        requests,
        concurrency,
        elapsed: start.elapsed(),
        latencies,
    }
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args()
        .skip_while(|a| a != "--requests")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);

    let database = BenchDatabase::open("bench");
    let url = database.url.clone();
    let mut conn = database.connect();
    let pool = build_pool(&url, 16, Duration::from_secs(10)).expect("pool");
    let tenant = tenants::create(&mut conn, "bench", "bench").expect("tenant");
    let token = tokens::create(
        &mut conn,
        tenant.id,
        "bench",
        TokenHolder::Connector,
        None,
        "bench",
    )
    .expect("token")
    .secret;
    let owner = tokens::create(
        &mut conn,
        tenant.id,
        "owner",
        TokenHolder::Owner,
        None,
        "bench",
    )
    .expect("owner token")
    .secret;
    let checker = tokens::create(
        &mut conn,
        tenant.id,
        "checker",
        TokenHolder::Application,
        None,
        "bench",
    )
    .expect("check token")
    .secret;
    let t = tenant.id;

    eprintln!("seeding 100,000 members + {requests} spare users …");
    let seed = Instant::now();
    let (tiny, small, large) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    execute(&mut conn, &format!("INSERT INTO users (tenant_id, id, user_name, active, attributes) SELECT '{t}', gen_random_uuid(), 'member' || g, true, jsonb_build_object('emails', jsonb_build_array(jsonb_build_object('value', 'member' || g || '@example.com', 'type', 'work'))) FROM generate_series(1, 100000) g"));
    execute(&mut conn, &format!("INSERT INTO users (tenant_id, id, user_name, active) SELECT '{t}', gen_random_uuid(), 'spare' || g, true FROM generate_series(1, {}) g", requests * 3));
    execute(&mut conn, &format!("INSERT INTO groups (tenant_id, id, display_name) VALUES ('{t}', '{tiny}', 'tiny'), ('{t}', '{small}', 'small'), ('{t}', '{large}', 'large')"));
    execute(&mut conn, &format!("INSERT INTO group_members (tenant_id, group_id, user_id) SELECT '{t}', '{large}', id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'member%'"));
    execute(&mut conn, &format!("INSERT INTO group_members (tenant_id, group_id, user_id) SELECT '{t}', '{small}', id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'member%' LIMIT 100"));
    execute(&mut conn, &format!("INSERT INTO group_members (tenant_id, group_id, user_id) SELECT '{t}', '{tiny}', id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'member%' LIMIT 10"));
    execute(&mut conn, "ANALYZE");
    eprintln!("seeded in {:.1}s", seed.elapsed().as_secs_f64());

    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let spare: Vec<Uuid> = diesel::sql_query(format!("SELECT id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'spare%' ORDER BY user_name"))
        .load::<Id>(&mut conn)
        .expect("spares")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let members: Vec<Uuid> = diesel::sql_query(format!("SELECT user_id AS id FROM group_members WHERE tenant_id = '{t}' AND group_id = '{large}' LIMIT 1000"))
        .load::<Id>(&mut conn)
        .expect("members")
        .into_iter()
        .map(|r| r.id)
        .collect();

    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let base = format!("http://{}/scim/v2", listener.local_addr().expect("address"));
    let state = AppState::new(pool, Settings::new(1 << 20, 1000, None));
    tokio::spawn(rolegate::run(listener, state).expect("server"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let auth = format!("Bearer {token}");

    // Permission checks: 200 of the members hold an application role directly.
    let admin = base.replace("/scim/v2", "/admin/v1");
    let admin_post = |path: &str, body: serde_json::Value| {
        let req = client
            .post(format!("{admin}{path}"))
            .bearer_auth(&owner)
            .json(&body);
        async move {
            let reply = req.send().await.expect("admin answers");
            assert!(reply.status().is_success(), "{}", reply.status());
            reply.json::<serde_json::Value>().await.expect("json")
        }
    };
    let environments: serde_json::Value = client
        .get(format!("{admin}/environments"))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("environments")
        .json()
        .await
        .expect("json");
    let environment = environments["environments"][0]["id"].clone();
    let crm = admin_post(
        "/applications",
        json!({"environment_id": environment, "name": "CRM"}),
    )
    .await["id"]
        .clone();
    let seller = admin_post(
        "/roles",
        json!({"name": "Seller", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await["id"]
        .clone();
    for user in &members[..200] {
        admin_post(
            "/assignments",
            json!({"principal": {"type": "user", "id": user}, "role_id": seller, "application_id": crm}),
        )
        .await;
    }
    let crm = crm.as_str().unwrap_or_default().to_string();
    let check_url = base.replace("/scim/v2", "/api/v1/check");

    if std::env::args().any(|a| a == "--wrk") {
        let seconds = common::arg("--seconds", 10) as u64;
        let host = base.replace("/scim/v2", "");
        let ids: Vec<String> = members.iter().map(Uuid::to_string).collect();
        let holders = wrk::lua_list(&ids[..400]);
        let ids = wrk::lua_list(&ids);
        let get = format!(
            "ids = {ids}\nlocal i = 0\nwrk.headers[\"Authorization\"] = \"{auth}\"\n\
             request = function() i = i % #ids + 1 return wrk.format(\"GET\", \"/scim/v2/Users/\" .. ids[i]) end\n"
        );
        // Each wrk thread numbers its own users, so every userName is new.
        let post = format!(
            "local made = 0\nfunction setup(thread) made = made + 1 thread:set(\"tid\", made) end\n\
             local n = 0\nwrk.method = \"POST\"\n\
             wrk.headers[\"Authorization\"] = \"{auth}\"\nwrk.headers[\"Content-Type\"] = \"application/scim+json\"\n\
             request = function() n = n + 1 local name = \"wrk\" .. tid .. \"-\" .. n .. \"@example.com\"\n\
             return wrk.format(nil, \"/scim/v2/Users\", nil, '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"' .. name .. '\",\"name\":{{\"givenName\":\"New\",\"familyName\":\"User\"}},\"emails\":[{{\"value\":\"' .. name .. '\",\"type\":\"work\",\"primary\":true}}]}}') end\n"
        );
        let check = format!(
            "ids = {holders}\nlocal i = 0\nwrk.headers[\"Authorization\"] = \"Bearer {checker}\"\n\
             request = function() i = i % #ids + 1 return wrk.format(\"GET\", \"/api/v1/check?user_id=\" .. ids[i] .. \"&privilege=application.content.view&application_id={crm}\") end\n"
        );
        let mut runs = Vec::new();
        for (name, script, connections, threads) in [
            ("GET /Users/{id}", get, 16, 2),
            ("POST /Users", post, 16, 2),
            ("GET /api/v1/check", check.clone(), 16, 2),
            ("GET /api/v1/check, one client", check, 1, 1),
        ] {
            let host = host.clone();
            runs.push(
                tokio::task::spawn_blocking(move || {
                    wrk::run(name, &host, &script, connections, threads, seconds)
                })
                .await
                .expect("wrk run"),
            );
        }
        println!("| case (wrk, {seconds} s) | connections | requests | req/s | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|");
        for r in &runs {
            println!("{}", r.row());
        }
        let limit = |var: &str| std::env::var(var).ok().and_then(|v| v.parse::<f64>().ok());
        if let (Some(select), Some(insert)) = (limit("PG_SELECT_TPS"), limit("PG_INSERT_TPS")) {
            println!("\npgbench -S {select:.0} tps, single-row insert {insert:.0} tps");
            println!(
                "ratios: GET /Users/{{id}} {:.2} of select, POST /Users {:.2} of insert, check {:.2} of select",
                runs[0].rate / select,
                runs[1].rate / insert,
                runs[2].rate / select
            );
        }
        drop(conn);
        drop(database);
        return;
    }

    let mut results = Vec::new();
    results.push(
        measure("GET /Users/{id}", requests, 8, |i| {
            let req = client
                .get(format!("{base}/Users/{}", members[i % members.len()]))
                .header("Authorization", &auth);
            async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .await,
    );
    results.push(
        measure("POST /Users", requests, 8, |i| {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("new{i}@example.com"),
                "name": {"givenName": "New", "familyName": format!("User{i}")}, "emails": [{"value": format!("new{i}@example.com"), "type": "work", "primary": true}]});
            let req = client.post(format!("{base}/Users")).header("Authorization", &auth).header("Content-Type", "application/scim+json").body(body.to_string());
            async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .await,
    );
    for (name, concurrency) in [
        ("GET /api/v1/check", 8),
        ("GET /api/v1/check, one client", 1),
    ] {
        results.push(
            measure(name, requests, concurrency, |i| {
                let req = client
                    .get(format!(
                        "{check_url}?user_id={}&privilege=application.content.view&application_id={crm}",
                        members[i % 400]
                    ))
                    .bearer_auth(&checker);
                async move {
                    let reply = req.send().await;
                    match reply {
                        Ok(r) if r.status().is_success() => r.status().as_u16(),
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 0,
                    }
                }
            })
            .await,
        );
    }
    for (name, group, offset) in [
        ("PATCH add 1 member, group of 10", tiny, 0),
        ("PATCH add 1 member, group of 100", small, requests),
        ("PATCH add 1 member, group of 100,000", large, 2 * requests),
    ] {
        results.push(
            measure(name, requests, 1, |i| {
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": spare[offset + i]}]}]});
                let req = client.patch(format!("{base}/Groups/{group}")).header("Authorization", &auth).header("Content-Type", "application/scim+json").body(body.to_string());
                async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
            })
            .await,
        );
    }

    println!("| case | requests | concurrency | req/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for r in &results {
        println!("{}", r.row());
    }
    let p50 = |name: &str| {
        results
            .iter()
            .find(|r| r.name.ends_with(name))
            .map(|r| r.percentile(0.5))
            .unwrap_or(0.0)
    };
    let rate = |name: &str| {
        results
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.requests as f64 / r.elapsed.as_secs_f64())
            .unwrap_or(0.0)
    };
    // With the machine's own PostgreSQL limits (benches/ratios.sh passes them), the ratios.
    let limit = |var: &str| std::env::var(var).ok().and_then(|v| v.parse::<f64>().ok());
    if let (Some(select), Some(insert)) = (limit("PG_SELECT_TPS"), limit("PG_INSERT_TPS")) {
        println!("\npgbench -S {select:.0} tps, single-row insert {insert:.0} tps");
        println!(
            "ratios: GET /Users/{{id}} {:.2} of select, POST /Users {:.2} of insert, check {:.2} of select",
            rate("GET /Users/{id}") / select,
            rate("POST /Users") / insert,
            rate("GET /api/v1/check") / select
        );
    }
    println!(
        "\nPATCH p50 ratio, 100,000 / 100 members: {:.2}; 100,000 / 10 members: {:.2}",
        p50("group of 100,000") / p50("group of 100"),
        p50("group of 100,000") / p50("group of 10")
    );

    drop(conn);
    drop(database);
}
