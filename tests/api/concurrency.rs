use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;

use crate::helpers::{patch_ops, spawn_app, USER_SCHEMA};

#[tokio::test]
async fn fifty_clients_adding_members_to_one_group_lose_none() {
    let app = spawn_app().await;
    let group = app.create_group("crowd", &[]).await;
    let mut users = Vec::new();
    for i in 0..50 {
        users.push(app.create_user(&format!("member{i}")).await);
    }
    let path = format!("/Groups/{group}");
    let requests = users.iter().map(|u| {
        let body = patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": u}]}]));
        let (app, path) = (&app, path.clone());
        async move { app.patch(&path, &body).await.status }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let group = app.get(&path).await.body;
    let mut members: Vec<String> = group["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect();
    members.sort();
    users.sort();
    assert_eq!(members, users);
}

#[tokio::test]
async fn twenty_clients_creating_one_user_name_yield_one_201() {
    let app = spawn_app().await;
    let requests = (0..20).map(|i| {
        // The same name in different cases: uniqueness ignores case.
        let name = if i % 2 == 0 {
            "Race@Example.com"
        } else {
            "race@example.COM"
        };
        let body = json!({"schemas": [USER_SCHEMA], "userName": name});
        let app = &app;
        async move { app.post("/Users", &body).await }
    });
    let replies = futures::future::join_all(requests).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1);
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.assert_error(409, Some("uniqueness"));
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

/// `excludedAttributes=members` must not touch the membership table: with that table
/// locked, such reads still answer while a read that includes members waits.
#[tokio::test]
async fn reads_without_members_never_touch_the_membership_table() {
    let app = spawn_app().await;
    let user = app.create_user("m").await;
    let group = app.create_group("locked", &[&user]).await;
    let mut locker = PgConnection::establish(&app.database_url).expect("connects");
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .expect("begin");
    diesel::sql_query("LOCK TABLE group_members IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .expect("locks");

    let quick = |path: String| {
        let app = &app;
        async move {
            tokio::time::timeout(Duration::from_secs(2), app.get(&path))
                .await
                .map(|r| r.status)
        }
    };
    assert_eq!(
        quick(format!("/Groups/{group}?excludedAttributes=members")).await,
        Ok(200)
    );
    assert_eq!(
        quick("/Groups?excludedAttributes=members".to_string()).await,
        Ok(200)
    );
    assert_eq!(
        quick(format!("/Groups/{group}?attributes=displayName")).await,
        Ok(200)
    );
    assert!(
        quick(format!("/Groups/{group}")).await.is_err(),
        "a read with members waits for the lock"
    );

    diesel::sql_query("ROLLBACK")
        .execute(&mut locker)
        .expect("rollback");
    assert_eq!(quick(format!("/Groups/{group}")).await, Ok(200));
}

/// A membership PATCH touches only the rows it names: with another member's row locked by
/// a concurrent transaction, adding and removing other members proceeds.
#[tokio::test]
async fn membership_patches_touch_only_the_named_rows() {
    let app = spawn_app().await;
    let held = app.create_user("held").await;
    let leaving = app.create_user("leaving").await;
    let joining = app.create_user("joining").await;
    let group = app.create_group("g", &[&held, &leaving]).await;

    let mut locker = PgConnection::establish(&app.database_url).expect("connects");
    diesel::sql_query("BEGIN")
        .execute(&mut locker)
        .expect("begin");
    diesel::sql_query(format!(
        "SELECT 1 FROM group_members WHERE user_id = '{held}' FOR UPDATE"
    ))
    .execute(&mut locker)
    .expect("locks the row");

    let path = format!("/Groups/{group}");
    let ops = [
        json!([{"op": "add", "path": "members", "value": [{"value": joining}]}]),
        json!([{"op": "remove", "path": format!("members[value eq \"{leaving}\"]")}]),
    ];
    for op in ops {
        let reply =
            tokio::time::timeout(Duration::from_secs(2), app.patch(&path, &patch_ops(op))).await;
        assert_eq!(reply.map(|r| r.status), Ok(204));
    }
    diesel::sql_query("ROLLBACK")
        .execute(&mut locker)
        .expect("rollback");
    let members = app.get(&path).await.body["members"]
        .as_array()
        .map(Vec::len);
    assert_eq!(members, Some(2));
}
