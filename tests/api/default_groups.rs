//! ToolJet's default groups (Admin, Builder, End-user — environment roles here): Builder's
//! privileges are the tenant's to edit, the other two are fixed; a user holds one of them
//! per environment; an End-user whose custom group lets them build becomes a Builder.

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{
    application, application_roles, assign, create, effective, environment_roles,
    set_environment_role, Model,
};
use crate::helpers::{spawn_app, TestApp};

fn assert_no_drift(app: &TestApp) {
    let mut conn = app.pool.get().expect("connection");
    let drift = rolegate::access::effective::drift(&mut conn, app.tenant_id).expect("drift");
    assert_eq!(
        (drift.missing, drift.extra),
        (0, 0),
        "effective roles drifted"
    );
}

fn environment_privileges(access: &Value, environment: &str) -> Vec<String> {
    access["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["environment"]["id"] == environment)
        .map(|e| {
            e["privileges"]
                .as_array()
                .expect("privileges")
                .iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn builders_privileges_are_editable_and_admin_and_end_user_are_fixed() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ann = app.create_user("ann").await;
    let builder = model.role("workspace_builder");
    set_environment_role(&app, &ann, &model.production, &builder).await;

    let reply = app
        .admin(
            Method::PATCH,
            &format!("/roles/{builder}"),
            Some(&json!({"privileges": ["workspace.apps.view", "workspace.apps.edit"]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["privileges_editable"], true);
    assert_eq!(
        environment_privileges(&effective(&app, &ann).await, &model.production),
        vec![
            "workspace.apps.edit".to_string(),
            "workspace.apps.view".to_string()
        ],
        "the holder may do what Builder now grants, at once"
    );
    // Its name stays, and the other default groups do not change at all.
    app.admin(
        Method::PATCH,
        &format!("/roles/{builder}"),
        Some(&json!({"name": "Makers"})),
    )
    .await
    .assert_rule(409, "system-role-immutable");
    app.admin(Method::DELETE, &format!("/roles/{builder}"), None)
        .await
        .assert_rule(409, "system-role-immutable");
    for fixed in ["workspace_admin", "workspace_end_user"] {
        let reply = app
            .admin(
                Method::PATCH,
                &format!("/roles/{}", model.role(fixed)),
                Some(&json!({"privileges": ["workspace.apps.view"]})),
            )
            .await;
        reply.assert_rule(409, "system-role-immutable");
        let role = app
            .admin(Method::GET, &format!("/roles/{}", model.role(fixed)), None)
            .await;
        assert_eq!(role.body["privileges_editable"], false, "{fixed}");
    }
    // One default group per user and environment: setting another replaces it.
    set_environment_role(
        &app,
        &ann,
        &model.production,
        &model.role("workspace_end_user"),
    )
    .await;
    assert_eq!(
        environment_roles(&effective(&app, &ann).await, &model.production),
        vec!["End-user".to_string()]
    );
    assert_no_drift(&app);
}

#[tokio::test]
async fn an_end_user_whose_group_lets_them_build_becomes_a_builder() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    let end_user = model.role("workspace_end_user");
    for user in [&ann, &bob] {
        set_environment_role(&app, user, &model.production, &end_user).await;
    }
    let makers = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Makers", "members": [ann]}),
    )
    .await;
    let maker = create(
        &app,
        "/roles",
        json!({"name": "Maker", "scope": "application",
               "privileges": ["application.content.view", "application.content.build"]}),
    )
    .await;
    let viewer = create(
        &app,
        "/roles",
        json!({"name": "Viewer", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    // Viewing is not building: bob stays an End-user.
    assign(
        &app,
        json!({"type": "user", "id": bob}),
        &viewer,
        json!({"application_id": crm}),
    )
    .await;
    assert_eq!(
        environment_roles(&effective(&app, &bob).await, &model.production),
        vec!["End-user".to_string()]
    );

    // The preview says that ann becomes a Builder.
    let body = json!({"principal": {"type": "end_user_group", "id": makers},
                      "role_id": maker, "application_id": crm});
    let preview = app
        .admin(Method::POST, "/assignments?dry_run=true", Some(&body))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let changes = |key: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = preview.body[key]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| {
                (
                    c["user"]["name"].as_str().unwrap_or_default().to_string(),
                    c["role"]["name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        changes("gains"),
        vec![s("ann", "Builder"), s("ann", "Maker")]
    );
    assert_eq!(changes("losses"), vec![s("ann", "End-user")]);
    assert_eq!(
        environment_roles(&effective(&app, &ann).await, &model.production),
        vec!["End-user".to_string()],
        "a dry run changes nothing"
    );

    let audit_before = app.audit_trail().len();
    let reply = app.admin(Method::POST, "/assignments", Some(&body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let ann_access = effective(&app, &ann).await;
    assert_eq!(
        environment_roles(&ann_access, &model.production),
        vec!["Builder".to_string()]
    );
    assert_eq!(
        application_roles(&ann_access, &crm),
        ["Maker".to_string()].into()
    );
    assert_eq!(
        environment_roles(&effective(&app, &bob).await, &model.production),
        vec!["End-user".to_string()]
    );
    // Audited: the assignment and the promotion.
    let trail = app.audit_trail();
    let new: Vec<_> = trail[audit_before..]
        .iter()
        .map(|(t, _, op)| (t.as_str(), op.as_str()))
        .collect();
    assert_eq!(
        new,
        vec![("Assignment", "create"), ("Assignment", "update")]
    );
    assert_no_drift(&app);

    // Through the identity provider too: bob joins an IdP group mapped into Makers.
    let idp = app.create_group("makers-idp", &[]).await;
    let reply = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": idp, "end_user_group_id": makers})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = app
        .patch(
            &format!("/Groups/{idp}"),
            &crate::helpers::patch_ops(
                json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
            ),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    assert_eq!(
        environment_roles(&effective(&app, &bob).await, &model.production),
        vec!["Builder".to_string()]
    );
    assert_no_drift(&app);
}

#[tokio::test]
async fn a_role_edit_that_lets_its_end_users_build_makes_them_builders() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let (ann, bob) = (app.create_user("ann").await, app.create_user("bob").await);
    set_environment_role(
        &app,
        &ann,
        &model.production,
        &model.role("workspace_end_user"),
    )
    .await;
    let viewer = create(
        &app,
        "/roles",
        json!({"name": "Viewer", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    for user in [&ann, &bob] {
        assign(
            &app,
            json!({"type": "user", "id": user}),
            &viewer,
            json!({"application_id": crm}),
        )
        .await;
    }
    let edit = json!({"privileges": ["application.content.view", "application.content.build"]});
    let preview = app
        .admin(
            Method::PATCH,
            &format!("/roles/{viewer}?dry_run=true"),
            Some(&edit),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["gains"][0]["user"]["name"], "ann");
    assert_eq!(preview.body["gains"][0]["role"]["name"], "Builder");
    assert_eq!(preview.body["losses"][0]["role"]["name"], "End-user");
    assert_eq!(
        preview.body["users_gaining"], 1,
        "bob has no default group to change"
    );
    assert_eq!(
        environment_roles(&effective(&app, &ann).await, &model.production),
        vec!["End-user".to_string()]
    );
    let reply = app
        .admin(Method::PATCH, &format!("/roles/{viewer}"), Some(&edit))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        environment_roles(&effective(&app, &ann).await, &model.production),
        vec!["Builder".to_string()]
    );
    assert!(environment_roles(&effective(&app, &bob).await, &model.production).is_empty());
    assert_no_drift(&app);
}
