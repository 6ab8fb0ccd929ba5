use serde_json::json;

use crate::helpers::{patch_ops, spawn_app, ENTERPRISE_SCHEMA, USER_SCHEMA};
use crate::redacted_snapshot;

fn barbara() -> serde_json::Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": "BJensen@example.com",
        "externalId": "bjensen-ext",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        ENTERPRISE_SCHEMA: {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
    })
}

#[tokio::test]
async fn create_returns_201_with_location_meta_and_etag() {
    let app = spawn_app().await;
    let reply = app.post("/Users", &barbara()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    let id = reply.id();
    let location = format!("{}/Users/{id}", app.base);
    assert_eq!(reply.header("location"), Some(location.as_str()));
    assert_eq!(reply.body["meta"]["location"], location);
    assert_eq!(reply.body["meta"]["resourceType"], "User");
    assert_eq!(reply.header("etag"), reply.body["meta"]["version"].as_str());
    redacted_snapshot!(reply.body);
}

#[tokio::test]
async fn get_returns_the_stored_user_with_its_groups() {
    let app = spawn_app().await;
    let id = app.post("/Users", &barbara()).await.id();
    app.create_group("Tour Guides", &[&id]).await;
    let reply = app.get(&format!("/Users/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["userName"], "BJensen@example.com");
    assert_eq!(reply.body["groups"][0]["display"], "Tour Guides");
    assert_eq!(reply.body["groups"][0]["type"], "direct");
    redacted_snapshot!(reply.body);
}

#[tokio::test]
async fn json_content_type_is_accepted_too() {
    let app = spawn_app().await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "plain-json"})
        .to_string()
        .into_bytes();
    let reply = app
        .raw(
            reqwest::Method::POST,
            "/Users",
            "application/json; charset=utf-8",
            body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case_and_keeps_its_case() {
    let app = spawn_app().await;
    app.create_user("Alice@Example.com").await;
    let reply = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "alice@example.COM"}),
        )
        .await;
    reply.assert_error(409, Some("uniqueness"));
    let list = app.get("/Users").await;
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["Resources"][0]["userName"], "Alice@Example.com");

    // Renaming another user onto the name is refused the same way, by PUT and by PATCH.
    let bob = app.create_user("bob").await;
    let put = app
        .put(
            &format!("/Users/{bob}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "ALICE@example.com"}),
        )
        .await;
    put.assert_error(409, Some("uniqueness"));
    let patch = app
        .patch(
            &format!("/Users/{bob}"),
            &patch_ops(
                json!([{"op": "replace", "path": "userName", "value": "alice@EXAMPLE.com"}]),
            ),
        )
        .await;
    patch.assert_error(409, Some("uniqueness"));
    assert_eq!(
        app.get(&format!("/Users/{bob}")).await.body["userName"],
        "bob"
    );
}

#[tokio::test]
async fn put_replaces_every_attribute_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app.post("/Users", &barbara()).await;
    let id = created.id();
    let reply = app
        .put(
            &format!("/Users/{id}"),
            &json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "title": "Tour Guide"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["title"], "Tour Guide");
    assert!(
        reply.body.get("emails").is_none(),
        "PUT replaces: {}",
        reply.body
    );
    assert!(reply.body.get(ENTERPRISE_SCHEMA).is_none());
    assert_ne!(
        reply.body["meta"]["version"],
        created.body["meta"]["version"]
    );
    assert_eq!(
        reply.body["meta"]["created"],
        created.body["meta"]["created"]
    );
    redacted_snapshot!(reply.body);
}

#[tokio::test]
async fn patch_add_replace_remove_with_and_without_paths() {
    let app = spawn_app().await;
    let id = app.post("/Users", &barbara()).await.id();
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([
                {"op": "add", "path": "nickName", "value": "Babs"},
                {"op": "replace", "path": "name.givenName", "value": "Barb"},
                {"op": "remove", "path": "phoneNumbers"},
                {"op": "add", "value": {"title": "Manager", "emails": [{"value": "home@example.com", "type": "home"}]}},
                {"op": "replace", "value": {"displayName": "Barb J", (format!("{ENTERPRISE_SCHEMA}:department")): "Sales"}},
                {"op": "remove", "path": format!("{ENTERPRISE_SCHEMA}:manager")},
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let user = app.get(&format!("/Users/{id}")).await.body;
    assert_eq!(user["nickName"], "Babs");
    assert_eq!(user["name"]["givenName"], "Barb");
    assert_eq!(user["name"]["familyName"], "Jensen");
    assert!(user.get("phoneNumbers").is_none());
    assert_eq!(user["title"], "Manager");
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(user["displayName"], "Barb J");
    assert_eq!(user[ENTERPRISE_SCHEMA]["department"], "Sales");
    assert!(user[ENTERPRISE_SCHEMA].get("manager").is_none());
    redacted_snapshot!(user);
}

#[tokio::test]
async fn a_failing_patch_changes_nothing() {
    let app = spawn_app().await;
    let id = app.post("/Users", &barbara()).await.id();
    let before = app.get(&format!("/Users/{id}")).await.body;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([
                {"op": "replace", "path": "title", "value": "Changed"},
                {"op": "replace", "path": "nosuchattribute", "value": "x"},
            ])),
        )
        .await;
    reply.assert_error(400, Some("invalidPath"));
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, before);
}

#[tokio::test]
async fn deactivated_users_stay_readable() {
    let app = spawn_app().await;
    let id = app.create_user("leaver").await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);
}

#[tokio::test]
async fn delete_removes_the_user_and_its_memberships() {
    let app = spawn_app().await;
    let id = app.create_user("gone").await;
    let group = app.create_group("g", &[&id]).await;
    let group_etag = app
        .get(&format!("/Groups/{group}"))
        .await
        .header("etag")
        .unwrap_or_default()
        .to_string();
    let reply = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(reply.status, 204);
    app.get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    app.delete(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
    let group = app.get(&format!("/Groups/{group}")).await;
    assert!(group.body.get("members").is_none());
    assert_ne!(
        group.header("etag"),
        Some(group_etag.as_str()),
        "the group's member list changed"
    );
}

#[tokio::test]
async fn etags_guard_writes_and_save_reads() {
    let app = spawn_app().await;
    let created = app.post("/Users", &barbara()).await;
    let id = created.id();
    let etag = created.header("etag").expect("etag").to_string();
    let path = format!("{}/Users/{id}", app.base);

    let not_modified = app
        .client
        .get(&path)
        .bearer_auth(&app.token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("answer");
    assert_eq!(not_modified.status(), 304);

    let body = patch_ops(json!([{"op": "replace", "path": "title", "value": "x"}])).to_string();
    let stale = app
        .client
        .patch(&path)
        .bearer_auth(&app.token)
        .header("If-Match", "W/\"999\"")
        .header("Content-Type", "application/scim+json")
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(stale.status(), 412);
    let fresh = app
        .client
        .patch(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &etag)
        .header("Content-Type", "application/scim+json")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(fresh.status(), 200);
    let new_etag = fresh
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_ne!(new_etag.as_deref(), Some(etag.as_str()));
    let delete_stale = app
        .client
        .delete(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &etag)
        .send()
        .await
        .expect("answer");
    assert_eq!(delete_stale.status(), 412);
}

#[tokio::test]
async fn projection_on_get() {
    let app = spawn_app().await;
    let id = app.post("/Users", &barbara()).await.id();
    let only = app
        .get(&format!("/Users/{id}?attributes=userName,name.givenName"))
        .await
        .body;
    assert_eq!(
        only,
        json!({"schemas": only["schemas"], "id": id, "userName": "BJensen@example.com", "name": {"givenName": "Barbara"}})
    );
    let without = app
        .get(&format!(
            "/Users/{id}?excludedAttributes=emails,{ENTERPRISE_SCHEMA}:department"
        ))
        .await
        .body;
    assert!(without.get("emails").is_none());
    assert!(without[ENTERPRISE_SCHEMA].get("department").is_none());
    assert_eq!(without[ENTERPRISE_SCHEMA]["employeeNumber"], "701984");
}
