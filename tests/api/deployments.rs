//! Deploying a project to another environment (Workato): created the first time with the
//! deployer as Project admin, reused after; the source's assignments are suggested for the
//! target and accepted or rejected.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{
    application, application_roles, assign, create, effective, environment, set_environment_role,
    Model,
};
use crate::helpers::{spawn_app, TestApp};

struct Project {
    app: TestApp,
    test: String,
    crm: String,
    ann: String,
    bob: String,
    dev: String,
    dev_token: String,
    test_sales: String,
}

async fn project() -> Project {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let test = environment(&app, "Test").await;
    let crm = application(&app, &model.production, "CRM").await;
    let (ann, bob, dev) = (
        app.create_user("ann").await,
        app.create_user("bob").await,
        app.create_user("dev").await,
    );
    let group = |environment: &str, name: &str, members: Vec<&str>| {
        create(
            &app,
            "/end-user-groups",
            json!({"environment_id": environment, "name": name, "members": members}),
        )
    };
    let sales = group(&model.production, "Sales", vec![&bob]).await;
    let support = group(&model.production, "Support", vec![&bob]).await;
    let test_sales = group(&test, "sales", vec![&bob]).await;
    let on_crm = json!({"application_id": crm});
    assign(
        &app,
        json!({"type": "user", "id": ann}),
        &model.role("builder"),
        on_crm.clone(),
    )
    .await;
    for g in [&sales, &support] {
        assign(
            &app,
            json!({"type": "end_user_group", "id": g}),
            &model.role("project_operator"),
            on_crm.clone(),
        )
        .await;
    }
    assign(
        &app,
        json!({"type": "everyone_else"}),
        &model.role("project_operator"),
        on_crm.clone(),
    )
    .await;
    // The deployer may deploy CRM (Advanced builder there) but, for now, create nothing
    // in Test.
    assign(
        &app,
        json!({"type": "user", "id": dev}),
        &model.role("advanced_builder"),
        on_crm,
    )
    .await;
    let dev_token = app.admin_token_for(&dev);
    Project {
        app,
        test,
        crm,
        ann,
        bob,
        dev,
        dev_token,
        test_sales,
    }
}

impl Project {
    async fn deploy(&self, token: &str, query: &str) -> crate::helpers::Reply {
        self.app
            .admin_as(
                Some(token),
                Method::POST,
                &format!("/applications/{}/deploy{query}", self.crm),
                Some(&json!({"environment_id": self.test})),
            )
            .await
    }

    async fn applications_in_test(&self) -> Vec<Value> {
        let reply = self
            .app
            .admin(
                Method::GET,
                &format!("/applications?environment_id={}", self.test),
                None,
            )
            .await;
        reply.body["applications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn principals(suggestions: &Value) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = suggestions
        .as_array()
        .expect("suggestions")
        .iter()
        .map(|s| {
            (
                s["principal"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                s["principal"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    p.sort();
    p
}

#[tokio::test]
async fn the_first_deployment_creates_the_project_and_the_next_reuses_it() {
    let p = project().await;
    let model = Model::load(&p.app).await;

    // Without Create project in Test: refused, nothing made.
    let refused = p.deploy(&p.dev_token, "").await;
    refused.assert_rule(403, "insufficient-privilege");
    assert_eq!(
        refused.body["privilege"],
        "project_management.manage_projects.create"
    );
    assert!(p.applications_in_test().await.is_empty());

    set_environment_role(&p.app, &p.dev, &p.test, &model.role("environment_manager")).await;
    // A dry run previews the deployer becoming Project admin, and changes nothing.
    let preview = p.deploy(&p.dev_token, "?dry_run=true").await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["gains"][0]["user"]["name"], "dev");
    assert_eq!(preview.body["gains"][0]["role"]["name"], "Project admin");
    assert!(p.applications_in_test().await.is_empty());

    let first = p.deploy(&p.dev_token, "").await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["created"], true);
    assert_eq!(first.body["application"]["name"], "CRM");
    assert_eq!(first.body["application"]["environment_id"], p.test.as_str());
    let target = first.body["application"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        application_roles(&effective(&p.app, &p.dev).await, &target),
        ["Project admin".to_string()].into()
    );
    // Suggested: the users' roles, the end-user group's as Test's group of the same name
    // (Support has none there), and Everyone else.
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    let mut expected = vec![
        s("end_user_group", &p.test_sales),
        s("everyone_else", ""),
        s("user", &p.ann),
        s("user", &p.dev),
    ];
    expected.sort();
    assert_eq!(principals(&first.body["suggestions"]), expected);
    // Suggestions are not assignments yet.
    assert!(application_roles(&effective(&p.app, &p.ann).await, &target).is_empty());

    // Deploying again reuses the project (Deploy is needed there too: dev is its Project
    // admin) and suggests nothing twice.
    let second = p.deploy(&p.dev_token, "").await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["created"], false);
    assert_eq!(second.body["application"]["id"], target.as_str());
    assert_eq!(principals(&second.body["suggestions"]), expected);
    assert_eq!(p.applications_in_test().await.len(), 1);
    assert!(p
        .app
        .audit_trail()
        .iter()
        .any(|(t, id, op)| t == "Application" && id == &target && op == "deploy"));
}

#[tokio::test]
async fn suggestions_are_accepted_into_assignments_or_rejected() {
    let p = project().await;
    let model = Model::load(&p.app).await;
    set_environment_role(&p.app, &p.dev, &p.test, &model.role("environment_manager")).await;
    let first = p.deploy(&p.dev_token, "").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let target = first.body["application"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let id_of = |kind: &str| -> String {
        first.body["suggestions"]
            .as_array()
            .expect("suggestions")
            .iter()
            .find(|s| s["principal"]["type"] == kind && s["principal"]["id"] != p.dev.as_str())
            .and_then(|s| s["id"].as_str())
            .expect("a suggestion")
            .to_string()
    };
    let (to_ann, to_sales, to_everyone) = (
        id_of("user"),
        id_of("end_user_group"),
        id_of("everyone_else"),
    );
    let path = |rest: &str| format!("/applications/{target}/role-suggestions{rest}");

    // An unknown id refuses the whole request, and the answer names it (only it).
    let unknown = uuid::Uuid::new_v4().to_string();
    let reply = p
        .app
        .admin(
            Method::POST,
            &path("/accept"),
            Some(&json!({"ids": [to_ann, unknown]})),
        )
        .await;
    reply.assert_rule(422, "unknown-reference");
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&unknown) && !detail.contains(&to_ann),
        "{detail}"
    );
    // 1 to 1,000 ids: none, or more than that, is a bad request before anything is read.
    let many = |n: usize| json!({"ids": (0..n).map(|_| uuid::Uuid::new_v4()).collect::<Vec<_>>()});
    for (body, status) in [
        (json!({"ids": []}), 400),
        (many(1001), 400),
        (many(1000), 422),
    ] {
        let reply = p
            .app
            .admin(Method::POST, &path("/accept"), Some(&body))
            .await;
        assert_eq!(reply.status, status, "{}", reply.body);
    }
    let reply = p
        .app
        .admin(
            Method::POST,
            &path("/accept"),
            Some(&json!({"ids": [to_ann, to_sales]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["assignments"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        application_roles(&effective(&p.app, &p.ann).await, &target),
        ["Builder".to_string()].into()
    );
    assert_eq!(
        application_roles(&effective(&p.app, &p.bob).await, &target),
        ["Project operator".to_string()].into(),
        "bob is in Test's Sales group"
    );

    let reply = p
        .app
        .admin(Method::DELETE, &path(&format!("/{to_everyone}")), None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let reply = p
        .app
        .admin(Method::DELETE, &path(&format!("/{to_everyone}")), None)
        .await;
    assert_eq!(reply.status, 404, "a suggestion is rejected once");
    let left = p.app.admin(Method::GET, &path(""), None).await;
    assert_eq!(
        principals(&left.body["suggestions"]),
        vec![("user".to_string(), p.dev.clone())]
    );
    let trail = p.app.audit_trail();
    assert!(trail
        .iter()
        .any(|(t, id, op)| t == "RoleSuggestion" && id == &to_ann && op == "accept"));
    assert!(trail
        .iter()
        .any(|(t, id, op)| t == "RoleSuggestion" && id == &to_everyone && op == "reject"));

    // Another tenant sees none of it.
    let other = p.app.other_tenant_admin_token();
    let reply = p
        .app
        .admin_as(Some(&other), Method::GET, &path(""), None)
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn reusing_a_project_needs_deploy_there_and_a_refusal_changes_nothing() {
    let p = project().await;
    let model = Model::load(&p.app).await;
    set_environment_role(&p.app, &p.dev, &p.test, &model.role("environment_manager")).await;
    assert_eq!(p.deploy(&p.dev_token, "").await.status, 201);
    // eve may deploy CRM and create projects in Test, but holds nothing on Test's CRM.
    let eve = p.app.create_user("eve").await;
    assign(
        &p.app,
        json!({"type": "user", "id": eve}),
        &model.role("advanced_builder"),
        json!({"application_id": p.crm}),
    )
    .await;
    set_environment_role(&p.app, &eve, &p.test, &model.role("environment_manager")).await;
    let eve_token = p.app.admin_token_for(&eve);
    let audit_before = p.app.audit_trail().len();
    let refused = p.deploy(&eve_token, "").await;
    refused.assert_rule(403, "insufficient-privilege");
    assert_eq!(refused.body["privilege"], "application.deployments.deploy");
    assert_eq!(p.app.audit_trail().len(), audit_before);
    // Deploying into the project's own environment is refused.
    let reply = p
        .app
        .admin(
            Method::POST,
            &format!("/applications/{}/deploy", p.crm),
            Some(&json!({"environment_id": model.production})),
        )
        .await;
    reply.assert_rule(409, "deploy-same-environment");
}
