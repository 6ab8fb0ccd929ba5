//! The SCIM dialects Microsoft Entra ID and Okta send, item by item.

use serde_json::{json, Value};

use crate::helpers::{
    member_ids, patch_ops, spawn_app, TestApp, ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA,
};

const MS_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

async fn user(app: &TestApp, body: Value) -> (String, Value) {
    let reply = app.post("/Users", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (reply.id(), reply.body)
}

#[tokio::test]
async fn entra_capitalised_ops_on_users_and_groups() {
    let app = spawn_app().await;
    let id = app.create_user("caps").await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([
                {"op": "Add", "path": "title", "value": "Boss"},
                {"op": "Replace", "path": "nickName", "value": "B"},
                {"op": "Remove", "path": "title"},
                {"op": "REPLACE", "path": "displayName", "value": "Caps"},
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        (
            reply.body["nickName"].clone(),
            reply.body.get("title").cloned()
        ),
        (json!("B"), None)
    );
    let group = app.create_group("g", &[]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([
                {"op": "Add", "path": "members", "value": [{"value": id}]},
                {"op": "Replace", "path": "displayName", "value": "G"},
            ])),
        )
        .await;
    assert_eq!(reply.status, 204);
    let g = app.get(&format!("/Groups/{group}")).await.body;
    assert_eq!(
        (g["displayName"].clone(), member_ids(&g)),
        (json!("G"), vec![id])
    );
}

#[tokio::test]
async fn entra_string_booleans() {
    let app = spawn_app().await;
    let (id, body) = user(
        &app,
        json!({"schemas": [USER_SCHEMA], "userName": "b", "active": "True",
        "emails": [{"value": "b@x", "primary": "true"}]}),
    )
    .await;
    assert_eq!(
        (body["active"].clone(), body["emails"][0]["primary"].clone()),
        (json!(true), json!(true))
    );
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(reply.body["active"], false);
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "Replace", "value": {"active": "TRUE"}}])),
        )
        .await;
    assert_eq!(reply.body["active"], true);
    app.patch(
        &format!("/Users/{id}"),
        &patch_ops(json!([{"op": "Replace", "path": "active", "value": "Nope"}])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let app = spawn_app().await;
    let id = app.create_user("dotted").await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "Replace", "value": {
                "name.givenName": "Barbara",
                "name.familyName": "Jensen",
                (format!("{ENTERPRISE_SCHEMA}:employeeNumber")): "42",
                (format!("{ENTERPRISE_SCHEMA}:manager")): {"value": "m-1"},
                "emails[type eq \"work\"].value": "b@work.example"
            }}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen"})
    );
    assert_eq!(
        reply.body[ENTERPRISE_SCHEMA],
        json!({"employeeNumber": "42", "manager": {"value": "m-1"}})
    );
    assert_eq!(
        reply.body["emails"],
        json!([{"type": "work", "value": "b@work.example"}])
    );
    let group = app.create_group("old", &[]).await;
    let reply = app
        .patch(
            &format!("/Groups/{group}"),
            &patch_ops(json!([{"op": "Replace", "value": {"displayName": "new"}}])),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        app.get(&format!("/Groups/{group}")).await.body["displayName"],
        "new"
    );
}

#[tokio::test]
async fn entra_add_on_a_filtered_path_creates_the_value() {
    let app = spawn_app().await;
    let (id, _) = user(&app, json!({"schemas": [USER_SCHEMA], "userName": "f", "emails": [{"value": "h@home", "type": "home"}]})).await;
    let path = format!("/Users/{id}");
    let reply = app
        .patch(
            &path,
            &patch_ops(
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@work"}]),
            ),
        )
        .await;
    assert_eq!(
        reply.body["emails"],
        json!([{"type": "home", "value": "h@home"}, {"type": "work", "value": "w@work"}])
    );
    // Applied again, it updates the value it created instead of adding another.
    let reply = app.patch(&path, &patch_ops(json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w2@work"}]))).await;
    assert_eq!(
        reply.body["emails"][1],
        json!({"type": "work", "value": "w2@work"})
    );
    assert_eq!(reply.body["emails"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn entra_manager_as_a_bare_string() {
    let app = spawn_app().await;
    let boss = app.create_user("boss").await;
    let (id, body) = user(&app, json!({"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "userName": "emp", ENTERPRISE_SCHEMA: {"manager": boss}})).await;
    assert_eq!(body[ENTERPRISE_SCHEMA]["manager"]["value"], boss);
    let other = app.create_user("other-boss").await;
    let reply = app
        .patch(&format!("/Users/{id}"), &patch_ops(json!([{"op": "Add", "path": format!("{ENTERPRISE_SCHEMA}:manager"), "value": other}])))
        .await;
    assert_eq!(
        reply.body[ENTERPRISE_SCHEMA]["manager"],
        json!({"value": other})
    );
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "Remove", "path": format!("{ENTERPRISE_SCHEMA}:manager")}])),
        )
        .await;
    assert!(
        reply.body.get(ENTERPRISE_SCHEMA).is_none(),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn entra_member_removals_and_several_changes_in_one_patch() {
    let app = spawn_app().await;
    let a = app.create_user("a").await;
    let b = app.create_user("b").await;
    let c = app.create_user("c").await;
    let group = app.create_group("g", &[&a, &b, &c]).await;
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(
            &path,
            &patch_ops(
                json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": a}]}]),
            ),
        )
        .await;
    assert_eq!(reply.status, 204);
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([{"op": "Remove", "path": format!("members[value eq \"{b}\"]")}])),
        )
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(member_ids(&app.get(&path).await.body), vec![c.clone()]);
    let reply = app
        .patch(
            &path,
            &patch_ops(json!([
                {"op": "Add", "path": "members", "value": [{"$ref": null, "value": a}]},
                {"op": "Add", "path": "members", "value": [{"$ref": null, "value": b}]},
                {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": c}]},
            ])),
        )
        .await;
    assert_eq!(reply.status, 204);
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(member_ids(&app.get(&path).await.body), expected);
}

#[tokio::test]
async fn entra_extra_schema_uris_in_group_bodies() {
    let app = spawn_app().await;
    let reply = app
        .post("/Groups", &json!({"schemas": [GROUP_SCHEMA, MS_GROUP_SCHEMA], "displayName": "ms", "externalId": "e", "members": []}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.id();
    let reply = app
        .put(
            &format!("/Groups/{id}"),
            &json!({"schemas": [MS_GROUP_SCHEMA, GROUP_SCHEMA], "displayName": "ms2"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["schemas"], json!([GROUP_SCHEMA]));
}

#[tokio::test]
async fn entra_test_connection_finds_nothing_without_error() {
    let app = spawn_app().await;
    for path in [
        "/Users?filter=userName%20eq%20%227f3e2c1a-0000-4b1a-9c2d-123456789abc%22",
        "/Groups?filter=displayName%20eq%20%227f3e2c1a-0000-4b1a-9c2d-123456789abc%22",
        "/Users?filter=id%20eq%20%22not-an-id%22",
    ] {
        let reply = app.get(path).await;
        assert_eq!(
            (reply.status, reply.body["totalResults"].clone()),
            (200, json!(0)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn deprovisioned_users_stay_readable_and_filterable() {
    let app = spawn_app().await;
    let id = app.create_user("leaver").await;
    app.create_user("stayer").await;
    app.patch(
        &format!("/Users/{id}"),
        &patch_ops(json!([{"op": "Replace", "path": "active", "value": false}])),
    )
    .await;
    assert_eq!(app.get(&format!("/Users/{id}")).await.body["active"], false);
    let inactive = app.get("/Users?filter=active%20eq%20false").await.body;
    assert_eq!(
        (
            inactive["totalResults"].clone(),
            inactive["Resources"][0]["id"].clone()
        ),
        (json!(1), json!(id))
    );
    assert_eq!(
        app.get("/Users?filter=userName%20eq%20%22leaver%22")
            .await
            .body["totalResults"],
        1
    );
}

#[tokio::test]
async fn empty_strings_and_nulls_clear_attributes() {
    let app = spawn_app().await;
    let (id, _) = user(
        &app,
        json!({"schemas": [USER_SCHEMA], "userName": "clear", "title": "t", "nickName": "n",
        "name": {"givenName": "g", "familyName": "f"}, "externalId": "x"}),
    )
    .await;
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([
                {"op": "Replace", "path": "title", "value": ""},
                {"op": "Replace", "path": "nickName", "value": null},
                {"op": "Replace", "path": "name.givenName", "value": ""},
                {"op": "Replace", "value": {"externalId": ""}},
            ])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for gone in ["title", "nickName", "externalId"] {
        assert!(reply.body.get(gone).is_none(), "{gone}: {}", reply.body);
    }
    assert_eq!(reply.body["name"], json!({"familyName": "f"}));
    let group = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "g", "externalId": "e"}),
        )
        .await
        .id();
    app.patch(
        &format!("/Groups/{group}"),
        &patch_ops(json!([{"op": "Replace", "path": "externalId", "value": ""}])),
    )
    .await;
    assert!(app
        .get(&format!("/Groups/{group}"))
        .await
        .body
        .get("externalId")
        .is_none());
}

#[tokio::test]
async fn okta_lookup_create_put_deactivate() {
    let app = spawn_app().await;
    let lookup = app
        .get("/Users?filter=userName%20eq%20%22okta%40example.com%22&startIndex=1&count=100")
        .await
        .body;
    assert_eq!(
        lookup,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    let profile = json!({"schemas": [USER_SCHEMA], "userName": "okta@example.com", "name": {"givenName": "O", "familyName": "K"},
        "emails": [{"primary": true, "value": "okta@example.com", "type": "work"}], "displayName": "O K", "locale": "en-US",
        "externalId": "00u1", "groups": [], "password": "secret-Pa55", "active": true});
    let (id, created) = user(&app, profile.clone()).await;
    assert!(created.get("password").is_none());
    app.post("/Users", &profile)
        .await
        .assert_error(409, Some("uniqueness"));
    let mut updated = profile.clone();
    updated["id"] = json!(id);
    updated["name"]["familyName"] = json!("Kay");
    let reply = app.put(&format!("/Users/{id}"), &updated).await;
    assert_eq!(
        (reply.status, reply.body["name"]["familyName"].clone()),
        (200, json!("Kay"))
    );
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(reply.body["active"], false);
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            &patch_ops(json!([{"op": "replace", "value": {"password": "new-Pa55"}}])),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("password").is_none());
}

#[tokio::test]
async fn okta_push_groups() {
    let app = spawn_app().await;
    let a = app.create_user("a@example.com").await;
    let b = app.create_user("b@example.com").await;
    let reply = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Push", "members": []}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let group = reply.id();
    let path = format!("/Groups/{group}");
    let reply = app
        .patch(&path, &patch_ops(json!([
            {"op": "replace", "value": {"id": group, "displayName": "Pushed"}},
            {"op": "add", "path": "members", "value": [{"value": a, "display": "a@example.com"}]},
        ])))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = app
        .patch(&path, &patch_ops(json!([
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
            {"op": "add", "path": "members", "value": [{"value": b, "display": "b@example.com"}]},
        ])))
        .await;
    assert_eq!(reply.status, 204);
    let g = app.get(&path).await.body;
    assert_eq!(
        (g["displayName"].clone(), member_ids(&g)),
        (json!("Pushed"), vec![b.clone()])
    );
    let reply = app.patch(&path, &patch_ops(json!([{"op": "replace", "path": "members", "value": [{"value": a, "display": "a"}]}]))).await;
    assert_eq!(reply.status, 204);
    assert_eq!(member_ids(&app.get(&path).await.body), vec![a.clone()]);
    let reply = app.put(&path, &json!({"schemas": [GROUP_SCHEMA], "id": group, "displayName": "Pushed", "members": [{"value": b, "display": "b"}]})).await;
    assert_eq!((reply.status, member_ids(&reply.body)), (200, vec![b]));
}

#[tokio::test]
async fn okta_paging_has_integer_fields_and_a_stable_order() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let page = app
            .get(&format!("/Users?startIndex={start}&count=2"))
            .await
            .body;
        assert!(
            page["totalResults"].is_u64()
                && page["startIndex"].is_u64()
                && page["itemsPerPage"].is_u64()
        );
        assert_eq!(page["startIndex"], start);
        seen.extend(
            page["Resources"]
                .as_array()
                .expect("page")
                .iter()
                .map(|u| u["userName"].clone()),
        );
    }
    let all: Vec<Value> = (0..5).map(|i| json!(format!("u{i}@example.com"))).collect();
    assert_eq!(seen, all);
}
