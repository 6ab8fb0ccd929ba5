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

/// `GET` at the SCIM root queries every resource type (RFC 7644 §3.4.2.1), with a filter
/// that may write a value as a bare word as Entra ID's documentation does.
#[tokio::test]
async fn the_root_queries_all_resource_types_and_bare_words_are_strings() {
    let app = spawn_app().await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "jyoung", "externalId": "jyoung"});
    assert_eq!(app.post("/Users", &body).await.status, 201);
    let a = app.create_user("alice").await;
    app.create_group("team", &[&a]).await;
    for root in ["", "/"] {
        let all = app.get(root).await;
        assert_eq!(all.status, 200, "{root:?}: {}", all.body);
        assert_eq!(all.body["totalResults"], 3);
        let filtered = app
            .get(&format!("{root}?filter=externalId%20eq%20jyoung"))
            .await;
        assert_eq!(filtered.status, 200, "{}", filtered.body);
        assert_eq!(filtered.body["totalResults"], 1);
        assert_eq!(filtered.body["Resources"][0]["userName"], "jyoung");
    }
    let bare = app.get("/Users?filter=userName%20eq%20JYOUNG").await;
    assert_eq!(bare.body["totalResults"], 1);
    app.get("/Users?filter=userName%20eq%20and")
        .await
        .assert_error(400, Some("invalidFilter"));
    let refused = app.post("", &json!({})).await;
    refused.assert_error(405, None);
    assert!(refused.header("allow").is_some_and(|a| a.contains("GET")));
}

/// Each operator, on a column attribute, a document attribute and an extension attribute.
#[tokio::test]
async fn every_operator_on_users_and_groups() {
    let app = spawn_app().await;
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    for (user, title, dept) in [
        ("ann", "Engineer", "R&D"),
        ("Bea", "engineering lead", "Sales"),
        ("cy", "Clerk", ""),
    ] {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user, "title": title,
            "emails": [{"value": format!("{user}@corp.example"), "type": "work"}]});
        if !dept.is_empty() {
            body[ent] = json!({"department": dept});
        }
        assert_eq!(app.post("/Users", &body).await.status, 201);
    }
    let a = app
        .get("/Users?filter=userName%20eq%20%22ann%22")
        .await
        .body["Resources"][0]["id"]
        .clone();
    let a = a.as_str().expect("id").to_string();
    app.create_group("Readers", &[&a]).await;
    app.create_group("Writers", &[]).await;

    let cases: Vec<(String, Vec<&str>)> = vec![
        ("userName eq \"BEA\"".into(), vec!["Bea"]),
        ("userName ne \"bea\"".into(), vec!["ann", "cy"]),
        ("userName co \"N\"".into(), vec!["ann"]),
        ("userName sw \"b\"".into(), vec!["Bea"]),
        ("userName ew \"Y\"".into(), vec!["cy"]),
        ("userName gt \"b\"".into(), vec!["Bea", "cy"]),
        ("userName ge \"bea\"".into(), vec!["Bea", "cy"]),
        ("userName lt \"bea\"".into(), vec!["ann"]),
        ("userName le \"bea\"".into(), vec!["ann", "Bea"]),
        ("title co \"engineer\"".into(), vec!["ann", "Bea"]),
        ("title sw \"Eng\" and not (title ew \"lead\")".into(), vec!["ann"]),
        (format!("{ent}:department pr"), vec!["ann", "Bea"]),
        (format!("{ent}:department eq \"r&d\" or userName eq \"cy\""), vec!["ann", "cy"]),
        ("emails[type eq \"work\" and value ew \"@corp.example\"]".into(), vec!["ann", "Bea", "cy"]),
        ("emails.value sw \"cy@\"".into(), vec!["cy"]),
        ("meta.created gt \"2000-01-01T00:00:00Z\" and meta.lastModified lt \"2999-01-01T00:00:00Z\"".into(), vec!["ann", "Bea", "cy"]),
        ("(userName eq \"ann\" or userName eq \"cy\") and title pr".into(), vec!["ann", "cy"]),
        ("groups pr".into(), vec![]),
    ];
    for (filter, expected) in cases {
        let encoded: String = filter.bytes().map(|b| format!("%{b:02X}")).collect();
        let reply = app
            .get(&format!("/Users?sortBy=userName&filter={encoded}"))
            .await;
        assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
        let names: Vec<&str> = reply.body["Resources"]
            .as_array()
            .map(|r| r.iter().filter_map(|u| u["userName"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, expected, "{filter}");
    }
    let groups = [
        (format!("members[value eq \"{a}\"]"), vec!["Readers"]),
        (format!("members.value eq \"{a}\""), vec!["Readers"]),
        ("members pr".to_string(), vec!["Readers"]),
        ("not (members pr)".to_string(), vec!["Writers"]),
        ("displayName sw \"w\"".to_string(), vec!["Writers"]),
    ];
    for (filter, expected) in groups {
        let encoded: String = filter.bytes().map(|b| format!("%{b:02X}")).collect();
        let reply = app
            .get(&format!("/Groups?sortBy=displayName&filter={encoded}"))
            .await;
        assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
        let names: Vec<&str> = reply.body["Resources"]
            .as_array()
            .map(|r| r.iter().filter_map(|g| g["displayName"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, expected, "{filter}");
    }
    // Errors name the problem.
    let bad = app.get("/Users?filter=userName%20eq%20true").await;
    bad.assert_error(400, Some("invalidFilter"));
    assert!(
        bad.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("userName")),
        "{}",
        bad.body
    );
    app.get("/Users?filter=meta.created%20gt%20%22yesterday%22")
        .await
        .assert_error(400, Some("invalidFilter"));
    app.get("/Users?filter=urn:nope:1.0:User:x%20pr")
        .await
        .assert_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn a_list_without_count_returns_the_advertised_default_page() {
    let app = spawn_app().await;
    let config = app.get("/ServiceProviderConfig").await.body;
    let default = config["pagination"]["defaultPageSize"]
        .as_u64()
        .expect("defaultPageSize") as usize;
    let max = config["filter"]["maxResults"].as_u64().expect("maxResults") as usize;
    for i in 0..=default {
        app.create_user(&format!("u{i:03}")).await;
    }
    let page = app.get("/Users").await.body;
    assert_eq!(page["totalResults"], default + 1);
    assert_eq!(page["itemsPerPage"], default);
    let capped = app.get(&format!("/Users?count={}", max + 10)).await.body;
    assert!(capped["itemsPerPage"].as_u64().unwrap_or(0) as usize <= max);
}
