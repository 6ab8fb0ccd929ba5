//! Effective roles at scale: one tenant with 1,000,000 users, 100,000 IdP groups (each user
//! in three, plus one group of 100,000), 10,000 end-user groups in Production each mapped
//! from ten IdP groups and holding an application role, effective roles materialised by
//! the full recomputation. Then, over loopback: one user's effective roles (p50/p99), the
//! commit time of adding one member to a mapped IdP group, and of a mapping change granting
//! roles to 100,000 users and of revoking it, and of a SCIM PATCH of another group sent while
//! each of those runs.
//!
//! Run: `cargo bench --bench access_scale` (options: `-- --users N --groups G
//! --end-user-groups E --requests R --big B`).

mod common;

use common::{arg, execute, ids, percentile, BenchDatabase, PlanLine, Text};

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use rolegate::access::effective;
use rolegate::db::build_pool;
use rolegate::provisioning::tokens::TokenHolder;
use rolegate::provisioning::{tenants, tokens};
use rolegate::state::{AppState, Settings};
use serde_json::{json, Value};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One row of the results table.
fn line(name: &str, l: &[Duration]) {
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} |",
        l.len(),
        percentile(l, 0.5),
        percentile(l, 0.99),
        l.iter().map(|d| ms(*d)).fold(0.0, f64::max)
    );
}

/// The results table's head and its rows for the reads (1 and 1b).
fn reads_table(lookups: &[Duration], checks: &[Duration]) {
    println!("| case | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    line(
        "GET one user's effective roles (paths, privileges)",
        lookups,
    );
    line(
        "GET /api/v1/check (one user, one application, one client)",
        checks,
    );
}

/// The SCIM PatchOp that adds one member to a group, as Entra ID sends it.
fn add_member(user: impl serde::Serialize) -> String {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}]})
    .to_string()
}

#[tokio::main]
async fn main() {
    let users = arg("--users", 1_000_000);
    let groups = arg("--groups", 100_000);
    let end_user_groups = arg("--end-user-groups", 10_000);
    let requests = arg("--requests", 200);
    let big = arg("--big", 100_000).min(users);
    // Only the reads (1 and 1b): the fan-out's rounds and dry run take minutes at scale.
    let lookups_only = std::env::args().any(|a| a == "--lookups-only");
    let database = BenchDatabase::open("access");
    let url = database.url.clone();
    let mut conn = database.connect();
    let tenant = tenants::create(&mut conn, "scale", "bench").expect("tenant");
    let t = tenant.id;
    let scim_token = tokens::create(&mut conn, t, "bench", TokenHolder::Connector, None, "bench")
        .expect("token")
        .secret;
    let admin_token = tokens::create(&mut conn, t, "bench", TokenHolder::Owner, None, "bench")
        .expect("token")
        .secret;
    let production = ids(
        &mut conn,
        &format!("SELECT id FROM environments WHERE tenant_id = '{t}'"),
    )[0];
    let operator = ids(
        &mut conn,
        &format!(
            "SELECT id FROM roles WHERE tenant_id = '{t}' AND system_key = 'project_operator'"
        ),
    )[0];
    let builder = ids(
        &mut conn,
        &format!("SELECT id FROM roles WHERE tenant_id = '{t}' AND system_key = 'builder'"),
    )[0];

    eprintln!("seeding {users} users, {groups} IdP groups, {end_user_groups} end-user groups …");
    let seed = Instant::now();
    execute(&mut conn, "SET maintenance_work_mem = '1GB'");
    execute(
        &mut conn,
        &format!(
            "INSERT INTO users (tenant_id, id, user_name) \
             SELECT '{t}', gen_random_uuid(), 'user' || g || '@example.com' FROM generate_series(1, {users}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO users (tenant_id, id, user_name) \
             SELECT '{t}', gen_random_uuid(), 'spare' || g FROM generate_series(1, {requests}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE numbered_users AS \
             SELECT id, row_number() OVER (ORDER BY user_name) AS n FROM users \
             WHERE tenant_id = '{t}' AND user_name LIKE 'user%'"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO groups (tenant_id, id, display_name) \
             SELECT '{t}', gen_random_uuid(), 'idp group ' || g FROM generate_series(1, {groups}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO groups (tenant_id, id, display_name) VALUES ('{t}', gen_random_uuid(), 'big')"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE numbered_groups AS \
             SELECT id, row_number() OVER (ORDER BY display_name) - 1 AS n FROM groups \
             WHERE tenant_id = '{t}' AND display_name LIKE 'idp group %'"
        ),
    );
    execute(&mut conn, "CREATE INDEX ON numbered_groups (n)");
    // Temporary tables are never analysed automatically; without statistics the joins
    // below can be planned as nested loops over the whole of both tables.
    execute(&mut conn, "ANALYZE numbered_users");
    execute(&mut conn, "ANALYZE numbered_groups");
    // Each user is in three groups spread over all of them.
    execute(
        &mut conn,
        &format!(
            "INSERT INTO group_members (tenant_id, group_id, user_id) \
             SELECT DISTINCT '{t}'::uuid, g.id, u.id FROM numbered_users u \
             CROSS JOIN LATERAL (VALUES (u.n % {groups}), ((u.n * 7 + 1) % {groups}), ((u.n * 13 + 5) % {groups})) AS k (n) \
             JOIN numbered_groups g ON g.n = k.n"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "INSERT INTO group_members (tenant_id, group_id, user_id) \
             SELECT '{t}', (SELECT id FROM groups WHERE tenant_id = '{t}' AND display_name = 'big'), id \
             FROM numbered_users WHERE n <= {big}"
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
             SELECT '{t}', gen_random_uuid(), '{production}', 'eug ' || g FROM generate_series(1, {end_user_groups}) g"
        ),
    );
    execute(
        &mut conn,
        &format!(
            "CREATE TEMP TABLE numbered_eugs AS \
             SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM end_user_groups WHERE tenant_id = '{t}'"
        ),
    );
    execute(&mut conn, "ANALYZE numbered_eugs");
    // Every end-user group holds one role on one of the applications …
    execute(
        &mut conn,
        &format!(
            "INSERT INTO assignments (tenant_id, id, role_id, environment_id, application_id, end_user_group_id) \
             SELECT '{t}', gen_random_uuid(), CASE WHEN e.n % 2 = 0 THEN '{operator}'::uuid ELSE '{builder}'::uuid END, \
                    '{production}', a.id, e.id \
             FROM numbered_eugs e \
             JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM applications WHERE tenant_id = '{t}') a \
               ON a.n = e.n % 100"
        ),
    );
    // … and is fed by ten IdP groups.
    execute(
        &mut conn,
        &format!(
            "INSERT INTO group_mappings (tenant_id, idp_group_id, end_user_group_id) \
             SELECT '{t}', g.id, e.id FROM numbered_groups g JOIN numbered_eugs e ON e.n = g.n % {end_user_groups}"
        ),
    );
    // The end-user group the big group will be mapped into, with a role of its own.
    let target = ids(
        &mut conn,
        &format!(
            "INSERT INTO end_user_groups (tenant_id, id, environment_id, name) \
             VALUES ('{t}', gen_random_uuid(), '{production}', 'big target') RETURNING id"
        ),
    )[0];
    execute(
        &mut conn,
        &format!(
            "INSERT INTO assignments (tenant_id, id, role_id, environment_id, application_id, end_user_group_id) \
             SELECT '{t}', gen_random_uuid(), '{operator}', '{production}', \
                    (SELECT id FROM applications WHERE tenant_id = '{t}' AND name = 'app 1'), '{target}'"
        ),
    );
    execute(&mut conn, "VACUUM ANALYZE");
    eprintln!(
        "seeded in {:.0}s; materialising effective roles …",
        seed.elapsed().as_secs_f64()
    );
    let recompute = Instant::now();
    let diff = effective::recompute(&mut conn, t).expect("recompute");
    let recompute = recompute.elapsed();
    execute(&mut conn, "VACUUM ANALYZE effective_roles");
    eprintln!(
        "{} path rows in {:.0}s",
        diff.rows_added,
        recompute.as_secs_f64()
    );

    let pool = build_pool(&url, 8, Duration::from_secs(60)).expect("pool");
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(pool, Settings::new(1 << 20, 1000, None));
    tokio::spawn(rolegate::run(listener, state).expect("server"));
    let client = reqwest::Client::new();
    let admin = format!("Bearer {admin_token}");
    let scim = format!("Bearer {scim_token}");

    // 1. One user's effective roles, with paths and privileges.
    let sample = ids(
        &mut conn,
        &format!("SELECT id FROM numbered_users ORDER BY hashtext(id::text) LIMIT {requests}"),
    );
    let mut lookups = Vec::new();
    for user in &sample {
        let started = Instant::now();
        let reply = client
            .get(format!("{address}/admin/v1/users/{user}/effective-roles"))
            .header("Authorization", &admin)
            .send()
            .await
            .expect("answered");
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.expect("json");
        lookups.push(started.elapsed());
        assert!(!body["environments"][0]["applications"]
            .as_array()
            .expect("applications")
            .is_empty());
    }
    let plan: Vec<String> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) SELECT er.* FROM effective_paths er \
         WHERE er.tenant_id = '{t}' AND er.user_id = '{}'",
        sample[0]
    ))
    .load::<PlanLine>(&mut conn)
    .expect("plan")
    .into_iter()
    .map(|l| l.line)
    .collect();

    // 1b. The permission check an application asks for each of those users, on an
    // application where they hold a role (one client, sequential), and its plan.
    let check_token = tokens::create(
        &mut conn,
        t,
        "check",
        TokenHolder::Application,
        None,
        "bench",
    )
    .expect("token")
    .secret;
    let mut checks = Vec::new();
    let mut asked = None;
    for user in &sample {
        let app = ids(
            &mut conn,
            &format!(
                "SELECT application_id AS id FROM effective_paths WHERE tenant_id = '{t}' \
                 AND user_id = '{user}' AND application_id IS NOT NULL LIMIT 1"
            ),
        )[0];
        asked.get_or_insert((*user, app));
        let started = Instant::now();
        let reply = client
            .get(format!(
                "{address}/api/v1/check?user_id={user}&privilege=application.content.view&application_id={app}"
            ))
            .header("Authorization", format!("Bearer {check_token}"))
            .send()
            .await
            .expect("answered");
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.expect("json");
        checks.push(started.elapsed());
        assert_eq!(body["allowed"], true, "{body}");
    }
    // The statements of `check_privilege` (migration `check_one_by_id`), with this check's
    // values in place of its parameters.
    let (check_user, check_app) = asked.expect("a check");
    let check_plan: Vec<String> = [
        format!(
            "SELECT a.environment_id FROM applications a WHERE a.tenant_id = '{t}' AND a.id = '{check_app}'"
        ),
        format!(
            "SELECT NOT EXISTS (SELECT 1 FROM effective_roles er \
               JOIN roles r ON r.tenant_id = er.tenant_id AND r.id = er.role_id \
               WHERE er.tenant_id = '{t}' AND er.user_id = '{check_user}' \
                 AND er.environment_id = '{production}' AND er.application_id IS NULL \
                 AND r.system_key = 'environment_no_access') \
             AND EXISTS (SELECT 1 FROM effective_paths er \
               JOIN role_privileges rp ON rp.tenant_id = er.tenant_id AND rp.role_id = er.role_id \
               WHERE er.tenant_id = '{t}' AND er.user_id = '{check_user}' \
                 AND er.environment_id = '{production}' \
                 AND (er.application_id IS NULL OR er.application_id = '{check_app}') \
                 AND rp.privilege_key = 'application.content.view')"
        ),
    ]
    .iter()
    .flat_map(|sql| {
        diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}"))
            .load::<PlanLine>(&mut conn)
            .expect("plan")
            .into_iter()
            .map(|l| l.line)
            .chain(std::iter::once(String::new()))
    })
    .collect();

    if lookups_only {
        reads_table(&lookups, &checks);
        println!(
            "\n#### One user's effective-role rows\n```\n{}\n```",
            plan.join("\n")
        );
        return;
    }

    // 2. Adding one member to a mapped IdP group of ~30 members.
    let spares = ids(
        &mut conn,
        &format!("SELECT id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'spare%'"),
    );
    let targets = ids(
        &mut conn,
        &format!("SELECT id FROM numbered_groups ORDER BY hashtext(id::text) LIMIT {requests}"),
    );
    let mut adds = Vec::new();
    for (user, group) in spares.iter().zip(&targets) {
        let started = Instant::now();
        let reply = client
            .patch(format!("{address}/scim/v2/Groups/{group}"))
            .header("Authorization", &scim)
            .header("Content-Type", "application/scim+json")
            .body(add_member(user))
            .send()
            .await
            .expect("answered");
        adds.push(started.elapsed());
        assert_eq!(reply.status(), 204);
    }
    let gained: Vec<Text> = diesel::sql_query(format!(
        "SELECT count(*)::text AS text FROM effective_paths WHERE tenant_id = '{t}' AND user_id IN \
         (SELECT id FROM users WHERE tenant_id = '{t}' AND user_name LIKE 'spare%')"
    ))
    .load(&mut conn)
    .expect("count");

    // 3. Mapping the big group grants a role to all its members; unmapping revokes it.
    let big_group = ids(
        &mut conn,
        &format!("SELECT id FROM groups WHERE tenant_id = '{t}' AND display_name = 'big'"),
    )[0];
    let mut grants = Vec::new();
    let mut revokes = Vec::new();
    // (d) Meanwhile a SCIM PATCH adds a spare user to another mapped group: it waits for the
    // tenant's lock, so it measures how long the fan-out holds the tenant's other writers.
    let mut meanwhile = Vec::new();
    let concurrent_patch = |round: usize| {
        let user = spares[round % spares.len()];
        let group = targets[(round + 1) % targets.len()];
        let client = client.clone();
        let url = format!("{address}/scim/v2/Groups/{group}");
        let scim = scim.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let started = Instant::now();
            let reply = client
                .patch(url)
                .header("Authorization", &scim)
                .header("Content-Type", "application/scim+json")
                .body(add_member(user))
                .send()
                .await
                .expect("answered");
            assert!(reply.status().is_success());
            started.elapsed()
        }
    };
    for round in 0..3 {
        let started = Instant::now();
        let grant = client
            .post(format!("{address}/admin/v1/group-mappings"))
            .header("Authorization", &admin)
            .json(&json!({"idp_group_id": big_group, "end_user_group_id": target}))
            .send();
        let (reply, patched) = tokio::join!(grant, concurrent_patch(2 * round));
        let reply = reply.expect("answered");
        grants.push(started.elapsed());
        meanwhile.push(patched);
        assert_eq!(reply.status(), 201);
        let started = Instant::now();
        let revoke = client
            .delete(format!(
                "{address}/admin/v1/group-mappings/{big_group}/{target}"
            ))
            .header("Authorization", &admin)
            .send();
        let (reply, patched) = tokio::join!(revoke, concurrent_patch(2 * round + 1));
        let reply = reply.expect("answered");
        revokes.push(started.elapsed());
        meanwhile.push(patched);
        assert_eq!(reply.status(), 204);
    }
    let preview_started = Instant::now();
    let preview: Value = client
        .post(format!("{address}/admin/v1/group-mappings?dry_run=true"))
        .header("Authorization", &admin)
        .json(&json!({"idp_group_id": big_group, "end_user_group_id": target}))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    let preview_time = preview_started.elapsed();
    // The change events the three grants and revokes wrote: one per user and round each.
    let access_events: Vec<Text> = diesel::sql_query(format!(
        "SELECT coalesce(sum(coalesce(cardinality(subject_user_ids), 1)), 0)::text AS text \
         FROM events WHERE tenant_id = '{t}' AND event_type = 'access.changed'"
    ))
    .load(&mut conn)
    .expect("count");
    let rows: Vec<Text> = diesel::sql_query(format!(
        "SELECT count(*)::text AS text FROM effective_paths WHERE tenant_id = '{t}'"
    ))
    .load(&mut conn)
    .expect("count");

    println!(
        "Seeded in {:.0} s; full recomputation of {} users: {:.1} s, {} path rows.\n",
        seed.elapsed().as_secs_f64() - recompute.as_secs_f64(),
        users,
        recompute.as_secs_f64(),
        rows[0].text
    );
    println!(
        "access.changed events written by (a) to (d): {}\n",
        access_events[0].text
    );
    reads_table(&lookups, &checks);
    line("(a) SCIM PATCH add 1 member to a mapped IdP group", &adds);
    line(
        &format!("(b) POST group mapping granting a role to {big} users"),
        &grants,
    );
    line(
        &format!("(c) DELETE that mapping, revoking from {big} users"),
        &revokes,
    );
    line(
        "(d) SCIM PATCH of another mapped group sent 20 ms into (b) or (c)",
        &meanwhile,
    );
    println!(
        "\nDry run of (b): {:.0} ms, users_gaining = {}. Paths gained by the {} users added in (a): {}.",
        ms(preview_time),
        preview["users_gaining"],
        spares.len(),
        gained[0].text
    );
    println!(
        "\n#### One user's effective-role rows\n```\n{}\n```",
        plan.join("\n")
    );
    println!(
        "\n#### The permission check's statements\n```\n{}\n```",
        check_plan.join("\n").trim_end()
    );
    drop(conn);
    drop(database);
}
