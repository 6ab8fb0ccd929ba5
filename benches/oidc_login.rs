//! OIDC logins at scale: one tenant with 1,000,000 SCIM-provisioned users (each with a work
//! e-mail), 1,000 claim groups of the login provider, each mapped into an end-user group
//! holding an application role. Over loopback, against a provider running in the same
//! process (discovery cached; its token endpoint answers in well under a millisecond), the
//! time of a whole login — `GET /login` (attempt stored) and the callback (attempt consumed,
//! code exchanged, ID token verified, user linked or created, claim groups synced,
//! effective roles refreshed, session token signed) — for: a first login creating the user,
//! a returning login with unchanged groups, one whose groups changed, a first login linking
//! to a SCIM user by verified e-mail, and `GET /api/v1/me`; then logins from 8 concurrent
//! clients.
//!
//! Run: `cargo bench --bench oidc_login` (options: `-- --users N --groups G --requests R`).

mod common;

use common::{arg, execute, ids, percentile, BenchDatabase, PlanLine};

#[path = "../tests/api/fake_provider.rs"]
#[allow(dead_code)]
mod fake_provider;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use fake_provider::{FakeProvider, Forgery};
use rolegate::db::build_pool;
use rolegate::provisioning::tokens::TokenHolder;
use rolegate::provisioning::{tenants, tokens};
use rolegate::state::{AppState, Settings};
use serde_json::{json, Value};

fn row(name: &str, latencies: &[Duration]) {
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} |",
        latencies.len(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        percentile(latencies, 1.0)
    );
}

struct Bench {
    client: reqwest::Client,
    idp: FakeProvider,
    login_url: String,
}

impl Bench {
    /// One whole login; returns the callback's JSON.
    async fn login(&self, claims: &Value) -> Value {
        let reply = self
            .client
            .get(&self.login_url)
            .send()
            .await
            .expect("login");
        assert_eq!(reply.status(), 302);
        let location = reqwest::Url::parse(reply.headers()["location"].to_str().unwrap()).unwrap();
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        let mut claims = claims.clone();
        claims["nonce"] = json!(param("nonce"));
        let code = self
            .idp
            .issue_code(claims, &param("code_challenge"), Forgery::None);
        let callback = self.login_url.replace("/login", "/callback");
        let reply = self
            .client
            .get(callback)
            .query(&[("code", code), ("state", param("state"))])
            .send()
            .await
            .expect("callback");
        let status = reply.status();
        let body: Value = reply.json().await.expect("json");
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn claims(subject: &str, email: &str, verified: bool, groups: &[String]) -> Value {
    json!({"sub": subject, "email": email, "email_verified": verified, "name": subject, "groups": groups})
}

#[tokio::main]
async fn main() {
    let users = arg("--users", 1_000_000);
    let groups = arg("--groups", 1_000);
    let requests = arg("--requests", 200);
    let database = BenchDatabase::open("oidc");
    let url = database.url.clone();
    let mut conn = database.connect();
    let tenant = tenants::create(&mut conn, "scale", "bench").expect("tenant");
    let t = tenant.id;
    let admin_token = tokens::create(&mut conn, t, "bench", TokenHolder::Owner, None, "bench")
        .expect("token")
        .secret;

    let pool = build_pool(&url, 8, Duration::from_secs(60)).expect("pool");
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let mut settings = Settings::new(1 << 20, 1000, None);
    // The bench's provider listens on loopback.
    settings.outbound = rolegate::outbound::Policy::parse("127.0.0.0/8").expect("policy");
    let state = AppState::new(pool, settings);
    tokio::spawn(rolegate::run(listener, state).expect("server"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let idp = FakeProvider::start().await;
    let reply: Value = client
        .post(format!("{address}/admin/v1/oidc-providers"))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "corp", "issuer": idp.issuer, "client_id": idp.client_id, "client_secret": "s"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let provider = reply["id"].as_str().expect("provider").to_string();

    eprintln!("seeding {users} users and {groups} mapped claim groups …");
    let seed = Instant::now();
    execute(&mut conn, "SET maintenance_work_mem = '1GB'");
    execute(
        &mut conn,
        &format!(
            "INSERT INTO users (tenant_id, id, user_name, attributes) \
             SELECT '{t}', gen_random_uuid(), 'user' || g, \
                    jsonb_build_object('emails', jsonb_build_array(jsonb_build_object( \
                        'value', 'user' || g || '@example.com', 'type', 'work', 'primary', true))) \
             FROM generate_series(1, {users}) g"
        ),
    );
    let production = ids(
        &mut conn,
        &format!("SELECT id FROM environments WHERE tenant_id = '{t}'"),
    )[0];
    let builder = ids(
        &mut conn,
        &format!("SELECT id FROM roles WHERE tenant_id = '{t}' AND system_key = 'builder'"),
    )[0];
    execute(
        &mut conn,
        &format!(
            "INSERT INTO groups (tenant_id, id, display_name, external_id, oidc_provider_id) \
             SELECT '{t}', gen_random_uuid(), 'claim' || g, 'claim' || g, '{provider}' FROM generate_series(1, {groups}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO applications (tenant_id, id, environment_id, name) \
             SELECT '{t}', gen_random_uuid(), '{production}', 'app ' || g FROM generate_series(1, 100) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO end_user_groups (tenant_id, id, environment_id, name) \
             SELECT '{t}', gen_random_uuid(), '{production}', 'eug ' || g FROM generate_series(1, {groups}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO assignments (tenant_id, id, role_id, environment_id, application_id, end_user_group_id) \
             SELECT '{t}', gen_random_uuid(), '{builder}', '{production}', a.id, e.id \
             FROM (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM end_user_groups WHERE tenant_id = '{t}') e \
             JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM applications WHERE tenant_id = '{t}') a \
               ON a.n = e.n % 100"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO group_mappings (tenant_id, idp_group_id, end_user_group_id) \
             SELECT '{t}', g.id, e.id \
             FROM (SELECT id, row_number() OVER (ORDER BY display_name) AS n FROM groups WHERE tenant_id = '{t}') g \
             JOIN (SELECT id, row_number() OVER (ORDER BY name) AS n FROM end_user_groups WHERE tenant_id = '{t}') e \
               ON e.n = g.n"
        ),
    );
    execute(&mut conn, "VACUUM ANALYZE");
    // Start measuring with the seeding's writes on disk, not with a checkpoint under way.
    execute(&mut conn, "CHECKPOINT");
    eprintln!("seeded in {:.0}s", seed.elapsed().as_secs_f64());

    let bench = Bench {
        client: client.clone(),
        idp: idp.clone(),
        login_url: format!("{address}/oidc/{t}/corp/login"),
    };
    let group_set = |i: usize| -> Vec<String> {
        (0..3)
            .map(|k| format!("claim{}", (i * 7 + k * 331) % groups + 1))
            .collect()
    };
    println!("| case | logins | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");

    // (a) First logins: users created just in time, with three mapped groups each.
    let mut first = Vec::new();
    let mut tokens_ = Vec::new();
    for i in 0..requests {
        let started = Instant::now();
        let body = bench
            .login(&claims(
                &format!("new{i}"),
                &format!("new{i}@corp.example"),
                true,
                &group_set(i),
            ))
            .await;
        first.push(started.elapsed());
        assert_eq!(body["linked_by"], "created");
        assert!(!body["session"]["applications"]
            .as_array()
            .unwrap()
            .is_empty());
        tokens_.push(body["session_token"].as_str().unwrap().to_string());
    }
    row("(a) first login, user created, 3 mapped groups", &first);

    // (b) The same users again, nothing changed.
    let mut again = Vec::new();
    for i in 0..requests {
        let started = Instant::now();
        let body = bench
            .login(&claims(
                &format!("new{i}"),
                &format!("new{i}@corp.example"),
                true,
                &group_set(i),
            ))
            .await;
        again.push(started.elapsed());
        assert_eq!(body["linked_by"], "subject");
    }
    row("(b) returning login, groups unchanged", &again);

    // (c) Again, one group swapped for another: one role path lost, one gained.
    let mut changed = Vec::new();
    for i in 0..requests {
        let mut set = group_set(i);
        set[0] = format!("claim{}", (i * 7 + 500) % groups + 1);
        let started = Instant::now();
        bench
            .login(&claims(
                &format!("new{i}"),
                &format!("new{i}@corp.example"),
                true,
                &set,
            ))
            .await;
        changed.push(started.elapsed());
    }
    row("(c) returning login, one group swapped", &changed);

    // (d) First logins of SCIM-provisioned users, found by verified e-mail among all users.
    let mut linked = Vec::new();
    for i in 0..requests {
        let n = (i * 4_999) % users + 1;
        let started = Instant::now();
        let body = bench
            .login(&claims(
                &format!("scim{n}"),
                &format!("user{n}@example.com"),
                true,
                &group_set(i),
            ))
            .await;
        linked.push(started.elapsed());
        assert_eq!(body["linked_by"], "verified_email", "{body}");
    }
    row(
        "(d) first login, linked to a SCIM user by verified e-mail",
        &linked,
    );
    let plan: Vec<String> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) SELECT * FROM users u WHERE u.tenant_id = '{t}' AND ( \
            (lower(u.user_name) COLLATE \"C\") = (lower('user777@example.com') COLLATE \"C\") \
            OR user_emails(u.attributes) @> ARRAY[lower('user777@example.com')]) LIMIT 2"
    ))
    .load::<PlanLine>(&mut conn)
    .expect("plan")
    .into_iter()
    .map(|l| l.line)
    .collect();

    // (e) The live session.
    let mut me = Vec::new();
    for token in &tokens_ {
        let started = Instant::now();
        let reply = client
            .get(format!("{address}/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let _: Value = reply.json().await.unwrap();
        me.push(started.elapsed());
    }
    row("(e) GET /api/v1/me", &me);

    // (f) Eight clients logging in at once (returning users).
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..8 {
        let client = client.clone();
        let idp = idp.clone();
        let login_url = bench.login_url.clone();
        let sets: Vec<(usize, Vec<String>)> = (0..requests)
            .filter(|i| i % 8 == c)
            .map(|i| (i, group_set(i)))
            .collect();
        tasks.push(tokio::spawn(async move {
            let bench = Bench {
                client,
                idp,
                login_url,
            };
            let mut latencies = Vec::new();
            for (i, set) in sets {
                let begun = Instant::now();
                bench
                    .login(&claims(
                        &format!("new{i}"),
                        &format!("new{i}@corp.example"),
                        true,
                        &set,
                    ))
                    .await;
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut concurrent = Vec::new();
    for task in tasks {
        concurrent.extend(task.await.unwrap());
    }
    let wall = started.elapsed();
    row("(f) 8 concurrent clients, returning logins", &concurrent);
    println!(
        "\n(f) throughput: {:.0} logins/s ({} logins in {:.2} s)",
        concurrent.len() as f64 / wall.as_secs_f64(),
        concurrent.len(),
        wall.as_secs_f64()
    );
    println!(
        "\nE-mail lookup among {users} users:\n```\n{}\n```",
        plan.join("\n")
    );
    drop(conn);
    drop(database);
}
