use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, USER_SCHEMA};

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|u| u["userName"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn seed(app: &TestApp) {
    // userName, familyName (some missing), work email marked primary or not.
    // The first (home) email orders the users differently from the primary (work) one.
    let people = [
        ("carol", Some("Young"), "h1@home.example", "c@z.example"),
        ("Alice", Some("smith"), "h5@home.example", "a@y.example"),
        ("bob", None, "h4@home.example", "b@x.example"),
        ("dave", Some("Adams"), "h2@home.example", "d@w.example"),
        ("Eve", Some("smith"), "h3@home.example", "e@v.example"),
    ];
    for (user, family, home, work) in people {
        let mut body = json!({"schemas": [USER_SCHEMA], "userName": user,
            "emails": [{"value": home, "type": "home"}, {"value": work, "type": "work", "primary": true}]});
        if let Some(f) = family {
            body["name"] = json!({"familyName": f});
        }
        assert_eq!(app.post("/Users", &body).await.status, 201);
    }
}

#[tokio::test]
async fn sorts_by_columns_and_document_attributes() {
    let app = spawn_app().await;
    seed(&app).await;
    assert_eq!(
        names(&app.get("/Users?sortBy=userName").await.body),
        ["Alice", "bob", "carol", "dave", "Eve"]
    );
    assert_eq!(
        names(
            &app.get("/Users?sortBy=USERNAME&sortOrder=Descending")
                .await
                .body
        ),
        ["Eve", "dave", "carol", "bob", "Alice"]
    );
    // Case-insensitive, ties broken by id (creation order is not promised, only stability),
    // and users without the attribute last.
    let by_family = names(&app.get("/Users?sortBy=name.familyName").await.body);
    assert_eq!(by_family[0], "dave");
    assert_eq!(by_family[4], "bob");
    assert_eq!(by_family[3], "carol");
    assert_eq!(
        by_family,
        names(&app.get("/Users?sortBy=name.familyName").await.body),
        "stable"
    );
    let descending = names(
        &app.get("/Users?sortBy=name.familyName&sortOrder=descending")
            .await
            .body,
    );
    assert_eq!(
        descending,
        by_family.iter().rev().cloned().collect::<Vec<_>>()
    );
    // A multi-valued attribute sorts by its primary value.
    assert_eq!(
        names(&app.get("/Users?sortBy=emails").await.body),
        ["Alice", "bob", "carol", "dave", "Eve"]
    );
    assert_eq!(
        names(
            &app.get("/Users?sortBy=emails.value&sortOrder=descending")
                .await
                .body
        ),
        ["Eve", "dave", "carol", "bob", "Alice"]
    );
    assert_eq!(
        names(&app.get("/Users?sortBy=meta.created").await.body).len(),
        5
    );
    // Sorting and filtering together, through .search as well.
    let search = app
        .post("/Users/.search", &json!({"filter": "emails.value ew \".example\" and not (userName eq \"bob\")", "sortBy": "userName", "sortOrder": "descending", "count": 2}))
        .await;
    assert_eq!(names(&search.body), ["Eve", "dave"]);
    assert_eq!(search.body["totalResults"], 4);
}

#[tokio::test]
async fn sort_errors() {
    let app = spawn_app().await;
    app.get("/Users?sortBy=userName&sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/Users?sortBy=nonsense")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/Groups?sortBy=members")
        .await
        .assert_error(400, Some("invalidValue"));
    app.get("/Users?sortBy=groups")
        .await
        .assert_error(400, Some("invalidValue"));
    app.post("/.search", &json!({"sortBy": "userName"}))
        .await
        .assert_error(400, Some("invalidValue"));
}

async fn walk(app: &TestApp, query: &str, count: usize) -> (Vec<String>, Vec<String>) {
    let mut forward = Vec::new();
    let mut cursor = String::new();
    let last_page = loop {
        let page = app
            .get(&format!("/Users?{query}&count={count}&cursor={cursor}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body["Resources"].as_array().map_or(0, Vec::len) <= count);
        forward.extend(names(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break page.body,
        }
    };
    // And back again from the last page, by previousCursor.
    let mut backward: Vec<String> = names(&last_page).into_iter().rev().collect();
    let mut previous = last_page["previousCursor"].as_str().map(str::to_string);
    while let Some(p) = previous {
        let page = app
            .get(&format!("/Users?{query}&count={count}&cursor={p}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        backward.extend(names(&page.body).into_iter().rev());
        previous = page.body["previousCursor"].as_str().map(str::to_string);
    }
    backward.reverse();
    (forward, backward)
}

#[tokio::test]
async fn cursor_paging_walks_every_order_both_ways() {
    let app = spawn_app().await;
    seed(&app).await;
    for i in 0..7 {
        app.create_user(&format!("zed{i}")).await;
    }
    for query in [
        "sortBy=userName",
        "sortBy=name.familyName&sortOrder=descending",
        "sortBy=emails",
        "filter=userName%20sw%20%22zed%22",
        "sortBy=id",
    ] {
        let everything = names(&app.get(&format!("/Users?{query}&count=50")).await.body);
        for count in [1, 2, 5] {
            let (forward, backward) = walk(&app, query, count).await;
            assert_eq!(forward, everything, "{query} count={count}");
            assert_eq!(backward, everything, "{query} count={count} backwards");
        }
    }
    let first = app.get("/Users?cursor=&count=3").await.body;
    assert_eq!(first["totalResults"], 12);
    assert!(first.get("previousCursor").is_none());
    assert!(first.get("startIndex").is_none());
}

#[tokio::test]
async fn cursors_are_bound_to_their_query_and_tenant() {
    let app = spawn_app().await;
    seed(&app).await;
    let page = app.get("/Users?sortBy=userName&count=2&cursor=").await.body;
    let next = page["nextCursor"]
        .as_str()
        .expect("a next cursor")
        .to_string();
    app.get(&format!("/Users?sortBy=emails&count=2&cursor={next}"))
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get(&format!("/Groups?sortBy=userName&count=2&cursor={next}"))
        .await
        .assert_error(400, Some("invalidCursor"));
    let mut tampered = next.clone();
    tampered.insert(10, 'A');
    app.get(&format!("/Users?sortBy=userName&count=2&cursor={tampered}"))
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get("/Users?cursor=nonsense")
        .await
        .assert_error(400, Some("invalidCursor"));
    app.get(&format!(
        "/Users?sortBy=userName&cursor={next}&startIndex=2"
    ))
    .await
    .assert_error(400, Some("invalidValue"));
    let other = app.other_tenant_token();
    let reply = app
        .request_as(
            Some(&other),
            reqwest::Method::GET,
            &format!("/Users?sortBy=userName&count=2&cursor={next}"),
            None,
        )
        .await;
    reply.assert_error(400, Some("invalidCursor"));
    // The genuine cursor works.
    assert_eq!(
        names(
            &app.get(&format!("/Users?sortBy=userName&count=2&cursor={next}"))
                .await
                .body
        ),
        ["carol", "dave"]
    );
}

#[tokio::test]
async fn index_paging_is_stable_under_sorting() {
    let app = spawn_app().await;
    seed(&app).await;
    let mut all = Vec::new();
    for start in [1, 3, 5] {
        all.extend(names(
            &app.get(&format!(
                "/Users?sortBy=name.familyName&startIndex={start}&count=2"
            ))
            .await
            .body,
        ));
    }
    assert_eq!(
        all,
        names(&app.get("/Users?sortBy=name.familyName").await.body)
    );
}
