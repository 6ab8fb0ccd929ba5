use serde_json::json;

use crate::helpers::{member_ids, patch_ops, spawn_app, GROUP_SCHEMA};
use crate::redacted_snapshot;

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn create_and_get_a_group_with_members() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let reply = app
        .post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": "Admins", "externalId": "entra-123", "members": [{"value": alice, "type": "User"}]}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.id();
    assert_eq!(
        reply.header("location"),
        Some(format!("{}/Groups/{id}", app.base).as_str())
    );
    redacted_snapshot!(reply.body);
    let fetched = app.get(&format!("/Groups/{id}")).await;
    assert_eq!(member_ids(&fetched.body), vec![alice.clone()]);
    assert_eq!(
        fetched.body["members"][0]["$ref"],
        format!("{}/Users/{alice}", app.base)
    );
    let without = app
        .get(&format!("/Groups/{id}?excludedAttributes=members"))
        .await;
    assert!(without.body.get("members").is_none());
    assert_eq!(without.body["displayName"], "Admins");
}

#[tokio::test]
async fn members_must_be_users_of_the_tenant() {
    let app = spawn_app().await;
    let group = app.create_group("g", &[]).await;
    for member in [
        json!({"value": "not-a-uuid"}),
        json!({"value": uuid::Uuid::new_v4()}),
        json!({"value": group.clone(), "type": "Group"}),
    ] {
        let reply = app
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [member]}),
            )
            .await;
        reply.assert_error(400, Some("invalidValue"));
        let reply = app
            .patch(
                &format!("/Groups/{group}"),
                &patch_ops(json!([{"op": "add", "path": "members", "value": [member]}])),
            )
            .await;
        reply.assert_error(400, Some("invalidValue"));
    }
    assert_eq!(app.get("/Groups").await.body["totalResults"], 1);
}

#[tokio::test]
async fn patch_adds_and_removes_members_in_every_form() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let d = app.create_user("d").await;
    let group = app.create_group("g", &[&a]).await;
    let path = format!("/Groups/{group}");

    let reply = app.patch(&path, &patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": b}, {"value": c}, {"value": d}]}]))).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        member_ids(&app.get(&path).await.body),
        sorted(&[&a, &b, &c, &d])
    );

    // Remove by value filter, by value list, and several changes in one request.
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([
                {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
                {"op": "Remove", "path": "members", "value": [{"value": b}]},
            ])),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(member_ids(&app.get(&path).await.body), sorted(&[&c, &d]));

    // Replace the whole membership, then remove everyone.
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([{"op": "replace", "path": "members", "value": [{"value": a}]}])),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(member_ids(&app.get(&path).await.body), vec![a.clone()]);
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([{"op": "remove", "path": "members"}])),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert!(app.get(&path).await.body.get("members").is_none());
}

#[tokio::test]
async fn patch_renames_and_returns_the_resource_when_asked() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let group = app.create_group("old", &[]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}?attributes=displayName,members"),
            &patch_ops(json!([{"op": "replace", "value": {"displayName": "new", "members": [{"value": a}]}}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "new");
    assert_eq!(member_ids(&reply.body), vec![a]);
    assert!(reply.body.get("meta").is_none());
}

#[tokio::test]
async fn put_replaces_name_and_members() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let group = app.create_group("g", &[&a]).await;
    let reply = app
        .put(&format!("/Groups/{group}"), &json!({"schemas": [GROUP_SCHEMA], "displayName": "renamed", "members": [{"value": b}]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "renamed");
    assert_eq!(member_ids(&reply.body), vec![b]);
    redacted_snapshot!(reply.body);
}

#[tokio::test]
async fn delete_a_group_keeps_its_users() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let group = app.create_group("g", &[&a]).await;
    assert_eq!(app.delete(&format!("/Groups/{group}")).await.status, 204);
    app.get(&format!("/Groups/{group}"))
        .await
        .assert_error(404, None);
    let user = app.get(&format!("/Users/{a}")).await;
    assert_eq!(user.status, 200);
    assert!(user.body.get("groups").is_none());
}

#[tokio::test]
async fn group_etags_change_with_membership_and_guard_writes() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let created = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "e"}),
        )
        .await;
    let id = created.id();
    let first = created.header("etag").expect("etag").to_string();
    let path = format!("{}/Groups/{id}", app.base);
    let body =
        patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": a}]}])).to_string();
    let patched = app
        .client
        .patch(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &first)
        .header("Content-Type", "application/scim+json")
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(patched.status(), 204);
    let second = patched
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_string();
    assert_ne!(first, second, "a membership change is a new version");
    let stale = app
        .client
        .patch(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &first)
        .header("Content-Type", "application/scim+json")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(stale.status(), 412);
    let cached = app
        .client
        .get(&path)
        .bearer_auth(&app.token)
        .header("If-None-Match", &second)
        .send()
        .await
        .expect("answer");
    assert_eq!(cached.status(), 304);
    let delete = app
        .client
        .delete(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &first)
        .send()
        .await
        .expect("answer");
    assert_eq!(delete.status(), 412);
    let delete = app
        .client
        .delete(&path)
        .bearer_auth(&app.token)
        .header("If-Match", &second)
        .send()
        .await
        .expect("answer");
    assert_eq!(delete.status(), 204);
}
