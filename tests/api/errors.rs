use reqwest::Method;
use serde_json::json;

use crate::helpers::{patch_ops, spawn_app, spawn_app_with, Options, USER_SCHEMA};

#[tokio::test]
async fn malformed_json_is_invalid_syntax() {
    let app = spawn_app().await;
    for body in [&b"{\"userName\": "[..], b"not json", b"", b"\xff\xfe"] {
        let reply = app
            .raw(
                Method::POST,
                "/Users",
                "application/scim+json",
                body.to_vec(),
            )
            .await;
        reply.assert_error(400, Some("invalidSyntax"));
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn wrong_types_and_unknown_attributes_are_refused() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"schemas": [USER_SCHEMA], "userName": 42}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "perhaps"}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": 5}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "name": "Jensen"}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "shoeSize": 42}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "name": {"nick": "x"}}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "urn:example:unknown:1.0:User": {"x": 1}}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "displayName": "no user name"}),
            "invalidValue",
        ),
        (
            json!({"schemas": "not-a-list", "userName": "a"}),
            "invalidSyntax",
        ),
        (json!(["an", "array"]), "invalidSyntax"),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}),
            "invalidValue",
        ),
    ];
    for (body, scim_type) in cases {
        let reply = app.post("/Users", &body).await;
        assert_eq!(reply.body["scimType"], scim_type, "{body}: {}", reply.body);
        reply.assert_error(400, Some(scim_type));
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn a_rejected_put_changes_nothing() {
    let app = spawn_app().await;
    let id = app.create_user("keep").await;
    let before = app.get(&format!("/Users/{id}")).await.body;
    let reply = app
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "keep", "title": 7}),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, before);
}

#[tokio::test]
async fn bad_patch_requests() {
    let app = spawn_app().await;
    let id = app.create_user("p").await;
    let path = format!("/Users/{id}");
    let cases = [
        (
            json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}),
            "invalidSyntax",
        ),
        (
            patch_ops(json!([{"op": "move", "path": "title", "value": "x"}])),
            "invalidSyntax",
        ),
        (
            patch_ops(json!([{"op": "add", "path": "title"}])),
            "invalidValue",
        ),
        (patch_ops(json!([{"op": "remove"}])), "noTarget"),
        (
            patch_ops(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
            "invalidPath",
        ),
        (
            patch_ops(json!([{"op": "replace", "path": "groups", "value": []}])),
            "mutability",
        ),
        (
            patch_ops(
                json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "x"}}]),
            ),
            "noTarget",
        ),
    ];
    for (body, scim_type) in cases {
        app.patch(&path, &body)
            .await
            .assert_error(400, Some(scim_type));
    }
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let app = spawn_app_with(Options {
        body_limit: 1024,
        ..Options::default()
    })
    .await;
    let big = json!({"schemas": [USER_SCHEMA], "userName": "big", "title": "x".repeat(4096)});
    app.post("/Users", &big).await.assert_error(413, None);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn other_content_types_get_415() {
    let app = spawn_app().await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "x"})
        .to_string()
        .into_bytes();
    app.raw(Method::POST, "/Users", "text/plain", body)
        .await
        .assert_error(415, None);
}

#[tokio::test]
async fn bad_filters_and_paging_parameters() {
    let app = spawn_app().await;
    app.get("/Users?filter=userName%20eq")
        .await
        .assert_error(400, Some("invalidFilter"));
    app.get("/Users?filter=userName%20xx%20%22a%22")
        .await
        .assert_error(400, Some("invalidFilter"));
    app.get("/Users?count=many")
        .await
        .assert_error(400, Some("invalidValue"));
    let deep = format!("{}userName pr{}", "(".repeat(200), ")".repeat(200));
    let reply = app
        .get(&format!("/Users?filter={}", urlencode(&deep)))
        .await;
    reply.assert_error(400, Some("invalidFilter"));
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
