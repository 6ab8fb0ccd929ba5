use reqwest::Method;

use crate::helpers::spawn_app;

#[tokio::test]
async fn service_provider_config_states_what_is_supported() {
    let app = spawn_app().await;
    let reply = app.get("/ServiceProviderConfig").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    insta::assert_json_snapshot!(reply.body, {".meta.location" => "[location]"});
}

#[tokio::test]
async fn schemas_and_resource_types_are_listed_and_fetched_by_id() {
    let app = spawn_app().await;
    let schemas = app.get("/Schemas").await;
    assert_eq!(schemas.status, 200);
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group"
        ]
    );
    let user = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(user.status, 200);
    insta::assert_json_snapshot!("user_schema", user.body, {".meta.location" => "[location]"});
    app.get("/Schemas/urn:nope").await.assert_error(404, None);

    let types = app.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    let group = app.get("/ResourceTypes/Group").await;
    assert_eq!(group.body["endpoint"], "/Groups");
    app.get("/ResourceTypes/Nope").await.assert_error(404, None);
}

#[tokio::test]
async fn discovery_endpoints_refuse_writes_with_405() {
    let app = spawn_app().await;
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            app.request(method.clone(), path, None)
                .await
                .assert_error(405, None);
        }
    }
    app.request(Method::DELETE, "/Users", None)
        .await
        .assert_error(405, None);
    app.request(Method::POST, "/Users/abc", None)
        .await
        .assert_error(405, None);
}

#[tokio::test]
async fn unknown_endpoints_give_a_scim_404() {
    let app = spawn_app().await;
    app.get("/Nothing").await.assert_error(404, None);
    app.get("/Users/not-a-uuid").await.assert_error(404, None);
    app.get(&format!("/Groups/{}", uuid::Uuid::new_v4()))
        .await
        .assert_error(404, None);
}
