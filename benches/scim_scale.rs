//! Scale benchmark: one tenant with a million users (and a group holding all of them),
//! then bounded sequences of SCIM requests over loopback, each with the query plan
//! PostgreSQL chose for it.
//!
//! Run: `cargo bench --bench scim_scale` (options: `-- --users N --requests R`).

mod common;

use common::{arg, execute, percentile, BenchDatabase, Text};

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::RunQueryDsl;
use rolegate::db::filter::USER_COLUMNS;
use rolegate::db::query::{Position, QueryPlan, Window};
use rolegate::db::{build_pool, tenants as tenant_rows};
use rolegate::provisioning::tokens::TokenHolder;
use rolegate::provisioning::{cursor, tenants, tokens};
use rolegate::scim::filter::{parse_attr_path, parse_filter};
use rolegate::state::{AppState, Settings};
use serde_json::json;
use uuid::Uuid;

struct Case {
    name: String,
    latencies: Vec<Duration>,
    plan: Vec<String>,
}

#[tokio::main]
async fn main() {
    let users = arg("--users", 1_000_000);
    let requests = arg("--requests", 200);
    let database = BenchDatabase::open("scale");
    let url = database.url.clone();
    let mut conn = database.connect();
    let tenant = tenants::create(&mut conn, "scale", "bench").expect("tenant");
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
    let t = tenant.id;
    let group = Uuid::new_v4();

    eprintln!("seeding {users} users and a group of {users} members …");
    let seed = Instant::now();
    // Indexes are rebuilt after the bulk load, exactly as the migrations define them.
    let indexes: Vec<String> = diesel::sql_query(
        "SELECT indexdef AS text FROM pg_indexes WHERE tablename IN ('users', 'group_members') AND indexname NOT LIKE '%pkey'",
    )
    .load::<Text>(&mut conn)
    .expect("indexes")
    .into_iter()
    .map(|t| t.text)
    .collect();
    execute(&mut conn, "DROP INDEX users_user_name_trgm_idx, users_attributes_trgm_idx, users_tenant_display_name_idx, users_tenant_external_id_idx, users_tenant_created_idx, group_members_tenant_user_idx");
    execute(&mut conn, "SET maintenance_work_mem = '1GB'");
    execute(
        &mut conn,
        &format!(
            "INSERT INTO users (tenant_id, id, user_name, display_name, active, attributes, created_at, updated_at) \
             SELECT '{t}', gen_random_uuid(), 'user' || g || '@example.com', 'User ' || g, true, \
               jsonb_build_object('name', jsonb_build_object('givenName', 'Given' || g, 'familyName', 'Family' || (g % 1000)), \
                 'emails', jsonb_build_array(jsonb_build_object('value', 'user' || g || '@example.com', 'type', 'work', 'primary', true), \
                                             jsonb_build_object('value', 'home' || g || '@mail.example', 'type', 'home'))), \
               now() - g * interval '1 second', now() - g * interval '1 second' \
             FROM generate_series(1, {users}) g"
        ),
    );
    execute(&mut conn, &format!("INSERT INTO users (tenant_id, id, user_name) SELECT '{t}', gen_random_uuid(), 'spare' || g FROM generate_series(1, {requests}) g"));
    execute(&mut conn, &format!("INSERT INTO groups (tenant_id, id, display_name) VALUES ('{t}', '{group}', 'everyone')"));
    execute(&mut conn, &format!("INSERT INTO group_members (tenant_id, group_id, user_id) SELECT '{t}', '{group}', id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'user%'"));
    for index in indexes.iter().filter(|i| !i.contains("user_name_key")) {
        execute(
            &mut conn,
            &index.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"),
        );
    }
    execute(&mut conn, "VACUUM ANALYZE");
    eprintln!("seeded in {:.0}s", seed.elapsed().as_secs_f64());

    let pool = build_pool(&url, 8, Duration::from_secs(30)).expect("pool");
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let base = format!("http://{}/scim/v2", listener.local_addr().expect("address"));
    let state = AppState::new(pool, Settings::new(1 << 20, 1000, None));
    tokio::spawn(rolegate::run(listener, state).expect("server"));
    let client = reqwest::Client::new();
    let auth = format!("Bearer {token}");

    // A cursor positioned at user 900,000 in userName order, as the server would issue it.
    let deep: Vec<Text> = diesel::sql_query(format!(
        "SELECT lower(user_name) || ' ' || id::text AS text FROM users WHERE tenant_id = '{t}' ORDER BY lower(user_name) COLLATE \"C\", id OFFSET {} LIMIT 1",
        users * 9 / 10
    ))
    .load(&mut conn)
    .expect("deep row");
    let (deep_key, deep_id) = deep[0].text.split_once(' ').expect("key and id");
    let deep_position = Position {
        key: Some(deep_key.to_string()),
        id: deep_id.parse().expect("uuid"),
    };
    let secret = tenant_rows::cursor_secret(&mut conn, t).expect("secret");
    let fingerprint = cursor::fingerprint("User", None, Some("username false"));
    let deep_cursor = cursor::encode(
        &secret,
        &fingerprint,
        &deep_position,
        true,
        Utc::now().timestamp(),
    );

    let target = users / 2;
    let lists = [
        (
            "filter userName eq",
            format!("userName eq \"user{target}@example.com\""),
            None,
            Window::Offset(0),
            format!(
                "filter={}",
                enc(&format!("userName eq \"user{target}@example.com\""))
            ),
        ),
        (
            "filter userName co",
            format!("userName co \"er{target}@\""),
            None,
            Window::Offset(0),
            format!("filter={}", enc(&format!("userName co \"er{target}@\""))),
        ),
        (
            "filter emails[type eq \"work\" and value co …]",
            format!("emails[type eq \"work\" and value co \"user{target}@\"]"),
            None,
            Window::Offset(0),
            format!(
                "filter={}",
                enc(&format!(
                    "emails[type eq \"work\" and value co \"user{target}@\"]"
                ))
            ),
        ),
        (
            "sorted page at 90% by cursor",
            String::new(),
            Some("userName"),
            Window::After(deep_position.clone()),
            format!("sortBy=userName&count=100&cursor={deep_cursor}"),
        ),
        (
            "sorted page at 90% by index",
            String::new(),
            Some("userName"),
            Window::Offset((users * 9 / 10) as i64),
            format!(
                "sortBy=userName&count=100&startIndex={}",
                users * 9 / 10 + 1
            ),
        ),
    ];

    let mut cases = Vec::new();
    for (name, filter, sort, window, query) in lists {
        let mut latencies = Vec::new();
        let runs = requests.min(50);
        for _ in 0..runs {
            let start = Instant::now();
            let response = client
                .get(format!("{base}/Users?{query}"))
                .header("Authorization", &auth)
                .send()
                .await
                .expect("answer");
            assert_eq!(response.status(), 200, "{name}");
            let body: serde_json::Value = response.json().await.expect("json");
            assert!(
                body["totalResults"].as_i64().unwrap_or(0) >= 1,
                "{name}: {body}"
            );
            latencies.push(start.elapsed());
        }
        let parsed = (!filter.is_empty()).then(|| parse_filter(&filter).expect("filter"));
        let sort_path = sort.map(|s| parse_attr_path(s).expect("path"));
        let plan = QueryPlan::new(
            &USER_COLUMNS,
            t,
            parsed.as_ref(),
            sort_path.as_ref().map(|p| (p, false)),
        )
        .expect("plan");
        let explained = plan.explain(&mut conn, &window, 100).expect("explain");
        cases.push(Case {
            name: name.to_string(),
            latencies,
            plan: explained,
        });
    }

    let spares: Vec<Text> = diesel::sql_query(format!(
        "SELECT id::text AS text FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'spare%'"
    ))
    .load(&mut conn)
    .expect("spares");
    let mut latencies = Vec::new();
    for spare in &spares {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": spare.text}]}]});
        let start = Instant::now();
        let response = client
            .patch(format!("{base}/Groups/{group}"))
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 204);
        latencies.push(start.elapsed());
    }
    cases.push(Case {
        name: format!("PATCH add 1 member to a group of {users}"),
        latencies,
        plan: Vec::new(),
    });

    println!("| case | requests | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for c in &cases {
        println!(
            "| {} | {} | {:.2} | {:.2} |",
            c.name,
            c.latencies.len(),
            percentile(&c.latencies, 0.5),
            percentile(&c.latencies, 0.99)
        );
    }
    for c in &cases {
        if !c.plan.is_empty() {
            println!("\n#### {}\n```\n{}\n```", c.name, c.plan.join("\n"));
        }
    }
    drop(conn);
    drop(database);
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
