use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn environments(app: &TestApp) -> (String, String) {
    let production =
        app.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"].clone();
    let dev = app
        .admin(
            Method::POST,
            "/environments",
            Some(&json!({"name": "Development"})),
        )
        .await
        .body["id"]
        .clone();
    (
        production.as_str().expect("id").to_string(),
        dev.as_str().expect("id").to_string(),
    )
}

fn members(group: &Value) -> Vec<String> {
    let mut m: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

#[tokio::test]
async fn groups_live_in_one_environment_with_unique_names() {
    let app = spawn_app().await;
    let (production, dev) = environments(&app).await;
    let alice = app.create_user("alice").await;
    let created = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": production, "name": "Marketing", "members": [alice]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_string();
    assert_eq!(members(&created.body), vec![alice.clone()]);
    // The same name in another environment is another group; in the same one it is refused.
    let other_env = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": dev, "name": "marketing"})),
        )
        .await;
    assert_eq!(other_env.status, 201);
    app.admin(
        Method::POST,
        "/end-user-groups",
        Some(&json!({"environment_id": production, "name": "MARKETING"})),
    )
    .await
    .assert_problem(409);
    // Never moved; renamed and described in place.
    app.admin(
        Method::PATCH,
        &format!("/end-user-groups/{id}"),
        Some(&json!({"environment_id": dev})),
    )
    .await
    .assert_problem(409);
    let renamed = app
        .admin(
            Method::PATCH,
            &format!("/end-user-groups/{id}"),
            Some(&json!({"name": "Growth", "description": "Demand generation"})),
        )
        .await;
    assert_eq!(
        (
            renamed.status,
            renamed.body["id"].clone(),
            renamed.body["environment_id"].clone()
        ),
        (200, json!(id), json!(production))
    );
    assert_eq!(members(&renamed.body), vec![alice]);
    let in_production = app
        .admin(
            Method::GET,
            &format!("/end-user-groups?environment_id={production}"),
            None,
        )
        .await
        .body;
    assert_eq!(
        in_production["end_user_groups"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(in_production["end_user_groups"][0]["name"], "Growth");
}

#[tokio::test]
async fn members_are_users_of_the_tenant() {
    let app = spawn_app().await;
    let (production, _) = environments(&app).await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let id = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": production, "name": "g"})),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/end-user-groups/{id}/members");
    let added = app
        .admin(Method::POST, &path, Some(&json!({"users": [a, b, a]})))
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(members(&added.body), both);
    app.admin(
        Method::POST,
        &path,
        Some(&json!({"users": [uuid::Uuid::new_v4()]})),
    )
    .await
    .assert_problem(400);
    app.admin(
        Method::POST,
        "/end-user-groups",
        Some(&json!({"environment_id": uuid::Uuid::new_v4(), "name": "x"})),
    )
    .await
    .assert_problem(400);
    let removed = app
        .admin(Method::DELETE, &path, Some(&json!({"users": [a]})))
        .await;
    assert_eq!(members(&removed.body), vec![b]);
}

#[tokio::test]
async fn deleting_a_group_with_direct_members_needs_force() {
    let app = spawn_app().await;
    let (production, _) = environments(&app).await;
    let a = app.create_user("a").await;
    let id = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": production, "name": "g", "members": [a]})),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.admin(Method::DELETE, &format!("/end-user-groups/{id}"), None)
        .await
        .assert_problem(409);
    assert_eq!(
        app.admin(Method::GET, &format!("/end-user-groups/{id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.admin(
            Method::DELETE,
            &format!("/end-user-groups/{id}?force=true"),
            None
        )
        .await
        .status,
        204
    );
    app.admin(Method::GET, &format!("/end-user-groups/{id}"), None)
        .await
        .assert_problem(404);
    let empty = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": production, "name": "empty"})),
        )
        .await
        .body;
    let empty = empty["id"].as_str().expect("id");
    assert_eq!(
        app.admin(Method::DELETE, &format!("/end-user-groups/{empty}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn duplicating_copies_the_chosen_parts() {
    let app = spawn_app().await;
    let (production, _) = environments(&app).await;
    let a = app.create_user("a").await;
    let source = app
        .admin(Method::POST, "/end-user-groups", Some(&json!({"environment_id": production, "name": "source", "description": "d", "members": [a]})))
        .await
        .body;
    let id = source["id"].as_str().expect("id");
    let with = app
        .admin(
            Method::POST,
            &format!("/end-user-groups/{id}/duplicate"),
            Some(&json!({"name": "copy", "members": true})),
        )
        .await;
    assert_eq!(with.status, 201, "{}", with.body);
    assert_eq!(
        (with.body["description"].clone(), members(&with.body)),
        (json!("d"), vec![a.clone()])
    );
    assert_ne!(with.body["id"], source["id"]);
    let without = app
        .admin(
            Method::POST,
            &format!("/end-user-groups/{id}/duplicate"),
            Some(&json!({"name": "bare"})),
        )
        .await;
    assert_eq!(members(&without.body), Vec::<String>::new());
    app.admin(
        Method::POST,
        &format!("/end-user-groups/{id}/duplicate"),
        Some(&json!({"name": "copy"})),
    )
    .await
    .assert_problem(409);
    let trail = app
        .admin(Method::GET, "/audit?resource_type=EndUserGroup", None)
        .await
        .body;
    let ops: Vec<&str> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert_eq!(ops, ["duplicate", "duplicate", "create"]);
}

#[tokio::test]
async fn end_user_groups_are_isolated_between_tenants() {
    let app = spawn_app().await;
    let (production, _) = environments(&app).await;
    let id = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": production, "name": "g"})),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let other = app.other_tenant_admin_token();
    app.admin_as(
        Some(&other),
        Method::GET,
        &format!("/end-user-groups/{id}"),
        None,
    )
    .await
    .assert_problem(404);
    app.admin_as(
        Some(&other),
        Method::DELETE,
        &format!("/end-user-groups/{id}?force=true"),
        None,
    )
    .await
    .assert_problem(404);
    // Nor can another tenant create groups in this tenant's environment.
    app.admin_as(
        Some(&other),
        Method::POST,
        "/end-user-groups",
        Some(&json!({"environment_id": production, "name": "x"})),
    )
    .await
    .assert_problem(400);
    let listed = app
        .admin_as(Some(&other), Method::GET, "/end-user-groups", None)
        .await
        .body;
    assert_eq!(listed["end_user_groups"].as_array().map(Vec::len), Some(0));
}
