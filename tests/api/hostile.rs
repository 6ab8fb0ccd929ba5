//! Hostile and careless input: refused with a 4xx in the interface's own format, never a
//! panic, a dropped connection or a 500, and nothing stored changes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::Model;
use crate::helpers::{spawn_app, spawn_app_with, Options, Reply, GROUP_SCHEMA, USER_SCHEMA};

fn user(name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": name})
}

#[tokio::test]
async fn attribute_names_are_read_as_unicode() {
    let app = spawn_app().await;
    app.create_user("someone").await;
    for query in [
        "sortBy=ab%E2%82%AC",
        "sortBy=%E2%82%ACab",
        "attributes=%C3%A9lodie",
        "excludedAttributes=urn%E2%82%AC:x",
        "sortBy=urn:%C3%A9",
        "filter=%C3%A9lodie%20eq%20%22x%22",
    ] {
        let reply = app.get(&format!("/Users?{query}")).await;
        assert!(
            reply.status == 400,
            "{query}: {} {}",
            reply.status,
            reply.body
        );
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    }
    let reply = app
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "sortBy": "ab€", "attributes": ["€"]}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[tokio::test]
async fn control_characters_are_refused_everywhere() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    app.post("/Users", &user("nul\u{0}name"))
        .await
        .assert_error(400, Some("invalidValue"));
    app.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "ok", "title": "bell\u{7}"}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    // Tabs and line breaks are text.
    let fine = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "ok2",
                    "addresses": [{"streetAddress": "1 Main St\nFloor 2\tRear"}]}),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
    let reply = app.get("/Users?filter=userName%20eq%20%22a%00b%22").await;
    reply.assert_error(400, Some("invalidFilter"));
    let reply = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": model.production, "name": "nul\u{0}"})),
        )
        .await;
    reply.assert_problem(400);
    let reply = app
        .admin(
            Method::POST,
            "/applications",
            Some(&json!({"environment_id": model.production, "name": "App",
                         "description": "x\u{0}y"})),
        )
        .await;
    reply.assert_problem(400);
    let reply = app
        .admin(
            Method::POST,
            "/oidc-providers",
            Some(&json!({"name": "p", "issuer": "http://127.0.0.1:9/x", "client_id": "a\u{0}b"})),
        )
        .await;
    assert!(
        reply.status == 400 || reply.status == 422,
        "{} {}",
        reply.status,
        reply.body
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn strings_past_their_documented_length_are_refused_naming_the_limit() {
    let app = spawn_app().await;
    let long = "x".repeat(12_000);
    let reply = app.post("/Users", &user(&long)).await;
    reply.assert_error(400, Some("invalidValue"));
    assert!(
        reply.body["detail"].as_str().unwrap().contains("256"),
        "{}",
        reply.body
    );
    let reply = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "a", "externalId": "e".repeat(257)}),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    let reply = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "a", "title": "t".repeat(2049)}),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    assert!(reply.body["detail"].as_str().unwrap().contains("2048"));
    let reply = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "g".repeat(300)}),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    // The whole document is bounded too: PATCH cannot grow it past the limit.
    let id = app.create_user("grower").await;
    let mut refused_at = None;
    for round in 0..8 {
        let emails: Vec<Value> = (0..40)
            .map(|i| json!({"value": format!("{round}-{i}-{}@example.com", "p".repeat(400))}))
            .collect();
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                &crate::helpers::patch_ops(
                    json!([{"op": "add", "path": "emails", "value": emails}]),
                ),
            )
            .await;
        if reply.status != 200 {
            assert_eq!(reply.status, 400);
            assert_eq!(reply.body["scimType"], "invalidValue");
            assert!(reply.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("65536"));
            refused_at = Some(round);
            break;
        }
    }
    assert_eq!(refused_at, Some(3));
    let stored = app.get(&format!("/Users/{id}")).await;
    assert_eq!(stored.body["emails"].as_array().map(Vec::len), Some(120));
}

#[tokio::test]
async fn a_body_naming_another_resource_types_schema_is_refused() {
    let app = spawn_app().await;
    for schemas in [
        json!([GROUP_SCHEMA]),
        json!(["urn:example:unknown"]),
        json!([]),
    ] {
        let reply = app
            .post("/Users", &json!({"schemas": schemas, "userName": "x"}))
            .await;
        reply.assert_error(400, Some("invalidSyntax"));
    }
    // Omitted altogether stays an accepted deviation.
    assert_eq!(
        app.post("/Users", &json!({"userName": "x"})).await.status,
        201
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn a_bulk_post_without_bulk_id_fails_on_its_own() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": [
                        {"method": "POST", "path": "/Users", "data": user("no-id")},
                        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("with-id")}]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ops = reply.body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["status"], "400");
    assert_eq!(ops[0]["response"]["scimType"], "invalidValue");
    assert_eq!(ops[1]["status"], "201");
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

#[tokio::test]
async fn unsupported_methods_say_which_are_allowed() {
    let app = spawn_app().await;
    let id = app.create_user("a").await;
    for (path, allow) in [
        ("/Users".to_string(), "GET, POST"),
        (format!("/Users/{id}"), "GET, PUT, PATCH, DELETE"),
        ("/Bulk".to_string(), "POST"),
        ("/ServiceProviderConfig".to_string(), "GET"),
    ] {
        let reply = app
            .request(Method::from_bytes(b"TRACE").unwrap(), &path, None)
            .await;
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.header("allow"), Some(allow), "{path}");
        assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    }
    let reply = app.admin(Method::PUT, "/environments", None).await;
    reply.assert_problem(405);
    assert_eq!(reply.header("allow"), Some("GET, POST"));
}

#[tokio::test]
async fn changing_a_providers_issuer_needs_its_secret_again() {
    let app = spawn_app().await;
    let created = app
        .admin(
            Method::POST,
            "/oidc-providers",
            Some(&json!({"name": "corp", "issuer": "http://127.0.0.1:9/a",
                         "client_id": "c", "client_secret": "s3cret"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/oidc-providers/{}", created.id());
    app.admin(
        Method::PATCH,
        &path,
        Some(&json!({"issuer": "http://127.0.0.1:9/b"})),
    )
    .await
    .assert_rule(422, "issuer-needs-secret");
    assert_eq!(
        app.admin(Method::GET, &path, None).await.body["issuer"],
        "http://127.0.0.1:9/a"
    );
    let moved = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"issuer": "http://127.0.0.1:9/b", "client_secret": "n3w"})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // Other changes keep the secret as before.
    let renamed = app
        .admin(Method::PATCH, &path, Some(&json!({"client_id": "d"})))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["has_client_secret"], true);
}

#[tokio::test]
async fn every_answer_forbids_sniffing_html_forbids_framing_and_https_gets_hsts() {
    let app = spawn_app().await;
    for reply in [
        app.get("/Users").await,
        app.admin(Method::GET, "/environments", None).await,
        app.get("/Nothing").await,
    ] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert!(reply.header("strict-transport-security").is_none());
    }
    // The login error page is HTML.
    let page = app
        .client
        .get(format!(
            "{}/oidc/{}/nobody/login",
            app.address, app.tenant_id
        ))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_client_error());
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let secure = spawn_app_with(Options {
        public_url: Some("https://rolegate.example".into()),
        ..Options::default()
    })
    .await;
    let reply = secure.get("/Users").await;
    assert!(reply
        .header("strict-transport-security")
        .is_some_and(|v| v.starts_with("max-age=")));
}

#[tokio::test]
async fn identity_providers_on_internal_addresses_are_never_contacted() {
    // A loopback listener the outbound policy does not allow stands in for an internal
    // service; nothing may connect to it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = spawn_app_with(Options {
        outbound_allow: String::new(),
        ..Options::default()
    })
    .await;
    let created = app
        .admin(
            Method::POST,
            "/oidc-providers",
            Some(
                &json!({"name": "inside", "issuer": format!("http://127.0.0.1:{port}"),
                         "client_id": "c"}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let url = format!("{}/oidc/{}/inside/login", app.address, app.tenant_id);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        let reply = no_redirects.get(&url).send().await.unwrap();
        assert_eq!(reply.status(), 502);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["error"], "provider_unavailable");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the internal listener was contacted"
    );
}

/// The `Location` of a user created with forged `Host` and forwarding headers.
async fn location_with_forged_headers(app: &crate::helpers::TestApp) -> String {
    let reply = app
        .client
        .post(format!("{}/Users", app.base))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .header("Forwarded", "host=evil.example;proto=https")
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(user("located").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    reply.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn forwarded_headers_choose_no_url_unless_they_come_from_a_trusted_proxy() {
    let app = spawn_app().await;
    let location = location_with_forged_headers(&app).await;
    assert!(
        location.starts_with(&format!("{}/scim/v2/Users/", app.address)),
        "{location}"
    );
    let proxied = spawn_app_with(Options {
        trusted_proxies: "127.0.0.1".into(),
        ..Options::default()
    })
    .await;
    let location = location_with_forged_headers(&proxied).await;
    assert!(
        location.starts_with("https://evil.example/scim/v2/Users/"),
        "{location}"
    );
}

/// Over-long URLs and over-large headers are answered in the interface's own format, with
/// 414 and 431, not with an empty body.
#[tokio::test]
async fn long_urls_and_large_headers_get_414_and_431_in_the_interfaces_format() {
    let app = spawn_app().await;
    let long = "a".repeat(40 * 1024);
    let reply = app
        .get(&format!("/Users?filter=userName%20eq%20%22{long}%22"))
        .await;
    reply.assert_error(414, None);
    let reply = app
        .admin(Method::GET, &format!("/roles?q={long}"), None)
        .await;
    assert_eq!(reply.status, 414);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.body["type"],
        "https://rolegate.dev/problems/uri-too-long"
    );
    let oidc = Reply::from(
        app.client
            .get(format!("{}/api/v1/me?x={long}", app.address))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(oidc.status, 414);
    assert_eq!(oidc.body["error"], "invalid_request");

    let big_header = "b".repeat(70 * 1024);
    let reply = Reply::from(
        app.client
            .get(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("x-padding", &big_header)
            .send()
            .await
            .expect("answered"),
    )
    .await;
    reply.assert_error(431, None);
    // Just under the limits, requests are served.
    let reply = app
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            "a".repeat(8000)
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// A body over the limit is answered with 413 in the interface's format, and the client,
/// still sending it, reads that answer rather than a reset connection.
#[tokio::test]
async fn oversize_bodies_get_413_without_a_dropped_connection() {
    let app = spawn_app_with(Options {
        body_limit: 64 * 1024,
        ..Options::default()
    })
    .await;
    let huge =
        json!({"schemas": [USER_SCHEMA], "userName": "huge", "title": "x".repeat(3 * 1024 * 1024)});
    for _ in 0..3 {
        let reply = app
            .raw(
                Method::POST,
                "/Users",
                "application/scim+json",
                huge.to_string().into_bytes(),
            )
            .await;
        reply.assert_error(413, None);
    }
    let reply = app
        .admin(
            Method::POST,
            "/roles",
            Some(&json!({"name": "x".repeat(2 * 1024 * 1024)})),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(
        reply.body["type"],
        "https://rolegate.dev/problems/payload-too-large"
    );
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}
