use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn names(list: &Value) -> Vec<String> {
    list["environments"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn admin_and_scim_tokens_are_not_interchangeable() {
    let app = spawn_app().await;
    let scim_token = app.token.clone();
    app.admin_as(Some(&scim_token), Method::GET, "/environments", None)
        .await
        .assert_problem(401);
    app.admin_as(None, Method::GET, "/environments", None)
        .await
        .assert_problem(401);
    let reply = app
        .request_as(Some(&app.admin_token.clone()), Method::GET, "/Users", None)
        .await;
    reply.assert_error(401, None);
    assert_eq!(
        app.admin(Method::GET, "/environments", None).await.status,
        200
    );
}

#[tokio::test]
async fn a_tenant_starts_with_one_environment_and_keeps_at_least_one() {
    let app = spawn_app().await;
    let list = app.admin(Method::GET, "/environments", None).await;
    assert_eq!(names(&list.body), ["Production"]);
    let production = list.body["environments"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.admin(Method::DELETE, &format!("/environments/{production}"), None)
        .await
        .assert_problem(409);
    assert_eq!(
        names(&app.admin(Method::GET, "/environments", None).await.body),
        ["Production"]
    );
}

#[tokio::test]
async fn environments_are_created_ordered_renamed_and_deleted() {
    let app = spawn_app().await;
    let dev = app
        .admin(
            Method::POST,
            "/environments",
            Some(&json!({"name": "Development", "position": 0})),
        )
        .await;
    assert_eq!(dev.status, 201, "{}", dev.body);
    let dev_id = dev.body["id"].as_str().expect("id").to_string();
    assert_eq!(
        dev.header("location"),
        Some(format!("/admin/v1/environments/{dev_id}").as_str())
    );
    let qa = app
        .admin(
            Method::POST,
            "/environments",
            Some(&json!({"name": "Testing"})),
        )
        .await;
    assert_eq!(qa.body["position"], 2);
    assert_eq!(
        names(&app.admin(Method::GET, "/environments", None).await.body),
        ["Development", "Production", "Testing"]
    );

    // Names are unique per tenant ignoring case.
    app.admin(
        Method::POST,
        "/environments",
        Some(&json!({"name": "development"})),
    )
    .await
    .assert_problem(409);
    // Renaming keeps the identity.
    let renamed = app
        .admin(
            Method::PATCH,
            &format!("/environments/{dev_id}"),
            Some(&json!({"name": "Dev"})),
        )
        .await;
    assert_eq!(
        (renamed.status, renamed.body["id"].as_str()),
        (200, Some(dev_id.as_str()))
    );
    assert_eq!(
        app.admin(Method::GET, &format!("/environments/{dev_id}"), None)
            .await
            .body["name"],
        "Dev"
    );
    assert_eq!(
        app.admin(Method::DELETE, &format!("/environments/{dev_id}"), None)
            .await
            .status,
        204
    );
    app.admin(Method::GET, &format!("/environments/{dev_id}"), None)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn bad_admin_requests_are_problems() {
    let app = spawn_app().await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "ok", "colour": "red"}),
        json!({"name": 5}),
    ] {
        app.admin(Method::POST, "/environments", Some(&body))
            .await
            .assert_problem(400);
    }
    let malformed = app
        .client
        .post(format!("{}/admin/v1/environments", app.address))
        .bearer_auth(&app.admin_token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(malformed.status(), 400);
    app.admin(Method::GET, "/environments/not-a-uuid", None)
        .await
        .assert_problem(404);
    app.admin(
        Method::GET,
        &format!("/environments/{}", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_problem(404);
    app.admin(Method::PUT, "/environments", None)
        .await
        .assert_problem(405);
    app.admin(Method::GET, "/nothing-here", None)
        .await
        .assert_problem(404);
    app.admin(Method::GET, "/audit?limit=0", None)
        .await
        .assert_problem(400);
    app.admin(Method::GET, "/audit?flavour=x", None)
        .await
        .assert_problem(400);
    assert_eq!(
        app.admin(Method::GET, "/environments", None).await.body["environments"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn admin_tenants_are_isolated() {
    let app = spawn_app().await;
    let mine =
        app.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"].clone();
    let mine = mine.as_str().expect("id").to_string();
    let other = app.other_tenant_admin_token();
    let theirs = app
        .admin_as(Some(&other), Method::GET, "/environments", None)
        .await;
    assert_eq!(
        theirs.body["environments"].as_array().map(Vec::len),
        Some(1)
    );
    assert_ne!(theirs.body["environments"][0]["id"], json!(mine));
    for method in [Method::GET, Method::DELETE] {
        app.admin_as(Some(&other), method, &format!("/environments/{mine}"), None)
            .await
            .assert_problem(404);
    }
    app.admin_as(
        Some(&other),
        Method::PATCH,
        &format!("/environments/{mine}"),
        Some(&json!({"name": "pwned"})),
    )
    .await
    .assert_problem(404);
    let audit = app
        .admin_as(Some(&other), Method::GET, "/audit", None)
        .await
        .body;
    assert!(audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["resource_id"] != json!(mine)));
}

#[tokio::test]
async fn the_audit_log_is_searchable() {
    let app = spawn_app().await;
    let created = app
        .admin(
            Method::POST,
            "/environments",
            Some(&json!({"name": "Staging"})),
        )
        .await
        .body;
    let id = created["id"].as_str().expect("id").to_string();
    app.admin(
        Method::PATCH,
        &format!("/environments/{id}"),
        Some(&json!({"position": 9})),
    )
    .await;
    app.create_user("audited@example.com").await;

    let entries = app
        .admin(
            Method::GET,
            &format!("/audit?resource_type=Environment&resource_id={id}"),
            None,
        )
        .await
        .body;
    let ops: Vec<&str> = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert_eq!(ops, ["update", "create"]);
    let update = &entries["entries"][0];
    assert_eq!(
        (
            update["before"]["position"].clone(),
            update["after"]["position"].clone()
        ),
        (json!(2), json!(9))
    );
    assert!(update["actor"]
        .as_str()
        .is_some_and(|a| a.starts_with("admin-token:")));

    let users = app
        .admin(Method::GET, "/audit?resource_type=User&limit=1", None)
        .await
        .body;
    assert_eq!(users["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(users["entries"][0]["operation"], "create");
    let newest = app.admin(Method::GET, "/audit?limit=2", None).await.body;
    let last_id = newest["entries"][1]["id"].as_i64().expect("id");
    let older = app
        .admin(
            Method::GET,
            &format!("/audit?before_id={last_id}&limit=1000"),
            None,
        )
        .await
        .body;
    assert!(older["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .all(|e| e["id"].as_i64() < Some(last_id)));
}

/// Token requests are checked at each bound: the lifetime (1 to 3,650 days), what a kind
/// may be bound to, the user named, and revocation of the right kind, once.
#[tokio::test]
async fn token_requests_are_refused_outside_their_bounds() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let admin_token = |body: Value| {
        let app = &app;
        async move { app.admin(Method::POST, "/admin-tokens", Some(&body)).await }
    };
    for days in [0, 3651] {
        admin_token(json!({"name": "t", "user_id": ann, "expires_in_days": days}))
            .await
            .assert_problem(400);
    }
    for days in [1, 3650] {
        let made = admin_token(json!({"name": "t", "user_id": ann, "expires_in_days": days})).await;
        assert_eq!(made.status, 201, "{days} days: {}", made.body);
        let expires = chrono::DateTime::parse_from_rfc3339(
            made.body["expires_at"].as_str().expect("expires_at"),
        )
        .expect("a time");
        let left = expires.signed_duration_since(chrono::Utc::now());
        assert!(
            (left - chrono::Duration::days(days)).num_seconds().abs() < 60,
            "{days} days: {left}"
        );
    }
    // An owner names the user; one not of this tenant is refused.
    let unknown = admin_token(json!({"name": "t", "user_id": uuid::Uuid::new_v4()})).await;
    unknown.assert_problem(422);
    let bound = admin_token(json!({"name": "ann's", "user_id": ann})).await;
    assert_eq!(bound.status, 201, "{}", bound.body);
    assert_eq!(bound.body["kind"], "user");
    assert_eq!(bound.body["user_id"], json!(ann));
    assert!(bound.body["expires_at"].is_null());
    // A connector token is bound to no user.
    app.admin(
        Method::POST,
        "/scim-tokens",
        Some(&json!({"name": "okta", "user_id": ann})),
    )
    .await
    .assert_problem(400);
    let connector = app
        .admin(Method::POST, "/scim-tokens", Some(&json!({"name": "okta"})))
        .await;
    assert_eq!(connector.status, 201, "{}", connector.body);
    assert_eq!(connector.body["kind"], "scim");
    // Each list holds its own kind only.
    let kinds = |path: &'static str| {
        let app = &app;
        async move {
            let listed = app.admin(Method::GET, path, None).await;
            let mut kinds: Vec<String> = listed.body["tokens"]
                .as_array()
                .expect("tokens")
                .iter()
                .map(|t| t["kind"].as_str().unwrap_or_default().to_string())
                .collect();
            kinds.sort();
            kinds.dedup();
            kinds
        }
    };
    assert_eq!(kinds("/scim-tokens").await, vec!["scim"]);
    assert_eq!(kinds("/admin-tokens").await, vec!["owner", "user"]);
    // A token is revoked through its own kind's route, and once.
    let connector_id = connector.id();
    app.admin(
        Method::DELETE,
        &format!("/admin-tokens/{connector_id}"),
        None,
    )
    .await
    .assert_problem(404);
    let revoked = app
        .admin(
            Method::DELETE,
            &format!("/scim-tokens/{connector_id}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    app.admin(
        Method::DELETE,
        &format!("/scim-tokens/{connector_id}"),
        None,
    )
    .await
    .assert_problem(409);
}

/// The admin user list: pages end exactly (no empty last page), the limit is 1 to 200, a
/// SCIM-deactivated user shows as `deactivated`, and filters are checked.
#[tokio::test]
async fn the_user_list_pages_end_exactly_and_its_filters_are_checked() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    app.create_user("bob").await;
    app.create_user("cy").await;
    let deactivated = app
        .patch(
            &format!("/Users/{ann}"),
            &crate::helpers::patch_ops(
                json!([{"op": "replace", "path": "active", "value": false}]),
            ),
        )
        .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    let list = |query: String| {
        let app = &app;
        async move {
            app.admin(Method::GET, &format!("/users?{query}"), None)
                .await
        }
    };
    let user_names = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let whole = list("limit=3".into()).await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(user_names(&whole.body), ["ann", "bob", "cy"]);
    assert!(
        whole.body["next_after"].is_null(),
        "an exact page is the last"
    );
    let first = list("limit=2".into()).await;
    assert_eq!(user_names(&first.body), ["ann", "bob"]);
    let after = first.body["next_after"].as_str().expect("a next page");
    let rest = list(format!("limit=2&after={after}")).await;
    assert_eq!(user_names(&rest.body), ["cy"]);
    assert!(rest.body["next_after"].is_null());
    for limit in [0, 201] {
        list(format!("limit={limit}")).await.assert_problem(400);
    }
    assert_eq!(list("limit=200".into()).await.status, 200);
    assert_eq!(
        list("limit=1".into()).await.body["users"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let by_status = list("status=deactivated".into()).await;
    assert_eq!(user_names(&by_status.body), ["ann"]);
    assert_eq!(by_status.body["users"][0]["status"], "deactivated");
    assert_eq!(by_status.body["users"][0]["source"], "scim");
    assert_eq!(
        user_names(&list("status=active".into()).await.body),
        ["bob", "cy"]
    );
    assert_eq!(user_names(&list("status=".into()).await.body).len(), 3);
    assert_eq!(user_names(&list("source=scim".into()).await.body).len(), 3);
    assert!(user_names(&list("source=login".into()).await.body).is_empty());
    assert_eq!(user_names(&list("q=%20bob%20".into()).await.body), ["bob"]);
    list("status=gone".into()).await.assert_problem(400);
    list("source=ldap".into()).await.assert_problem(400);
}
