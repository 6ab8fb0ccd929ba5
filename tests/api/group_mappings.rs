use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{patch_ops, spawn_app, TestApp};

async fn end_user_group(app: &TestApp, environment: &str, name: &str) -> String {
    let reply = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": environment, "name": name})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

/// (group name, via, IdP group name) of every path, sorted.
fn paths(reply: &Value) -> Vec<(String, String, Option<String>)> {
    let mut all: Vec<(String, String, Option<String>)> = reply["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| {
            (
                m["end_user_group_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                m["via"].as_str().unwrap_or_default().to_string(),
                m["idp_group_name"].as_str().map(str::to_string),
            )
        })
        .collect();
    all.sort();
    all
}

/// An Entra group mapped into the Marketing group of Production makes its members
/// Marketing members at once; removing the mapping removes only what it granted.
#[tokio::test]
async fn mapped_idp_groups_grant_membership_and_unmapping_revokes_only_that() {
    let app = spawn_app().await;
    let production =
        app.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"].clone();
    let production = production.as_str().expect("id").to_string();
    let dev = app
        .admin(
            Method::POST,
            "/environments",
            Some(&json!({"name": "Development"})),
        )
        .await
        .body["id"]
        .clone();
    let dev = dev.as_str().expect("id").to_string();
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let entra = app.create_group("Entra Marketing", &[&ann, &bob]).await;
    let marketing = end_user_group(&app, &production, "Marketing").await;
    let marketing_dev = end_user_group(&app, &dev, "Marketing").await;
    // Ann is also a direct member.
    app.admin(
        Method::POST,
        &format!("/end-user-groups/{marketing}/members"),
        Some(&json!({"users": [ann]})),
    )
    .await;

    for target in [&marketing, &marketing_dev] {
        let mapped = app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": entra, "end_user_group_id": target})),
            )
            .await;
        assert_eq!(mapped.status, 201, "{}", mapped.body);
    }
    app.admin(
        Method::POST,
        "/group-mappings",
        Some(&json!({"idp_group_id": entra, "end_user_group_id": marketing})),
    )
    .await
    .assert_problem(409);
    let ann_paths = paths(
        &app.admin(Method::GET, &format!("/users/{ann}/end-user-groups"), None)
            .await
            .body,
    );
    assert_eq!(
        ann_paths,
        [
            ("Marketing".to_string(), "direct".to_string(), None),
            (
                "Marketing".to_string(),
                "idp_group".to_string(),
                Some("Entra Marketing".to_string())
            ),
            (
                "Marketing".to_string(),
                "idp_group".to_string(),
                Some("Entra Marketing".to_string())
            ),
        ]
    );
    // A SCIM membership change applies at once.
    let carl = app.create_user("carl").await;
    app.patch(
        &format!("/Groups/{entra}"),
        &patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": carl}]}])),
    )
    .await;
    assert_eq!(
        paths(
            &app.admin(Method::GET, &format!("/users/{carl}/end-user-groups"), None)
                .await
                .body
        )
        .len(),
        2
    );
    // Renaming the IdP group keeps the mapping (keyed by id, not name).
    app.patch(
        &format!("/Groups/{entra}"),
        &patch_ops(json!([{"op": "replace", "path": "displayName", "value": "Entra Mktg"}])),
    )
    .await;
    assert_eq!(
        app.admin(
            Method::GET,
            &format!("/group-mappings?idp_group_id={entra}"),
            None
        )
        .await
        .body["group_mappings"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // Unmapping Production's group leaves Ann's direct membership and the Development mapping.
    let deleted = app
        .admin(
            Method::DELETE,
            &format!("/group-mappings/{entra}/{marketing}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let ann_after = paths(
        &app.admin(Method::GET, &format!("/users/{ann}/end-user-groups"), None)
            .await
            .body,
    );
    assert_eq!(ann_after.len(), 2);
    assert!(ann_after.contains(&("Marketing".to_string(), "direct".to_string(), None)));
    let bob_after = app
        .admin(Method::GET, &format!("/users/{bob}/end-user-groups"), None)
        .await
        .body;
    assert_eq!(bob_after["memberships"].as_array().map(Vec::len), Some(1));
    assert_eq!(bob_after["memberships"][0]["environment_id"], json!(dev));
    app.admin(
        Method::DELETE,
        &format!("/group-mappings/{entra}/{marketing}"),
        None,
    )
    .await
    .assert_problem(404);
}

#[tokio::test]
async fn mappings_need_groups_of_the_tenant() {
    let app = spawn_app().await;
    let production =
        app.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"].clone();
    let marketing = end_user_group(&app, production.as_str().expect("id"), "Marketing").await;
    let idp = app.create_group("idp", &[]).await;
    for body in [
        json!({"idp_group_id": uuid::Uuid::new_v4(), "end_user_group_id": marketing}),
        json!({"idp_group_id": idp, "end_user_group_id": uuid::Uuid::new_v4()}),
        json!({"idp_group_id": idp}),
    ] {
        app.admin(Method::POST, "/group-mappings", Some(&body))
            .await
            .assert_problem(400);
    }
    let other = app.other_tenant_admin_token();
    app.admin_as(
        Some(&other),
        Method::POST,
        "/group-mappings",
        Some(&json!({"idp_group_id": idp, "end_user_group_id": marketing})),
    )
    .await
    .assert_problem(400);
    app.admin(
        Method::GET,
        &format!("/users/{}/end-user-groups", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .assert_problem(404);
    // Deleting the SCIM group removes its mappings.
    app.admin(
        Method::POST,
        "/group-mappings",
        Some(&json!({"idp_group_id": idp, "end_user_group_id": marketing})),
    )
    .await;
    app.delete(&format!("/Groups/{idp}")).await;
    let left = app.admin(Method::GET, "/group-mappings", None).await.body;
    assert_eq!(left["group_mappings"].as_array().map(Vec::len), Some(0));
}

/// Creating a mapping is audited with the mapping after and nothing before; deleting it with
/// the mapping before and nothing after.
#[tokio::test]
async fn a_mapping_is_audited_as_created_then_deleted() {
    let app = spawn_app().await;
    let production =
        app.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"].clone();
    let production = production.as_str().expect("id").to_string();
    let entra = app.create_group("Entra Sales", &[]).await;
    let sales = end_user_group(&app, &production, "Sales").await;
    let mapping = json!({"idp_group_id": entra, "end_user_group_id": sales});
    let reply = app
        .admin(Method::POST, "/group-mappings", Some(&mapping))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = app
        .admin(
            Method::DELETE,
            &format!("/group-mappings/{entra}/{sales}"),
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let entries = app
        .admin(Method::GET, "/audit?resource_type=GroupMapping", None)
        .await
        .body;
    let entries: Vec<(String, Value, Value)> = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap_or_default().to_string(),
                e["before"].clone(),
                e["after"].clone(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("delete".to_string(), mapping.clone(), Value::Null),
            ("create".to_string(), Value::Null, mapping.clone()),
        ]
    );
}

/// Walks the IdP group list `limit` at a time; the display names of each page.
async fn idp_group_pages(app: &TestApp, limit: usize, q: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/idp-groups?limit={limit}&q={q}");
        if let Some(a) = &after {
            // `<id>:<name>`: these names need no escaping in a query string.
            path.push_str(&format!("&after={a}"));
        }
        let reply = app.admin(Method::GET, &path, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let names: Vec<String> = reply.body["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["displayName"].as_str().expect("name").to_string())
            .collect();
        pages.push(names);
        match reply.body["next_after"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return pages,
        }
        assert!(pages.len() < 10, "the walk does not end: {pages:?}");
    }
}

#[tokio::test]
async fn the_idp_group_list_pages_in_name_order_each_group_once() {
    let app = spawn_app().await;
    for name in ["paged-d", "paged-b", "paged-a", "paged-c"] {
        app.create_group(name, &[]).await;
    }
    let all = ["paged-a", "paged-b", "paged-c", "paged-d"];
    for (limit, expected) in [
        (
            1,
            vec![
                vec!["paged-a"],
                vec!["paged-b"],
                vec!["paged-c"],
                vec!["paged-d"],
            ],
        ),
        (
            2,
            vec![vec!["paged-a", "paged-b"], vec!["paged-c", "paged-d"]],
        ),
        (
            3,
            vec![vec!["paged-a", "paged-b", "paged-c"], vec!["paged-d"]],
        ),
        (4, vec![all.to_vec()]),
        (5, vec![all.to_vec()]),
    ] {
        assert_eq!(
            idp_group_pages(&app, limit, "paged").await,
            expected,
            "limit {limit}"
        );
    }
    // Bounds: the page size, the search's length, a cursor this list never gave.
    for path in [
        "/idp-groups?limit=0",
        "/idp-groups?limit=201",
        "/idp-groups?after=not-a-cursor",
        "/idp-groups?after=nope:paged-a",
    ] {
        app.admin(Method::GET, path, None).await.assert_problem(400);
    }
    let longest = "x".repeat(200);
    let reply = app
        .admin(Method::GET, &format!("/idp-groups?q={longest}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    app.admin(Method::GET, &format!("/idp-groups?q={longest}x"), None)
        .await
        .assert_problem(400);
    assert_eq!(
        app.admin(Method::GET, "/idp-groups?limit=200", None)
            .await
            .status,
        200
    );
}
