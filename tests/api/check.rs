//! The permission-check API: `/api/v1/check` with a `check` token answers from the
//! maintained effective roles, as fresh as they are, and the token can do nothing else.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{application, assign, create, Model};
use crate::helpers::{spawn_app, Reply, TestApp, USER_SCHEMA};
use rolegate::provisioning::tokens::{self, TokenHolder};

fn check_token(app: &TestApp, tenant: uuid::Uuid) -> (String, uuid::Uuid) {
    let mut conn = app.pool.get().expect("connection");
    let issued = tokens::create(
        &mut conn,
        tenant,
        "crm",
        TokenHolder::Application,
        None,
        "test",
    )
    .expect("check token");
    (issued.secret, issued.token.id)
}

/// A check token of a second tenant.
fn other_tenant_check_token(app: &TestApp) -> String {
    let other_tenant = {
        let mut conn = app.pool.get().expect("connection");
        rolegate::provisioning::tenants::create(&mut conn, "other", "test")
            .expect("tenant")
            .id
    };
    check_token(app, other_tenant).0
}

async fn get(app: &TestApp, token: &str, query: &str) -> Reply {
    Reply::from(
        app.client
            .get(format!("{}/api/v1/check?{query}", app.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("answered"),
    )
    .await
}

async fn post(app: &TestApp, token: &str, body: &Value) -> Reply {
    Reply::from(
        app.client
            .post(format!("{}/api/v1/check", app.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("answered"),
    )
    .await
}

struct Fixture {
    app: TestApp,
    model: Model,
    token: String,
    token_id: uuid::Uuid,
    crm: String,
    alice: String,
    bob: String,
    grant: String,
}

const VIEW: &str = "application.content.view";

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let alice = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "Élodie", "externalId": "ext-1"}),
        )
        .await
        .id();
    let bob = app.create_user("bob").await;
    let mut twins = Vec::new();
    for name in ["twin-1", "twin-2"] {
        let reply = app
            .post(
                "/Users",
                &json!({"schemas": [USER_SCHEMA], "userName": name, "externalId": "shared"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        twins.push(reply.id());
    }
    let seller = create(
        &app,
        "/roles",
        json!({"name": "Seller", "scope": "application", "privileges": [VIEW]}),
    )
    .await;
    let grant = assign(
        &app,
        json!({"type": "user", "id": alice}),
        &seller,
        json!({"application_id": crm}),
    )
    .await;
    // One twin holds the role: an ambiguous externalId must still not answer for it.
    assign(
        &app,
        json!({"type": "user", "id": twins[0]}),
        &seller,
        json!({"application_id": crm}),
    )
    .await;
    let (token, token_id) = check_token(&app, app.tenant_id);
    Fixture {
        app,
        model,
        token,
        token_id,
        crm,
        alice,
        bob,
        grant,
    }
}

#[tokio::test]
async fn checks_answer_from_the_effective_roles_by_id_name_or_external_id() {
    let f = fixture().await;
    let ask = |user: &str, scope: &str| format!("{user}&privilege={VIEW}&{scope}");
    let crm = format!("application_id={}", f.crm);
    for (query, allowed) in [
        (ask(&format!("user_id={}", f.alice), &crm), true),
        (ask(&format!("user_id={}", f.bob), &crm), false),
        (ask("user_name=%C3%89LODIE", &crm), true),
        (ask("external_id=ext-1", &crm), true),
        (ask("external_id=EXT-1", &crm), false),
        (ask("user_name=nobody", &crm), false),
        // Two users share this externalId: it names nobody.
        (ask("external_id=shared", &crm), false),
        (
            format!(
                "user_id={}&privilege=application.content.edit&{crm}",
                f.alice
            ),
            false,
        ),
        // An application role is not an environment-wide one.
        (
            ask(
                &format!("user_id={}", f.alice),
                &format!("environment_id={}", f.model.production),
            ),
            false,
        ),
        (
            ask(
                &format!("user_id={}", f.alice),
                &format!("application_id={}", uuid::Uuid::new_v4()),
            ),
            false,
        ),
    ] {
        let reply = get(&f.app, &f.token, &query).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert_eq!(reply.body, json!({"allowed": allowed}), "{query}");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let batch = json!({"checks": [
        {"user_id": f.alice, "privilege": VIEW, "application_id": f.crm},
        {"user_id": f.bob, "privilege": VIEW, "application_id": f.crm},
        {"user_name": "élodie", "privilege": VIEW, "application_id": f.crm},
        {"externalId": "ext-1", "privilege": "other", "application_id": f.crm},
    ]});
    let reply = post(&f.app, &f.token, &batch).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"results": [{"allowed": true}, {"allowed": false}, {"allowed": true}, {"allowed": false}]})
    );
}

#[tokio::test]
async fn a_check_sees_every_committed_change_at_once() {
    let f = fixture().await;
    let query = format!(
        "user_id={}&privilege={VIEW}&application_id={}",
        f.alice, f.crm
    );
    assert_eq!(get(&f.app, &f.token, &query).await.body["allowed"], true);
    let removed = f
        .app
        .admin(Method::DELETE, &format!("/assignments/{}", f.grant), None)
        .await;
    assert!(
        removed.status == 204 || removed.status == 200,
        "{}",
        removed.body
    );
    assert_eq!(get(&f.app, &f.token, &query).await.body["allowed"], false);
    // Deactivated through SCIM: no roles, so nothing is allowed.
    let bob_query = format!(
        "user_id={}&privilege={VIEW}&application_id={}",
        f.bob, f.crm
    );
    assert_eq!(
        get(&f.app, &f.token, &bob_query).await.body["allowed"],
        false
    );
}

#[tokio::test]
async fn a_check_token_does_only_checks_and_only_in_its_tenant() {
    let f = fixture().await;
    let query = format!(
        "user_id={}&privilege={VIEW}&application_id={}",
        f.alice, f.crm
    );
    // Other kinds of token cannot check; a check token opens nothing else.
    assert_eq!(get(&f.app, &f.app.token, &query).await.status, 401);
    assert_eq!(get(&f.app, &f.app.admin_token, &query).await.status, 401);
    let scim = f
        .app
        .request_as(Some(&f.token), Method::GET, "/Users", None)
        .await;
    assert_eq!(scim.status, 401);
    let admin = f
        .app
        .admin_as(Some(&f.token), Method::GET, "/environments", None)
        .await;
    assert_eq!(admin.status, 401);
    // Another tenant's check token learns nothing about this tenant's users.
    let other = other_tenant_check_token(&f.app);
    assert_eq!(get(&f.app, &other, &query).await.body["allowed"], false);
    // Revoked: refused at once.
    {
        let mut conn = f.app.pool.get().expect("connection");
        tokens::revoke(&mut conn, f.app.tenant_id, f.token_id, "test").expect("revokes");
    }
    let reply = get(&f.app, &f.token, &query).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"], "invalid_token");
}

#[tokio::test]
async fn malformed_checks_are_400() {
    let f = fixture().await;
    for query in [
        format!(
            "user_id={}&user_name=x&privilege=p&application_id={}",
            f.alice, f.crm
        ),
        format!("user_id={}&privilege=p", f.alice),
        format!("user_id={}&privilege=&application_id={}", f.alice, f.crm),
        format!("user_id=not-a-uuid&privilege=p&application_id={}", f.crm),
        format!(
            "user_id={}&privilege=p&application_id={}&extra=1",
            f.alice, f.crm
        ),
        format!(
            "user_id={}&privilege=a%00b&application_id={}",
            f.alice, f.crm
        ),
    ] {
        let reply = get(&f.app, &f.token, &query).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.body["error"], "invalid_request");
    }
    let one = json!({"user_id": f.alice, "privilege": VIEW, "application_id": f.crm});
    let too_many = json!({"checks": vec![one.clone(); 101]});
    assert_eq!(post(&f.app, &f.token, &too_many).await.status, 400);
    assert_eq!(
        post(&f.app, &f.token, &json!({"checks": []})).await.status,
        400
    );
    let hundred = json!({"checks": vec![one; 100]});
    let reply = post(&f.app, &f.token, &hundred).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["results"].as_array().map(Vec::len), Some(100));
}

async fn effective(app: &TestApp, token: &str, user: &str, query: &str) -> Reply {
    Reply::from(
        app.client
            .get(format!(
                "{}/api/v1/users/{user}/effective-roles{query}",
                app.address
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("answered"),
    )
    .await
}

/// A check token reads a user's effective roles: the admin API's document, as fresh; only
/// in its own tenant, and no other token reads it there.
#[tokio::test]
async fn a_check_token_reads_effective_roles_as_the_admin_api_shows_them() {
    let f = fixture().await;
    let mine = effective(&f.app, &f.token, &f.alice, "").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.header("cache-control"), Some("no-store"));
    let admin = f
        .app
        .admin(
            Method::GET,
            &format!("/users/{}/effective-roles", f.alice),
            None,
        )
        .await;
    assert_eq!(mine.body, admin.body);
    let apps = mine.body["environments"][0]["applications"].to_string();
    assert!(apps.contains("Seller") && apps.contains(&f.crm), "{apps}");
    let scoped = effective(
        &f.app,
        &f.token,
        &f.alice,
        &format!("?environment_id={}", f.model.production),
    )
    .await;
    assert_eq!(scoped.body, mine.body);

    // Fresh: the role goes, and the next read no longer shows it.
    let reply = f
        .app
        .admin(Method::DELETE, &format!("/assignments/{}", f.grant), None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let after = effective(&f.app, &f.token, &f.alice, "").await;
    assert!(!after.body.to_string().contains("Seller"), "{}", after.body);

    assert_eq!(
        effective(&f.app, &f.token, &uuid::Uuid::new_v4().to_string(), "")
            .await
            .status,
        404
    );
    assert_eq!(
        effective(&f.app, &f.token, "not-a-uuid", "").await.status,
        400
    );
    assert_eq!(
        effective(&f.app, &f.token, &f.alice, "?colour=blue")
            .await
            .status,
        400
    );
    for other in [&f.app.token, &f.app.admin_token] {
        assert_eq!(effective(&f.app, other, &f.alice, "").await.status, 401);
    }
    let other = other_tenant_check_token(&f.app);
    assert_eq!(effective(&f.app, &other, &f.alice, "").await.status, 404);
}

/// The application API's OpenAPI document lists exactly the routes it serves.
#[tokio::test]
async fn the_application_api_documents_its_routes() {
    let app = spawn_app().await;
    let reply = Reply::from(
        app.client
            .get(format!("{}/api/v1/openapi.json", app.address))
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert_eq!(reply.status, 200);
    let doc = &reply.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let mut operations: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    operations.sort();
    assert_eq!(
        operations,
        [
            "get /api/v1/check",
            "get /api/v1/openapi.json",
            "get /api/v1/users/{id}/effective-roles",
            "post /api/v1/check",
        ]
    );
    for schema in [
        "CheckAnswer",
        "CheckBatch",
        "CheckResults",
        "EffectiveAccess",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["check_token"]["scheme"],
        "bearer"
    );
    let params: Vec<&str> = doc["paths"]["/api/v1/check"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        params.contains(&"user_id") && params.contains(&"privilege"),
        "{params:?}"
    );
}
