use reqwest::Method;
use serde_json::json;

use crate::helpers::{patch_ops, spawn_app, GROUP_SCHEMA, USER_SCHEMA};

#[tokio::test]
async fn missing_unknown_and_malformed_tokens_get_401() {
    let app = spawn_app().await;
    let forged = format!("{}x", &app.token[..app.token.len() - 1]);
    for token in [
        None,
        Some("rg_bogus"),
        Some("Bearer"),
        Some(forged.as_str()),
    ] {
        let reply = app.request_as(token, Method::GET, "/Users", None).await;
        reply.assert_error(401, None);
        assert!(reply
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")));
    }
    let wrong_scheme = app
        .client
        .get(format!("{}/Users", app.base))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong_scheme.status(), 401);
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    assert_eq!(app.get("/Users").await.status, 200);
    {
        let mut conn = app.pool.get().expect("connection");
        rolegate::provisioning::tokens::revoke(&mut conn, app.tenant_id, app.token_id, "test")
            .expect("revokes");
    }
    app.get("/Users").await.assert_error(401, None);
}

/// A token of tenant B can't read, modify or even detect tenant A's resources.
#[tokio::test]
async fn tenants_are_isolated_on_every_endpoint() {
    let app = spawn_app().await;
    let user = app.create_user("shared-name").await;
    let group = app.create_group("team", &[&user]).await;
    let other = app.other_tenant_token();
    let as_other = |method: Method, path: String, body: Option<serde_json::Value>| {
        let app = &app;
        let other = other.clone();
        async move {
            app.request_as(Some(&other), method, &path, body.as_ref())
                .await
        }
    };

    for path in [format!("/Users/{user}"), format!("/Groups/{group}")] {
        as_other(Method::GET, path.clone(), None)
            .await
            .assert_error(404, None);
        as_other(Method::DELETE, path.clone(), None)
            .await
            .assert_error(404, None);
        as_other(
            Method::PATCH,
            path.clone(),
            Some(patch_ops(
                json!([{"op": "replace", "path": "displayName", "value": "pwned"}]),
            )),
        )
        .await
        .assert_error(404, None);
    }
    as_other(
        Method::PUT,
        format!("/Users/{user}"),
        Some(json!({"schemas": [USER_SCHEMA], "userName": "pwned"})),
    )
    .await
    .assert_error(404, None);
    as_other(
        Method::PUT,
        format!("/Groups/{group}"),
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "pwned"})),
    )
    .await
    .assert_error(404, None);

    // Lists, filters and searches see nothing of tenant A.
    for path in [
        "/Users",
        "/Groups",
        "/Users?filter=userName%20eq%20%22shared-name%22",
    ] {
        assert_eq!(
            as_other(Method::GET, path.to_string(), None).await.body["totalResults"],
            0,
            "{path}"
        );
    }
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    for path in ["/.search", "/Users/.search", "/Groups/.search"] {
        assert_eq!(
            as_other(Method::POST, path.to_string(), Some(search.clone()))
                .await
                .body["totalResults"],
            0,
            "{path}"
        );
    }
    let filter = format!("/Groups?filter=members%5Bvalue%20eq%20%22{user}%22%5D");
    assert_eq!(
        as_other(Method::GET, filter.clone(), None).await.body["totalResults"],
        0
    );
    assert_eq!(app.get(&filter).await.body["totalResults"], 1);

    // Bulk operations of B can't reach A's resources either.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "DELETE", "path": format!("/Users/{user}")},
        {"method": "PATCH", "path": format!("/Groups/{group}"), "data": patch_ops(json!([{"op": "remove", "path": "members"}]))},
        {"method": "PUT", "path": format!("/Users/{user}"), "data": {"schemas": [USER_SCHEMA], "userName": "pwned"}},
    ]});
    let reply = as_other(Method::POST, "/Bulk".into(), Some(bulk)).await;
    let statuses: Vec<&str> = reply.body["Operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["status"].as_str())
        .collect();
    assert_eq!(statuses, ["404", "404", "404"]);

    // B can't add A's user to its own group, and the same userName is free in B.
    let reply = as_other(
        Method::POST,
        "/Groups".into(),
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "b", "members": [{"value": user}]})),
    )
    .await;
    reply.assert_error(400, Some("invalidValue"));
    let reply = as_other(
        Method::POST,
        "/Users".into(),
        Some(json!({"schemas": [USER_SCHEMA], "userName": "shared-name"})),
    )
    .await;
    assert_eq!(reply.status, 201);

    // Nothing of A changed.
    let a_user = app.get(&format!("/Users/{user}")).await.body;
    assert_eq!(a_user["userName"], "shared-name");
    let a_group = app.get(&format!("/Groups/{group}")).await.body;
    assert_eq!(a_group["displayName"], "team");
    assert_eq!(a_group["members"].as_array().map(Vec::len), Some(1));
}
