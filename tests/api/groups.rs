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

/// Only a path naming `members` (bare or with the Group schema's URN) changes membership;
/// a path to another attribute leaves the members as they are.
#[tokio::test]
async fn only_a_members_path_changes_membership() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let group = app.create_group("old", &[&a]).await;
    let path = format!("/Groups/{group}?attributes=displayName,externalId,members");
    for ops in [
        json!([{"op": "replace", "path": "displayName", "value": "new"}]),
        json!([{"op": "add", "path": "externalId", "value": "ext-1"}]),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "newer"}]),
    ] {
        let reply = app.patch(&path, &patch_ops(ops.clone())).await;
        assert_eq!(reply.status, 200, "{ops}: {}", reply.body);
        assert_eq!(member_ids(&reply.body), vec![a.clone()], "{ops}");
    }
    let reply = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(reply.body["displayName"], "newer");
    assert_eq!(reply.body["externalId"], "ext-1");
    let reply = app
        .patch(
            &path,
            &patch_ops(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members",
                                "value": [{"value": b}]}]),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut members = member_ids(&reply.body);
    members.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(members, expected);
}

/// A path-less `replace` carrying `members` replaces the member list, a path-less `add`
/// adds to it; the other attributes it carries apply, and members are never stored in the
/// group's document (they live in the membership table alone).
#[tokio::test]
async fn pathless_members_replace_or_add_and_stay_out_of_the_document() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let group = app.create_group("old", &[&a]).await;
    let path = format!("/Groups/{group}?attributes=displayName,members");
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([{"op": "replace", "value": {"displayName": "new", "members": [{"value": b}]}}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "new");
    assert_eq!(member_ids(&reply.body), vec![b.clone()]);
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([{"op": "add", "value": {"displayName": "newer", "members": [{"value": c}]}}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["displayName"], "newer");
    assert_eq!(sorted(member_ids(&reply.body)), sorted(vec![b, c]));

    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        has_members: bool,
    }
    let mut conn = app.pool.get().expect("connection");
    let stored: Stored = diesel::sql_query(
        "SELECT attributes ? 'members' AS has_members FROM groups WHERE tenant_id = $1 AND id = $2::uuid",
    )
    .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
    .bind::<diesel::sql_types::Text, _>(&group)
    .get_result(&mut conn)
    .expect("group");
    assert!(
        !stored.has_members,
        "members were written into the group's document"
    );
}

/// `remove` by a members filter removes exactly the members it selects, whether the filter
/// names ids or other member attributes; a path below a member value is immutable.
#[tokio::test]
async fn members_filters_select_exactly_and_member_values_are_immutable() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let fresh = |name: &'static str| {
        let (app, a, b, c) = (&app, a.clone(), b.clone(), c.clone());
        async move { app.create_group(name, &[&a, &b, &c]).await }
    };
    let remove = |group: String, path: String| {
        let app = &app;
        async move {
            let reply = app
                .patch(
                    &format!("/Groups/{group}?attributes=members"),
                    &patch_ops(json!([{"op": "remove", "path": path}])),
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let mut left = member_ids(&reply.body);
            left.sort();
            left
        }
    };
    let g = fresh("by-type").await;
    assert!(remove(g, r#"members[type eq "User"]"#.into())
        .await
        .is_empty());
    let g = fresh("id-or-type").await;
    assert!(
        remove(g, format!(r#"members[value eq "{a}" or type eq "User"]"#))
            .await
            .is_empty()
    );
    let g = fresh("two-ids").await;
    assert_eq!(
        remove(g, format!(r#"members[value eq "{a}" or value eq "{b}"]"#)).await,
        vec![c.clone()]
    );
    let g = fresh("not-one").await;
    let mut rest = vec![b.clone(), c.clone()];
    rest.sort();
    assert_eq!(
        remove(g.clone(), format!(r#"members[value eq "{a}"]"#)).await,
        rest
    );

    for path in [
        "members.value".to_string(),
        format!(r#"members[value eq "{b}"].value"#),
    ] {
        app.patch(
            &format!("/Groups/{g}"),
            &patch_ops(json!([{"op": "replace", "path": path, "value": a}])),
        )
        .await
        .assert_error(400, Some("mutability"));
    }
}

/// A membership change that changes nothing (adding a member already in, removing one not
/// in) leaves the group's version and the audit trail alone.
#[tokio::test]
async fn a_membership_patch_that_changes_nothing_is_no_change() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let group = app.create_group("g", &[&a]).await;
    let version = app.get(&format!("/Groups/{group}")).await.body["meta"]["version"].clone();
    let trail = app.audit_trail().len();
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
        json!([{"op": "remove", "path": "members", "value": [{"value": b}]}]),
        json!([{"op": "remove", "path": format!(r#"members[value eq "{b}"]"#)}]),
    ] {
        let reply = app
            .patch(&format!("/Groups/{group}"), &patch_ops(ops.clone()))
            .await;
        assert!(
            reply.status == 200 || reply.status == 204,
            "{ops}: {}",
            reply.body
        );
        let now = app.get(&format!("/Groups/{group}")).await;
        assert_eq!(now.body["meta"]["version"], version, "{ops}");
        assert_eq!(member_ids(&now.body), vec![a.clone()]);
    }
    assert_eq!(
        app.audit_trail().len(),
        trail,
        "no audit entry for no change"
    );
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
