use serde_json::json;

use crate::helpers::spawn_app;
use crate::redacted_snapshot;

#[tokio::test]
async fn lists_page_by_start_index_and_count() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_user(&format!("user{i}")).await;
    }
    let page = app.get("/Users?startIndex=2&count=2").await.body;
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|u| u["userName"].as_str())
        .collect();
    assert_eq!(names, ["user1", "user2"]);
    // startIndex below 1 means 1; count 0 gives only the total; count above the maximum is capped.
    assert_eq!(
        app.get("/Users?startIndex=0&count=1").await.body["Resources"][0]["userName"],
        "user0"
    );
    let zero = app.get("/Users?count=0").await.body;
    assert_eq!(
        (zero["totalResults"].clone(), zero["itemsPerPage"].clone()),
        (json!(5), json!(0))
    );
    let capped = app.get("/Users?count=100000").await.body;
    assert_eq!(capped["itemsPerPage"], 5);
}

#[tokio::test]
async fn filters_select_users_and_groups() {
    let app = spawn_app().await;
    let a = app.create_user("Alice").await;
    app.create_user("bob").await;
    let group = app.create_group("Admins", &[&a]).await;
    let eq = app
        .get("/Users?filter=userName%20eq%20%22alice%22")
        .await
        .body;
    assert_eq!(eq["totalResults"], 1);
    redacted_snapshot!(eq);
    // Entra's "Test connection" filters on a random value: an empty list, not an error.
    let none = app
        .get("/Users?filter=userName%20eq%20%22a3c7b1f0-random%22")
        .await;
    assert_eq!(
        (none.status, none.body["totalResults"].clone()),
        (200, json!(0))
    );
    let groups = app
        .get("/Groups?filter=displayName%20eq%20%22admins%22")
        .await
        .body;
    assert_eq!(groups["Resources"][0]["id"], group);
}

#[tokio::test]
async fn search_endpoints_take_the_query_in_the_body() {
    let app = spawn_app().await;
    let a = app.create_user("alice").await;
    app.create_user("bob").await;
    app.create_group("team", &[&a]).await;
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"ali\"",
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10
    });
    let users = app.post("/Users/.search", &request).await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert_eq!(users.body["totalResults"], 1);
    assert!(users.body["Resources"][0].get("groups").is_none());
    let all = app
        .post(
            "/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
        )
        .await;
    assert_eq!(all.body["totalResults"], 3);
    let groups = app
        .post(
            "/Groups/.search",
            &json!({"excludedAttributes": ["members"]}),
        )
        .await;
    assert_eq!(groups.body["totalResults"], 1);
    assert!(groups.body["Resources"][0].get("members").is_none());
}
