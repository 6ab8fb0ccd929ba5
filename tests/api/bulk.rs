use serde_json::{json, Value};

use crate::helpers::{
    spawn_app, spawn_app_with, Options, ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA,
};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn user(bulk_id: &str, name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"schemas": [USER_SCHEMA], "userName": name}})
}

fn statuses(reply: &Value) -> Vec<String> {
    reply["Operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o["status"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn bulk_resolves_backward_and_forward_references() {
    let app = spawn_app().await;
    let request = json!({
        "schemas": [BULK],
        "Operations": [
            user("alice", "alice"),
            // The group names one user created before it and one created after it.
            {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {"schemas": [GROUP_SCHEMA], "displayName": "Team",
                "members": [{"type": "User", "value": "bulkId:alice"}, {"type": "User", "value": "bulkId:bob"}]}},
            user("bob", "bob"),
            {"method": "PATCH", "path": "/Users/bulkId:bob", "data": {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "add", "path": "title", "value": "Builder"}]}},
            {"method": "PUT", "path": "/Groups/bulkId:team", "version": null, "data": {"schemas": [GROUP_SCHEMA], "displayName": "Team B",
                "members": [{"value": "bulkId:alice"}, {"value": "bulkId:bob"}]}},
        ]
    });
    let reply = app.post("/Bulk", &request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    assert_eq!(statuses(&reply.body), ["201", "201", "201", "200", "200"]);
    let ops = reply.body["Operations"].as_array().expect("operations");
    assert_eq!(ops[1]["bulkId"], "team");
    let group_location = ops[1]["location"].as_str().expect("location");
    let group = app.get(group_location).await.body;
    assert_eq!(group["displayName"], "Team B");
    assert_eq!(group["members"].as_array().map(Vec::len), Some(2));
    let bob = app
        .get(ops[2]["location"].as_str().expect("location"))
        .await
        .body;
    assert_eq!(bob["title"], "Builder");
    assert_eq!(ops[3]["version"], bob["meta"]["version"]);
}

#[tokio::test]
async fn bulk_reports_each_failure_and_honours_fail_on_errors() {
    let app = spawn_app().await;
    app.create_user("taken").await;
    let operations = json!([
        user("a", "taken"),
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": "bulkId:a"}]}},
        {"method": "DELETE", "path": "/Users/not-there"},
        user("d", "fresh"),
    ]);
    let reply = app
        .post(
            "/Bulk",
            &json!({"schemas": [BULK], "Operations": operations}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(statuses(&reply.body), ["409", "409", "404", "201"]);
    assert_eq!(
        reply.body["Operations"][0]["response"]["scimType"],
        "uniqueness"
    );
    assert_eq!(reply.body["Operations"][0]["response"]["status"], "409");

    let reply = app
        .post(
            "/Bulk",
            &json!({"schemas": [BULK], "failOnErrors": 1, "Operations": operations}),
        )
        .await;
    assert_eq!(statuses(&reply.body), ["409"]);
    // "fresh" existed after the first request; nothing after the first error ran.
    assert_eq!(app.get("/Users").await.body["totalResults"], 2);
}

#[tokio::test]
async fn circular_and_unknown_references_fail() {
    let app = spawn_app().await;
    let manager = |id: &str, name: &str, boss: &str| {
        json!({"method": "POST", "path": "/Users", "bulkId": id, "data": {"schemas": [USER_SCHEMA], "userName": name,
            ENTERPRISE_SCHEMA: {"manager": {"value": format!("bulkId:{boss}")}}}})
    };
    let reply = app
        .post("/Bulk", &json!({"schemas": [BULK], "Operations": [manager("x", "x", "y"), manager("y", "y", "x"), manager("z", "z", "nobody")]}))
        .await;
    assert_eq!(statuses(&reply.body), ["409", "409", "409"]);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn bulk_limits_are_enforced_with_413() {
    let app = spawn_app_with(Options {
        body_limit: 4096,
        ..Options::default()
    })
    .await;
    let config = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(config["bulk"]["supported"], true);
    assert_eq!(config["bulk"]["maxPayloadSize"], 4096);
    let max = config["bulk"]["maxOperations"]
        .as_u64()
        .expect("maxOperations") as usize;

    let too_many: Vec<Value> = (0..=max)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let body = json!({"schemas": [BULK], "Operations": too_many})
        .to_string()
        .into_bytes();
    let big_app = spawn_app_with(Options {
        body_limit: 1 << 20,
        ..Options::default()
    })
    .await;
    let reply = big_app
        .raw(
            reqwest::Method::POST,
            "/Bulk",
            "application/scim+json",
            body,
        )
        .await;
    reply.assert_error(413, None);

    let large: Vec<Value> = (0..60)
        .map(|i| user(&format!("u{i}"), &format!("user-with-a-longish-name-{i}")))
        .collect();
    app.post("/Bulk", &json!({"schemas": [BULK], "Operations": large}))
        .await
        .assert_error(413, None);
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);

    app.post("/Bulk", &json!({"Operations": []}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let duplicate =
        json!({"schemas": [BULK], "Operations": [user("same", "a"), user("same", "b")]});
    app.post("/Bulk", &duplicate)
        .await
        .assert_error(400, Some("invalidValue"));
}
