//! The change-event feed: what each change writes, in commit order, nothing for a change that
//! did not commit, paging and filters, long polls, and who may read it.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{application, assign, create, Model};
use crate::helpers::{patch_ops, spawn_app, spawn_app_with, Options, TestApp, USER_SCHEMA};

/// Waits until no committed event of the tenant is held back. The feed shows an event only
/// once every older transaction has ended — in the whole cluster, and the other tests'
/// databases share this one — so a read right after a commit may not show it yet.
async fn settle(app: &TestApp) {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(&app.database_url).expect("connects");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let held = diesel::sql_query(
            "SELECT count(*) AS n FROM events WHERE tenant_id = $1 \
             AND txid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        )
        .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
        .get_result::<Held>(&mut conn)
        .expect("count")
        .n;
        if held == 0 || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn feed(app: &TestApp, query: &str) -> Value {
    settle(app).await;
    let reply = app
        .admin(Method::GET, &format!("/events?{query}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Every event of the tenant so far, as (type, subject id, data).
async fn all_events(app: &TestApp) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(c) => format!("limit=1000&after={c}"),
            None => "limit=1000".to_string(),
        };
        let page = feed(app, &query).await;
        let events = page["events"].as_array().expect("events").clone();
        if events.is_empty() {
            return out;
        }
        for e in events {
            let subject = e["subject"]["user_id"]
                .as_str()
                .or(e["subject"]["group_id"].as_str())
                .unwrap_or_default()
                .to_string();
            out.push((
                e["type"].as_str().expect("type").to_string(),
                subject,
                e["data"].clone(),
            ));
        }
        after = page["next_cursor"].as_str().map(str::to_string);
    }
}

fn types(events: &[(String, String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _, _)| t.as_str()).collect()
}

#[tokio::test]
async fn scim_changes_are_events_in_commit_order() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let group = app.create_group("sales", &[&alice]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([
                {"op": "add", "path": "members", "value": [{"value": bob}, {"value": alice}]},
                {"op": "remove", "path": format!("members[value eq \"{alice}\"]")}
            ])),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let reply = app
        .patch(
            &format!("/Users/{bob}"),
            &patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = app
        .patch(
            &format!("/Users/{alice}"),
            &patch_ops(json!([{"op": "replace", "path": "displayName", "value": "Alice A."}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(app.delete(&format!("/Users/{alice}")).await.status, 204);
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status, 204);

    let events = all_events(&app).await;
    assert_eq!(
        types(&events),
        [
            "user.created",
            "user.created",
            "group.created",
            "membership.changed",
            "membership.changed",
            "user.deactivated",
            "session.revoked",
            "user.updated",
            "user.deleted",
            "session.revoked",
            "group.deleted",
        ],
        "{events:#?}"
    );
    assert_eq!(events[0].1, alice);
    assert_eq!(events[2].2, json!({"kind": "idp", "name": "sales"}));
    assert_eq!(events[3].1, group);
    assert_eq!(
        events[3].2,
        json!({"kind": "idp", "added": [alice], "removed": []})
    );
    // Only who actually came and went: alice was a member already, then left.
    assert_eq!(
        events[4].2,
        json!({"kind": "idp", "added": [bob], "removed": [alice]})
    );
    assert_eq!(events[5].1, bob);
    assert_eq!(events[6].2, json!({"reason": "deactivated"}));
    assert_eq!(events[9].2, json!({"reason": "deleted"}));
}

#[tokio::test]
async fn the_shape_of_an_event() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let page = feed(&app, "").await;
    let event = &page["events"][0];
    assert_eq!(event["type"], "user.created");
    assert_eq!(event["subject"], json!({"user_id": alice}));
    assert_eq!(event["actor"], format!("token:{}", app.token_id));
    assert!(event["id"]
        .as_str()
        .is_some_and(|id| id.parse::<i64>().is_ok()));
    assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().expect("time")).is_ok());
    assert_eq!(event["data"], json!({}));
    assert!(page["next_cursor"].is_string());
}

/// Alice is in an IdP group mapped into Sales, which holds Seller on CRM.
/// Production, CRM, Alice, the IdP group `sales-team` (empty) mapped into the end-user group
/// Sales, and Seller, which Sales holds on CRM.
struct MappedWorld {
    production: String,
    crm: String,
    alice: String,
    group: String,
    sales: String,
    seller: String,
}

async fn mapped_world(app: &TestApp) -> MappedWorld {
    let model = Model::load(app).await;
    let crm = application(app, &model.production, "CRM").await;
    let alice = app.create_user("alice").await;
    let group = app.create_group("sales-team", &[]).await;
    let sales = create(
        app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales"}),
    )
    .await;
    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": group, "end_user_group_id": sales})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let seller = create(
        app,
        "/roles",
        json!({"name": "Seller", "scope": "application",
               "privileges": ["application.content.view", "application.content.build"]}),
    )
    .await;
    assign(
        app,
        json!({"type": "end_user_group", "id": sales}),
        &seller,
        json!({"application_id": crm}),
    )
    .await;
    MappedWorld {
        production: model.production,
        crm,
        alice,
        group,
        sales,
        seller,
    }
}

#[tokio::test]
async fn access_changes_name_the_roles_gained_and_lost() {
    let app = spawn_app().await;
    let MappedWorld {
        production,
        crm,
        alice,
        group,
        seller,
        ..
    } = mapped_world(&app).await;
    let start = feed(&app, "limit=1000").await["next_cursor"].clone();
    let start = start.as_str().expect("a cursor");
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": alice}]}])),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let page = feed(&app, &format!("after={start}")).await;
    assert_eq!(
        kinds(&page),
        ["membership.changed", "access.changed"],
        "{page}"
    );
    let only = feed(&app, &format!("after={start}&types=access.changed")).await;
    assert_eq!(kinds(&only), ["access.changed"], "{only}");
    let event = &page["events"][1];
    assert_eq!(event["subject"], json!({"user_id": alice}));
    assert_eq!(
        event["data"],
        json!({"environment_id": production, "lost": [], "gained": [{
            "application_id": crm, "role_id": seller, "role": "Seller",
            "privileges": ["application.content.build", "application.content.view"]}]})
    );

    let cursor = page["next_cursor"].as_str().expect("cursor").to_string();
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([{"op": "remove", "path": "members"}])),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let page = feed(&app, &format!("after={cursor}")).await;
    assert_eq!(
        kinds(&page),
        ["membership.changed", "access.changed", "session.revoked"],
        "{page}"
    );
    assert_eq!(page["events"][1]["data"]["gained"], json!([]));
    assert_eq!(page["events"][1]["data"]["lost"][0]["role"], "Seller");
    assert_eq!(
        page["events"][2]["data"],
        json!({"reason": "no access left"})
    );
}

fn kinds(page: &Value) -> Vec<&str> {
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect()
}

#[tokio::test]
async fn a_dry_run_or_a_refused_change_writes_no_event() {
    let app = spawn_app().await;
    let MappedWorld {
        crm, alice, seller, ..
    } = mapped_world(&app).await;
    let before = all_events(&app).await.len();
    let reply = app
        .admin(
            Method::POST,
            "/assignments?dry_run=true",
            Some(
                &json!({"principal": {"type": "user", "id": alice}, "role_id": seller,
                         "application_id": crm}),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["users_gaining"], 1, "{}", reply.body);
    // Refused changes: a name already taken, a stale version.
    let reply = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "ALICE"}),
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let response = app
        .client
        .delete(format!("{}/Users/{alice}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", "W/\"999\"")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 412);
    assert_eq!(all_events(&app).await.len(), before);
}

#[tokio::test]
async fn the_feed_pages_by_cursor_and_filters_by_type() {
    let app = spawn_app().await;
    for name in ["a", "b", "c", "d", "e"] {
        app.create_user(name).await;
    }
    app.create_group("g", &[]).await;
    let first = feed(&app, "limit=2").await;
    assert_eq!(first["events"].as_array().expect("events").len(), 2);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let rest = feed(&app, &format!("after={cursor}&limit=1000")).await;
    assert_eq!(rest["events"].as_array().expect("events").len(), 4);
    let ids: Vec<&Value> = first["events"]
        .as_array()
        .into_iter()
        .chain(rest["events"].as_array())
        .flatten()
        .map(|e| &e["id"])
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6);
    // Past the end: nothing, and the same cursor to come back with.
    let end = rest["next_cursor"].as_str().expect("cursor");
    let empty = feed(&app, &format!("after={end}")).await;
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["next_cursor"], end);

    let groups = feed(&app, "types=group.created,group.deleted").await;
    assert_eq!(groups["events"].as_array().expect("events").len(), 1);
    assert_eq!(groups["events"][0]["type"], "group.created");

    for bad in [
        "after=12",
        "after=a.b",
        "types=user.exploded",
        "limit=0",
        "limit=1001",
        "wait=31",
        "colour=blue",
    ] {
        let reply = app
            .admin(Method::GET, &format!("/events?{bad}"), None)
            .await;
        reply.assert_problem(400);
    }
}

#[tokio::test]
async fn reading_the_feed_needs_the_audit_privilege_and_sees_one_tenant() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let token = app.admin_token_for(&alice);
    let reply = app
        .admin_as(Some(&token), Method::GET, "/events", None)
        .await;
    reply.assert_problem(403);
    let reply = app
        .admin_as(
            Some(&app.other_tenant_admin_token()),
            Method::GET,
            "/events",
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["events"], json!([]));
    let reply = app.admin_as(None, Method::GET, "/events", None).await;
    reply.assert_problem(401);
}

#[tokio::test]
async fn a_waiting_read_answers_within_100_ms_of_the_commit() {
    let app = spawn_app_with(Options {
        events_listener: true,
        ..Options::default()
    })
    .await;
    app.create_user("first").await;
    let mut cursor = feed(&app, "").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let mut worst = Duration::ZERO;
    for round in 0..3 {
        let waiting = {
            let (client, address, token, cursor) = (
                app.client.clone(),
                app.address.clone(),
                app.admin_token.clone(),
                cursor.clone(),
            );
            tokio::spawn(async move {
                let reply = client
                    .get(format!(
                        "{address}/admin/v1/events?after={cursor}&wait=10&types=user.created"
                    ))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("answered");
                let answered = Instant::now();
                (reply.json::<Value>().await.expect("json"), answered)
            })
        };
        // The read is waiting (it found nothing) before the commit it waits for.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if waiting.is_finished() {
            panic!(
                "the read did not wait: {:?}",
                waiting.await.expect("joined").0
            );
        }
        app.create_user(&format!("user{round}")).await;
        let committed = Instant::now();
        let (page, answered) = waiting.await.expect("the waiting read");
        assert_eq!(page["events"][0]["type"], "user.created", "{page}");
        worst = worst.max(answered.saturating_duration_since(committed));
        cursor = page["next_cursor"].as_str().expect("cursor").to_string();
    }
    assert!(
        worst < Duration::from_millis(100),
        "answered {worst:?} after the commit"
    );
}

#[tokio::test]
async fn a_wait_ends_when_nothing_comes_or_the_token_is_revoked() {
    let app = spawn_app().await;
    let started = Instant::now();
    let page = feed(&app, "wait=1").await;
    assert_eq!(page["events"], json!([]));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(3));

    // A token revoked while its read waits is refused at the next look.
    let (reader, reader_id) = {
        let mut conn = app.pool.get().expect("connection");
        let issued = rolegate::provisioning::tokens::create(
            &mut conn,
            app.tenant_id,
            "reader",
            rolegate::provisioning::tokens::TokenHolder::Owner,
            None,
            "test",
        )
        .expect("token");
        (issued.secret, issued.token.id)
    };
    let waiting = {
        let (client, address) = (app.client.clone(), app.address.clone());
        tokio::spawn(async move {
            client
                .get(format!(
                    "{address}/admin/v1/events?after=0.0&wait=20&types=group.deleted"
                ))
                .bearer_auth(reader)
                .send()
                .await
                .expect("answered")
                .status()
                .as_u16()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoked = Instant::now();
    let reply = app
        .admin(Method::DELETE, &format!("/admin-tokens/{reader_id}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(waiting.await.expect("the waiting read"), 401);
    assert!(revoked.elapsed() < Duration::from_secs(3));
}

/// Reads every event after `after` with pages of `limit`: (id, type, subject user, data).
async fn events_after(
    app: &TestApp,
    mut after: String,
    limit: usize,
) -> (Vec<(String, String, String, Value)>, String) {
    let mut out = Vec::new();
    loop {
        let page = feed(app, &format!("after={after}&limit={limit}")).await;
        let events = page["events"].as_array().expect("events").clone();
        after = page["next_cursor"].as_str().expect("cursor").to_string();
        if events.is_empty() {
            return (out, after);
        }
        assert!(events.len() <= limit);
        for e in events {
            out.push((
                e["id"].as_str().expect("id").to_string(),
                e["type"].as_str().expect("type").to_string(),
                e["subject"]["user_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["data"].clone(),
            ));
        }
    }
}

/// How many outbox rows of `event_type` the tenant has (rows, not events: users with the
/// same change share one).
fn outbox_rows(conn: &mut diesel::PgConnection, app: &TestApp, event_type: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM events WHERE tenant_id = '{}' AND event_type = '{event_type}'",
        app.tenant_id
    ))
    .get_result::<Count>(conn)
    .expect("count")
    .n
}

/// A change reaching more users than one outbox row holds: the feed still hands out one
/// event per user, each once and in order, in pages that cut through rows, while the outbox
/// holds a row per thousand users; losing the only role ends every one of their sessions.
#[tokio::test]
async fn a_change_reaching_many_users_is_one_event_per_user_from_few_rows() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let group = app.create_group("everyone", &[]).await;
    let mut conn = PgConnection::establish(&app.database_url).expect("connects");
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    // Written directly: their creation is not what this test is about.
    let mut seeded: Vec<String> = diesel::sql_query(format!(
        "WITH u AS (INSERT INTO users (tenant_id, id, user_name) \
                    SELECT '{t}', gen_random_uuid(), 'bulk' || g FROM generate_series(1, 2500) g \
                    RETURNING id), \
              m AS (INSERT INTO group_members (tenant_id, group_id, user_id) \
                    SELECT '{t}', '{group}', id FROM u) \
         SELECT id::text AS id FROM u",
        t = app.tenant_id
    ))
    .load::<Id>(&mut conn)
    .expect("seeded")
    .into_iter()
    .map(|r| r.id)
    .collect();
    seeded.sort();
    let sales = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales"}),
    )
    .await;
    let seller = create(
        &app,
        "/roles",
        json!({"name": "Seller", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": sales}),
        &seller,
        json!({"application_id": crm}),
    )
    .await;
    let start = feed(&app, "limit=1000").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();

    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": group, "end_user_group_id": sales})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (granted, cursor) = events_after(&app, start, 300).await;
    assert_eq!(granted.len(), 2500);
    assert!(granted.iter().all(|e| e.1 == "access.changed"));
    let gained = json!({"environment_id": model.production, "lost": [], "gained": [{
        "application_id": crm, "role_id": seller, "role": "Seller",
        "privileges": ["application.content.view"]}]});
    assert!(granted.iter().all(|e| e.3 == gained), "{:?}", granted[0]);
    let mut subjects: Vec<String> = granted.iter().map(|e| e.2.clone()).collect();
    subjects.sort();
    assert_eq!(subjects, seeded, "each user once");
    let mut ids: Vec<i64> = granted
        .iter()
        .map(|e| e.0.parse().expect("number"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids follow the feed");
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    assert_eq!(outbox_rows(&mut conn, &app, "access.changed"), 3);

    let reply = app
        .admin(
            Method::DELETE,
            &format!("/group-mappings/{group}/{sales}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let (revoked, _) = events_after(&app, cursor, 700).await;
    assert_eq!(revoked.len(), 5000);
    let lost = json!({"environment_id": model.production, "gained": [], "lost": gained["gained"]});
    for user in &seeded {
        let mine: Vec<&(String, String, String, Value)> =
            revoked.iter().filter(|e| &e.2 == user).collect();
        assert_eq!(mine.len(), 2, "{user}: {mine:?}");
        assert_eq!((mine[0].1.as_str(), &mine[0].3), ("access.changed", &lost));
        assert_eq!(mine[1].1, "session.revoked");
        assert_eq!(mine[1].3, json!({"reason": "no access left"}));
    }
    assert_eq!(outbox_rows(&mut conn, &app, "access.changed"), 6);
    assert_eq!(outbox_rows(&mut conn, &app, "session.revoked"), 3);
}

/// A change in which users gain many roles at once, more than 64 in one environment: each
/// user's event names exactly what that user gained, users with the same gains share one
/// outbox row, and users whose gains differ anywhere in the list (among the first 64 or
/// beyond) get their own.
#[tokio::test]
async fn users_gaining_many_roles_at_once_each_get_exactly_theirs() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let viewer = create(
        &app,
        "/roles",
        json!({"name": "Viewer", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    let mut apps = Vec::new();
    for i in 0..70 {
        apps.push(application(&app, &model.production, &format!("app {i:02}")).await);
    }
    // The changes are numbered in application order.
    apps.sort();
    let end_user_group = |name: &'static str| {
        let app = &app;
        let production = model.production.clone();
        async move {
            create(
                app,
                "/end-user-groups",
                json!({"environment_id": production, "name": name}),
            )
            .await
        }
    };
    let wide = end_user_group("Wide").await;
    for a in &apps {
        assign(
            &app,
            json!({"type": "end_user_group", "id": wide}),
            &viewer,
            json!({"application_id": a}),
        )
        .await;
    }
    let (ada, bob, cy, dan) = (
        app.create_user("ada").await,
        app.create_user("bob").await,
        app.create_user("cy").await,
        app.create_user("dan").await,
    );
    // Cy already holds the role on the 66th application, Dan on the first.
    for (user, position, name) in [(&cy, 65, "Late"), (&dan, 0, "Early")] {
        let group = end_user_group(name).await;
        assign(
            &app,
            json!({"type": "end_user_group", "id": group}),
            &viewer,
            json!({"application_id": apps[position]}),
        )
        .await;
        let idp = app.create_group(name, &[user.as_str()]).await;
        let reply = app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": idp, "end_user_group_id": group})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let everyone = app
        .create_group(
            "everyone",
            &[ada.as_str(), bob.as_str(), cy.as_str(), dan.as_str()],
        )
        .await;
    let mut conn = PgConnection::establish(&app.database_url).expect("connects");
    let rows_before = outbox_rows(&mut conn, &app, "access.changed");
    let start = feed(&app, "limit=1000").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();

    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": everyone, "end_user_group_id": wide})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (events, _) = events_after(&app, start, 100).await;
    let gained_apps = |user: &str| -> Vec<String> {
        let mine: Vec<&(String, String, String, Value)> =
            events.iter().filter(|e| e.2 == user).collect();
        assert_eq!(mine.len(), 1, "{user}: {mine:?}");
        assert_eq!(mine[0].1, "access.changed");
        assert_eq!(mine[0].3["lost"], json!([]));
        mine[0].3["gained"]
            .as_array()
            .expect("gained")
            .iter()
            .map(|g| {
                assert_eq!(g["role_id"], json!(viewer));
                g["application_id"]
                    .as_str()
                    .expect("application")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(gained_apps(&ada), apps);
    assert_eq!(gained_apps(&bob), apps);
    let but = |position: usize| -> Vec<String> {
        let mut rest = apps.clone();
        rest.remove(position);
        rest
    };
    assert_eq!(gained_apps(&cy), but(65));
    assert_eq!(gained_apps(&dan), but(0));
    assert_eq!(events.len(), 4);
    assert_eq!(
        outbox_rows(&mut conn, &app, "access.changed") - rows_before,
        3,
        "Ada and Bob share a row"
    );
}

/// Deleting a mapping tells exactly the members who lose a role by it — not one who holds
/// the role through another mapping, nor one who is deactivated or revoked from the
/// environment (they held nothing by it) — and ends the sessions of those left holding
/// nothing; creating it again tells the same members they gain it. The effective roles
/// equal their recomputation after each.
#[tokio::test]
async fn a_mapping_change_tells_only_the_members_whose_roles_it_changes() {
    let app = spawn_app().await;
    let MappedWorld {
        production,
        crm,
        alice,
        group,
        sales,
        seller,
    } = mapped_world(&app).await;
    let bob = app.create_user("bob").await;
    let carol = app.create_user("carol").await;
    let dave = app.create_user("dave").await;
    let erin = app.create_user("erin").await;
    let add = patch_ops(json!([{"op": "add", "path": "members", "value": [
        {"value": alice}, {"value": bob}, {"value": carol}, {"value": dave}, {"value": erin}]}]));
    let reply = app.patch(&format!("/Groups/{group}"), &add).await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    // Bob holds Seller on CRM through a second mapping too.
    let partners = app.create_group("partners", &[&bob]).await;
    let resellers = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": production, "name": "Resellers"}),
    )
    .await;
    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": partners, "end_user_group_id": resellers})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assign(
        &app,
        json!({"type": "end_user_group", "id": resellers}),
        &seller,
        json!({"application_id": crm}),
    )
    .await;
    // Carol holds another role directly, so she keeps access.
    let viewer = create(
        &app,
        "/roles",
        json!({"name": "Viewer", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "user", "id": carol}),
        &viewer,
        json!({"application_id": crm}),
    )
    .await;
    // Dave is deactivated by SCIM, Erin revoked from Production.
    let inactive = patch_ops(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(
        app.patch(&format!("/Users/{dave}"), &inactive).await.status,
        200
    );
    let reply = app
        .admin(
            Method::DELETE,
            &format!("/users/{erin}/environments/{production}/access"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let told = |events: &[(String, String, String, Value)], kind: &str| {
        let mut users: Vec<String> = events
            .iter()
            .filter(|(_, t, _, _)| t == kind)
            .map(|(_, _, user, _)| user.clone())
            .collect();
        users.sort();
        users
    };
    let sorted = |mut users: Vec<String>| {
        users.sort();
        users
    };
    let seller_on_crm = json!([{"application_id": crm, "role_id": seller, "role": "Seller",
        "privileges": ["application.content.build", "application.content.view"]}]);
    let mapping = format!("/group-mappings/{group}/{sales}");

    let start = feed(&app, "limit=1000").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let reply = app.admin(Method::DELETE, &mapping, None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let (deleted, cursor) = events_after(&app, start, 1000).await;
    assert_eq!(
        told(&deleted, "access.changed"),
        sorted(vec![alice.clone(), carol.clone()]),
        "{deleted:?}"
    );
    for (_, kind, _, data) in &deleted {
        if kind == "access.changed" {
            assert_eq!(
                data,
                &json!({"environment_id": production, "gained": [], "lost": seller_on_crm})
            );
        }
    }
    assert_eq!(told(&deleted, "session.revoked"), vec![alice.clone()]);
    crate::mapped_groups::assert_no_drift(&app);

    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": group, "end_user_group_id": sales})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let (created, _) = events_after(&app, cursor, 1000).await;
    assert_eq!(
        told(&created, "access.changed"),
        sorted(vec![alice.clone(), carol.clone()]),
        "{created:?}"
    );
    for (_, kind, _, data) in &created {
        if kind == "access.changed" {
            assert_eq!(
                data,
                &json!({"environment_id": production, "gained": seller_on_crm, "lost": []})
            );
        }
    }
    assert!(told(&created, "session.revoked").is_empty());
    crate::mapped_groups::assert_no_drift(&app);
}

/// An end-user group's creation, rename and deletion are events; a change of its description
/// alone is not (nothing an application reads of the group changed).
#[tokio::test]
async fn an_end_user_groups_life_is_told_by_its_events() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let alice = app.create_user("alice").await;
    let created = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": model.production, "name": "Marketing", "members": [alice]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    let path = format!("/end-user-groups/{id}");
    let described = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"description": "Demand"})),
        )
        .await;
    assert_eq!(described.status, 200, "{}", described.body);
    let renamed = app
        .admin(Method::PATCH, &path, Some(&json!({"name": "Growth"})))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let removed = app
        .admin(Method::DELETE, &format!("{path}?force=true"), None)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);

    let events: Vec<_> = all_events(&app)
        .await
        .into_iter()
        .filter(|(t, _, _)| t.starts_with("group.") || t == "membership.changed")
        .collect();
    let group =
        |name: &str| json!({"kind": "end_user", "name": name, "environment_id": model.production});
    assert_eq!(
        events,
        [
            ("group.created".to_string(), id.clone(), group("Marketing")),
            (
                "membership.changed".to_string(),
                id.clone(),
                json!({"kind": "end_user", "added": [alice], "removed": []})
            ),
            ("group.updated".to_string(), id.clone(), group("Growth")),
            ("group.deleted".to_string(), id.clone(), group("Growth")),
        ],
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_member_added_and_removed_in_one_patch_is_told_nothing() {
    let app = spawn_app().await;
    let MappedWorld { alice, group, .. } = mapped_world(&app).await;
    let add_alice =
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]));
    let reply = app.patch(&format!("/Groups/{group}"), &add_alice).await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let bob = app.create_user("bob").await;
    let start = feed(&app, "limit=1000").await["next_cursor"].clone();
    let start = start.as_str().expect("a cursor");
    // Bob joins and the group is emptied in the same request: he ends where he began, so
    // only Alice's loss is told — what Bob held before is what he held before the request,
    // not what he held between its operations.
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([
                {"op": "add", "path": "members", "value": [{"value": bob}]},
                {"op": "remove", "path": "members"}
            ])),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let page = feed(&app, &format!("after={start}")).await;
    let access: Vec<&Value> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "access.changed")
        .collect();
    assert_eq!(access.len(), 1, "{page}");
    assert_eq!(access[0]["subject"], json!({"user_id": alice}), "{page}");
    assert_eq!(access[0]["data"]["lost"][0]["role"], "Seller", "{page}");
    assert_eq!(access[0]["data"]["gained"], json!([]), "{page}");
}

#[tokio::test]
async fn marking_users_again_in_a_wider_scope_notes_what_they_held_there() {
    use diesel::prelude::*;
    use rolegate::access::effective::{self, Pending, Scope, Users};
    let app = spawn_app().await;
    let world = mapped_world(&app).await;
    let add_alice =
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": world.alice}]}]));
    let reply = app
        .patch(&format!("/Groups/{}", world.group), &add_alice)
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let erp = application(&app, &world.production, "ERP").await;
    let id = |s: &str| uuid::Uuid::parse_str(s).expect("uuid");
    let (alice, erp) = (id(&world.alice), id(&erp));
    let mut conn = PgConnection::establish(&app.database_url).expect("connects");
    let diff = conn
        .transaction::<_, diesel::result::Error, _>(|conn| {
            let mut pending = Pending::new(app.tenant_id, "test", "test");
            // First in a scope where she holds nothing, then in the whole tenant: the second
            // mark notes what she holds through the IdP group on CRM before she leaves it.
            pending.mark(conn, Users::Ids(&[alice]), Scope::application(erp))?;
            pending.mark(conn, Users::Ids(&[alice]), Scope::Tenant)?;
            diesel::sql_query("DELETE FROM group_members WHERE tenant_id = $1 AND user_id = $2")
                .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
                .bind::<diesel::sql_types::Uuid, _>(alice)
                .execute(conn)?;
            effective::refresh(conn, &pending, true)
        })
        .expect("refreshed");
    let lost: Vec<(uuid::Uuid, Option<uuid::Uuid>, uuid::Uuid)> = diff
        .losses
        .iter()
        .map(|c| (c.user_id, c.application_id, c.role_id))
        .collect();
    assert_eq!(
        lost,
        vec![(alice, Some(id(&world.crm)), id(&world.seller))],
        "{diff:?}"
    );
    assert!(diff.gains.is_empty(), "{diff:?}");
}

#[tokio::test]
async fn marking_everyone_after_some_keeps_what_those_held_before() {
    use diesel::prelude::*;
    use rolegate::access::effective::{self, Pending, Scope, Users};
    let app = spawn_app().await;
    let world = mapped_world(&app).await;
    let id = |s: &str| uuid::Uuid::parse_str(s).expect("uuid");
    let (alice, group) = (id(&world.alice), id(&world.group));
    let mut conn = PgConnection::establish(&app.database_url).expect("connects");
    let diff = conn
        .transaction::<_, diesel::result::Error, _>(|conn| {
            let mut pending = Pending::new(app.tenant_id, "test", "test");
            // Alice is marked, then joins the IdP group; then everyone is marked. What she
            // held before is what she held at her own mark: nothing.
            pending.mark(conn, Users::Ids(&[alice]), Scope::Tenant)?;
            diesel::sql_query(
                "INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3)",
            )
            .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
            .bind::<diesel::sql_types::Uuid, _>(group)
            .bind::<diesel::sql_types::Uuid, _>(alice)
            .execute(conn)?;
            pending.mark(conn, Users::All, Scope::Tenant)?;
            effective::refresh(conn, &pending, true)
        })
        .expect("refreshed");
    let gained: Vec<(uuid::Uuid, uuid::Uuid)> =
        diff.gains.iter().map(|c| (c.user_id, c.role_id)).collect();
    assert_eq!(gained, vec![(alice, id(&world.seller))], "{diff:?}");
    assert!(diff.losses.is_empty(), "{diff:?}");
}

#[tokio::test]
async fn a_member_removed_by_filter_is_told_the_roles_lost() {
    let app = spawn_app().await;
    let MappedWorld {
        alice,
        group,
        seller,
        ..
    } = mapped_world(&app).await;
    let bob = app.create_user("bob").await;
    let add = patch_ops(json!([{"op": "add", "path": "members",
                                "value": [{"value": alice}, {"value": bob}]}]));
    let reply = app.patch(&format!("/Groups/{group}"), &add).await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let start = feed(&app, "limit=1000").await["next_cursor"].clone();
    let start = start.as_str().expect("a cursor");
    // One member named by id, not the whole group: only she loses, and is told so.
    let remove = patch_ops(json!([{"op": "remove",
                                   "path": format!("members[value eq \"{alice}\"]")}]));
    let reply = app.patch(&format!("/Groups/{group}"), &remove).await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    let page = feed(&app, &format!("after={start}&types=access.changed")).await;
    assert_eq!(kinds(&page), ["access.changed"], "{page}");
    assert_eq!(page["events"][0]["subject"], json!({"user_id": alice}));
    assert_eq!(
        page["events"][0]["data"]["lost"][0]["role_id"],
        seller.as_str()
    );
    assert_eq!(page["events"][0]["data"]["gained"], json!([]));
}
