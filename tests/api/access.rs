//! The access model over the admin API: roles and privileges, assignments and their rules,
//! effective roles with their paths, dry runs, lockout protection.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{patch_ops, spawn_app, TestApp};

/// Ids of well-known things of a test tenant.
pub struct Model {
    pub production: String,
    pub roles: Value,
}

impl Model {
    pub async fn load(app: &TestApp) -> Model {
        let production = app.admin(Method::GET, "/environments", None).await.body["environments"]
            [0]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let roles = app.admin(Method::GET, "/roles", None).await.body["roles"].clone();
        Model { production, roles }
    }

    /// A system role's id by its key.
    pub fn role(&self, system_key: &str) -> String {
        self.roles
            .as_array()
            .expect("roles")
            .iter()
            .find(|r| r["system_key"] == system_key)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("no role {system_key}"))
            .to_string()
    }
}

pub async fn create(app: &TestApp, path: &str, body: Value) -> String {
    let reply = app.admin(Method::POST, path, Some(&body)).await;
    assert_eq!(reply.status, 201, "{path}: {}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

pub async fn environment(app: &TestApp, name: &str) -> String {
    create(app, "/environments", json!({"name": name})).await
}

pub async fn application(app: &TestApp, environment: &str, name: &str) -> String {
    create(
        app,
        "/applications",
        json!({"environment_id": environment, "name": name}),
    )
    .await
}

pub async fn assign(app: &TestApp, principal: Value, role: &str, scope: Value) -> String {
    let mut body = json!({"principal": principal, "role_id": role});
    if let (Some(b), Some(s)) = (body.as_object_mut(), scope.as_object()) {
        b.extend(s.clone());
    }
    create(app, "/assignments", body).await
}

pub async fn set_environment_role(app: &TestApp, user: &str, environment: &str, role: &str) {
    let reply = app
        .admin(
            Method::PUT,
            &format!("/users/{user}/environments/{environment}/role"),
            Some(&json!({"role_id": role})),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 201, "{}", reply.body);
}

pub async fn effective(app: &TestApp, user: &str) -> Value {
    let reply = app
        .admin(Method::GET, &format!("/users/{user}/effective-roles"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn environment_of<'a>(access: &'a Value, environment: &str) -> &'a Value {
    access["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .find(|e| e["environment"]["id"] == environment)
        .expect("the environment")
}

/// Role names held at environment level in an environment.
pub fn environment_roles(access: &Value, environment: &str) -> Vec<String> {
    names(&environment_of(access, environment)["roles"])
}

fn names(roles: &Value) -> Vec<String> {
    roles
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["role"]["name"].as_str().expect("name").to_string())
        .collect()
}

fn application_of<'a>(access: &'a Value, application: &str) -> Option<&'a Value> {
    access["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .flat_map(|e| e["applications"].as_array().expect("applications").iter())
        .find(|a| a["application"]["id"] == application)
}

/// Role names held on an application.
pub fn application_roles(access: &Value, application: &str) -> BTreeSet<String> {
    application_of(access, application)
        .map(|a| names(&a["roles"]).into_iter().collect())
        .unwrap_or_default()
}

/// Privileges held on an application.
pub fn application_privileges(access: &Value, application: &str) -> BTreeSet<String> {
    application_of(access, application)
        .map(|a| {
            a["privileges"]
                .as_array()
                .expect("privileges")
                .iter()
                .map(|p| p.as_str().expect("key").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The path kinds by which a role reaches the user on an application.
fn path_kinds(access: &Value, application: &str, role: &str) -> BTreeSet<String> {
    application_of(access, application)
        .and_then(|a| {
            a["roles"]
                .as_array()
                .expect("roles")
                .iter()
                .find(|r| r["role"]["name"] == role)
        })
        .map(|r| {
            r["paths"]
                .as_array()
                .expect("paths")
                .iter()
                .map(|p| p["kind"].as_str().expect("kind").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn privileges(access: &Value, environment: &str) -> BTreeSet<String> {
    environment_of(access, environment)["privileges"]
        .as_array()
        .expect("privileges")
        .iter()
        .map(|p| p.as_str().expect("key").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn the_catalogue_and_system_roles_are_seeded_and_immutable() {
    let app = spawn_app().await;
    let catalogue = app.admin(Method::GET, "/privileges", None).await;
    assert_eq!(catalogue.status, 200);
    let all = catalogue.body["privileges"].as_array().expect("privileges");
    let environment_scope = all.iter().filter(|p| p["scope"] == "environment").count();
    assert_eq!(
        environment_scope, 111,
        "Workato's matrix (101) and ToolJet's workspace (10)"
    );
    assert!(all
        .iter()
        .any(|p| p["key"] == "tools.event_streams.view_history"));

    let model = Model::load(&app).await;
    let names: Vec<(String, String)> = model
        .roles
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| {
            (
                r["scope"].as_str().expect("scope").to_string(),
                r["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    for (scope, name) in [
        ("environment", "Environment admin"),
        ("environment", "Environment manager"),
        ("environment", "Member"),
        ("environment", "No access"),
        ("environment", "Admin"),
        ("environment", "Builder"),
        ("environment", "End-user"),
        ("application", "Project admin"),
        ("application", "Advanced builder"),
        ("application", "Builder"),
        ("application", "Project operator"),
        ("application", "No access"),
    ] {
        assert!(
            names.contains(&(scope.to_string(), name.to_string())),
            "{scope} {name}"
        );
    }
    let role = |key: &str| -> Value {
        model
            .roles
            .as_array()
            .expect("roles")
            .iter()
            .find(|r| r["system_key"] == key)
            .cloned()
            .expect("role")
    };
    let keys = |r: &Value| -> BTreeSet<String> {
        r["privileges"]
            .as_array()
            .expect("privileges")
            .iter()
            .map(|p| p.as_str().expect("key").to_string())
            .collect()
    };
    let admin = keys(&role("environment_admin"));
    let manager = keys(&role("environment_manager"));
    assert_eq!(admin.len(), 101);
    assert_eq!(manager.len(), 83);
    assert!(manager.is_subset(&admin));
    let dropped: BTreeSet<String> = admin.difference(&manager).cloned().collect();
    for key in [
        "project_management.manage_projects.full_access",
        "project_management.manage_projects.access_control",
        "tools.recipe_lifecycle_management.full_access",
        "tools.logs.full_access",
        "insights.insights.view",
        "workspace_access.collaborators.full_access",
        "environment_settings.activity_audit.full_access",
        "automation_hq.automation_hq.full_access",
    ] {
        assert!(dropped.contains(key), "{key}");
    }
    assert!(manager.contains("project_management.manage_projects.create"));
    assert!(manager.contains("solutions_access.end_users_and_groups.full_access"));
    assert_eq!(
        keys(&role("member")),
        set(&["connector_sdk.use_in_recipes.full_access"])
    );
    assert!(keys(&role("environment_no_access")).is_empty());
    assert_eq!(
        keys(&role("project_operator")),
        set(&["application.content.view", "application.recipes.run_stop"])
    );

    // System roles cannot change.
    let member = model.role("member");
    app.admin(
        Method::PATCH,
        &format!("/roles/{member}"),
        Some(&json!({"name": "Viewer"})),
    )
    .await
    .assert_rule(409, "system-role-immutable");
    app.admin(Method::DELETE, &format!("/roles/{member}"), None)
        .await
        .assert_rule(409, "system-role-immutable");
}

#[tokio::test]
async fn custom_roles_are_built_from_the_catalogue() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    app.admin(
        Method::POST,
        "/roles",
        Some(&json!({"name": "Auditor", "scope": "environment", "privileges": ["no.such.privilege"]})),
    )
    .await
    .assert_rule(422, "unknown-privilege");
    app.admin(
        Method::POST,
        "/roles",
        Some(&json!({"name": "Auditor", "scope": "environment", "privileges": ["application.content.view"]})),
    )
    .await
    .assert_rule(422, "unknown-privilege");
    app.admin(
        Method::POST,
        "/roles",
        Some(&json!({"name": "member", "scope": "environment", "privileges": []})),
    )
    .await
    .assert_rule(409, "uniqueness");

    let auditor = create(
        &app,
        "/roles",
        json!({"name": "Auditor", "scope": "environment",
               "privileges": ["environment_settings.activity_audit.full_access"]}),
    )
    .await;
    app.admin(
        Method::PATCH,
        &format!("/roles/{auditor}"),
        Some(&json!({"scope": "application"})),
    )
    .await
    .assert_rule(409, "role-scope-fixed");

    let ann = app.create_user("ann").await;
    set_environment_role(&app, &ann, &model.production, &auditor).await;
    assert_eq!(
        privileges(&effective(&app, &ann).await, &model.production),
        set(&["environment_settings.activity_audit.full_access"])
    );
    // Editing the role changes what its holders may do, at once.
    let edited = app
        .admin(
            Method::PATCH,
            &format!("/roles/{auditor}"),
            Some(
                &json!({"privileges": ["environment_settings.activity_audit.full_access",
                                        "tools.logs.full_access"]}),
            ),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(
        privileges(&effective(&app, &ann).await, &model.production),
        set(&[
            "environment_settings.activity_audit.full_access",
            "tools.logs.full_access"
        ])
    );
    // Deleting it removes it from its holders.
    assert_eq!(
        app.admin(Method::DELETE, &format!("/roles/{auditor}"), None)
            .await
            .status,
        204
    );
    assert!(environment_roles(&effective(&app, &ann).await, &model.production).is_empty());
}

#[tokio::test]
async fn assignment_rules_are_enforced_with_their_own_errors() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let testing = environment(&app, "Testing").await;
    let ann = app.create_user("ann").await;
    let crm = application(&app, &model.production, "CRM").await;
    let marketing = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Marketing"}),
    )
    .await;
    let qa = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": testing, "name": "QA"}),
    )
    .await;
    let post = |body: Value| {
        let app = &app;
        async move { app.admin(Method::POST, "/assignments", Some(&body)).await }
    };
    let member = model.role("member");
    let operator = model.role("project_operator");

    // Environment roles go to individual users only.
    post(
        json!({"principal": {"type": "end_user_group", "id": marketing},
                "role_id": member, "environment_id": model.production}),
    )
    .await
    .assert_rule(422, "environment-role-to-user-only");
    post(json!({"principal": {"type": "everyone_else"},
                "role_id": member, "environment_id": model.production}))
    .await
    .assert_rule(422, "environment-role-to-user-only");
    // Scopes must match the role.
    post(json!({"principal": {"type": "user", "id": ann},
                "role_id": member, "application_id": crm}))
    .await
    .assert_rule(422, "role-scope-mismatch");
    post(json!({"principal": {"type": "user", "id": ann},
                "role_id": operator, "environment_id": model.production}))
    .await
    .assert_rule(422, "role-scope-mismatch");
    // An end-user group gets roles only in its own environment.
    post(json!({"principal": {"type": "end_user_group", "id": qa},
                "role_id": operator, "application_id": crm}))
    .await
    .assert_rule(422, "cross-environment");
    // One environment role per user per environment.
    let first = post(json!({"principal": {"type": "user", "id": ann},
                            "role_id": member, "environment_id": model.production}))
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    post(json!({"principal": {"type": "user", "id": ann},
                "role_id": model.role("environment_admin"), "environment_id": model.production}))
    .await
    .assert_rule(409, "one-environment-role");
    // ... but any number of application roles.
    for role in ["project_operator", "builder"] {
        let reply = post(json!({"principal": {"type": "user", "id": ann},
                                "role_id": model.role(role), "application_id": crm}))
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    post(json!({"principal": {"type": "user", "id": ann},
                "role_id": model.role("builder"), "application_id": crm}))
    .await
    .assert_rule(409, "uniqueness");
    // One default role for everyone else per application.
    let default = post(json!({"principal": {"type": "everyone_else"},
                              "role_id": operator, "application_id": crm}))
    .await;
    assert_eq!(default.status, 201, "{}", default.body);
    post(json!({"principal": {"type": "everyone_else"},
                "role_id": model.role("builder"), "application_id": crm}))
    .await
    .assert_rule(409, "one-everyone-else");
    // References must be of this tenant.
    let stranger = uuid::Uuid::new_v4();
    post(json!({"principal": {"type": "user", "id": stranger},
                "role_id": operator, "application_id": crm}))
    .await
    .assert_rule(422, "unknown-reference");
    // An application stays in its environment; so does an end-user group.
    app.admin(
        Method::PATCH,
        &format!("/applications/{crm}"),
        Some(&json!({"environment_id": testing})),
    )
    .await
    .assert_rule(409, "environment-fixed");
    app.admin(
        Method::PATCH,
        &format!("/end-user-groups/{marketing}"),
        Some(&json!({"environment_id": testing})),
    )
    .await
    .assert_rule(409, "environment-fixed");
}

/// "Everyone else" reaches only users with no individual or group assignment on the
/// application, and an explicit No access counts as one.
#[tokio::test]
async fn everyone_else_applies_only_without_other_assignments() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let cat = app.create_user("cat").await;
    assign(
        &app,
        json!({"type": "everyone_else"}),
        &model.role("project_operator"),
        json!({"application_id": crm}),
    )
    .await;
    assign(
        &app,
        json!({"type": "user", "id": bob}),
        &model.role("application_no_access"),
        json!({"application_id": crm}),
    )
    .await;
    let sales = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales", "members": [cat]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": sales}),
        &model.role("builder"),
        json!({"application_id": crm}),
    )
    .await;

    let ann_access = effective(&app, &ann).await;
    assert_eq!(
        application_roles(&ann_access, &crm),
        set(&["Project operator"])
    );
    assert_eq!(
        path_kinds(&ann_access, &crm, "Project operator"),
        set(&["everyone_else"])
    );
    let bob_access = effective(&app, &bob).await;
    assert_eq!(application_roles(&bob_access, &crm), set(&["No access"]));
    assert!(application_privileges(&bob_access, &crm).is_empty());
    assert_eq!(
        application_roles(&effective(&app, &cat).await, &crm),
        set(&["Builder"])
    );

    // Leaving the group, cat falls back to everyone else.
    let removed = app
        .admin(
            Method::DELETE,
            &format!("/end-user-groups/{sales}/members"),
            Some(&json!({"users": [cat]})),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        application_roles(&effective(&app, &cat).await, &crm),
        set(&["Project operator"])
    );
    // A user provisioned now gets the default at once; a deactivated one holds nothing.
    let dan = app.create_user("dan").await;
    assert_eq!(
        application_roles(&effective(&app, &dan).await, &crm),
        set(&["Project operator"])
    );
    let deactivated = app
        .patch(
            &format!("/Users/{dan}"),
            &patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(deactivated.status, 200);
    assert!(application_roles(&effective(&app, &dan).await, &crm).is_empty());
    app.patch(
        &format!("/Users/{dan}"),
        &patch_ops(json!([{"op": "replace", "path": "active", "value": true}])),
    )
    .await;
    assert_eq!(
        application_roles(&effective(&app, &dan).await, &crm),
        set(&["Project operator"])
    );
}

/// The documents' examples: the DevOps engineer's environment roles; union across groups;
/// an Entra group mapped into Production's Marketing group.
#[tokio::test]
async fn the_documented_scenarios() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let production = model.production.clone();
    let development = environment(&app, "Development").await;
    let testing = environment(&app, "Testing").await;

    // A DevOps engineer: Environment admin in Development, Member in Testing, No access in
    // Production.
    let devops = app.create_user("devops").await;
    set_environment_role(
        &app,
        &devops,
        &development,
        &model.role("environment_admin"),
    )
    .await;
    set_environment_role(&app, &devops, &testing, &model.role("member")).await;
    set_environment_role(
        &app,
        &devops,
        &production,
        &model.role("environment_no_access"),
    )
    .await;
    let access = effective(&app, &devops).await;
    assert_eq!(
        environment_roles(&access, &development),
        vec!["Environment admin"]
    );
    assert_eq!(environment_roles(&access, &testing), vec!["Member"]);
    assert_eq!(environment_roles(&access, &production), vec!["No access"]);
    assert_eq!(privileges(&access, &development).len(), 101);
    assert!(
        privileges(&access, &development).contains("workspace_access.collaborators.full_access")
    );
    assert_eq!(
        privileges(&access, &testing),
        set(&["connector_sdk.use_in_recipes.full_access"])
    );
    assert!(privileges(&access, &production).is_empty());
    // Changing one environment's role replaces it there only.
    set_environment_role(&app, &devops, &testing, &model.role("environment_manager")).await;
    let access = effective(&app, &devops).await;
    assert_eq!(
        environment_roles(&access, &testing),
        vec!["Environment manager"]
    );
    assert_eq!(
        environment_roles(&access, &development),
        vec!["Environment admin"]
    );

    // A user in two groups holding Project operator and Builder gets both privilege sets.
    let pipeline = application(&app, &development, "Pipeline").await;
    let eve = app.create_user("eve").await;
    let operators = create(
        &app,
        "/collaborator-groups",
        json!({"name": "Operators", "members": [eve]}),
    )
    .await;
    let builders = create(
        &app,
        "/collaborator-groups",
        json!({"name": "Builders", "members": [eve]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "collaborator_group", "id": operators}),
        &model.role("project_operator"),
        json!({"application_id": pipeline}),
    )
    .await;
    assign(
        &app,
        json!({"type": "collaborator_group", "id": builders}),
        &model.role("builder"),
        json!({"application_id": pipeline}),
    )
    .await;
    let access = effective(&app, &eve).await;
    assert_eq!(
        application_roles(&access, &pipeline),
        set(&["Builder", "Project operator"])
    );
    assert_eq!(
        application_privileges(&access, &pipeline),
        set(&[
            "application.content.build",
            "application.content.view",
            "application.deployments.request",
            "application.recipes.run_stop",
        ])
    );

    // An Entra group mapped into Production's Marketing group grants its roles at once;
    // revoking the mapping removes only what the mapping granted.
    let campaigns = application(&app, &production, "Campaigns").await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let entra = app.create_group("Entra Marketing", &[&ann, &bob]).await;
    let marketing = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": production, "name": "Marketing", "members": [ann]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": marketing}),
        &model.role("project_operator"),
        json!({"application_id": campaigns}),
    )
    .await;
    assert!(application_roles(&effective(&app, &bob).await, &campaigns).is_empty());
    let mapped = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": entra, "end_user_group_id": marketing})),
        )
        .await;
    assert_eq!(mapped.status, 201, "{}", mapped.body);
    let bob_access = effective(&app, &bob).await;
    assert_eq!(
        application_roles(&bob_access, &campaigns),
        set(&["Project operator"])
    );
    assert_eq!(
        path_kinds(&bob_access, &campaigns, "Project operator"),
        set(&["group_mapping"])
    );
    assert_eq!(
        path_kinds(&effective(&app, &ann).await, &campaigns, "Project operator"),
        set(&["end_user_group", "group_mapping"])
    );
    // A new member of the Entra group gains the role with the SCIM push.
    let cal = app.create_user("cal").await;
    let pushed = app
        .patch(
            &format!("/Groups/{entra}"),
            &patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": cal}]}])),
        )
        .await;
    assert_eq!(pushed.status, 204, "{}", pushed.body);
    assert_eq!(
        application_roles(&effective(&app, &cal).await, &campaigns),
        set(&["Project operator"])
    );
    let unmapped = app
        .admin(
            Method::DELETE,
            &format!("/group-mappings/{entra}/{marketing}"),
            None,
        )
        .await;
    assert_eq!(unmapped.status, 204);
    assert!(application_roles(&effective(&app, &bob).await, &campaigns).is_empty());
    assert!(application_roles(&effective(&app, &cal).await, &campaigns).is_empty());
    assert_eq!(
        path_kinds(&effective(&app, &ann).await, &campaigns, "Project operator"),
        set(&["end_user_group"])
    );
    // Who holds it now?
    let holders = app
        .admin(
            Method::GET,
            &format!(
                "/effective-roles?role_id={}",
                model.role("project_operator")
            ),
            None,
        )
        .await;
    let mut holder_names: Vec<String> = holders.body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["userName"].as_str().expect("name").to_string())
        .collect();
    holder_names.sort();
    assert_eq!(holder_names, vec!["ann", "eve"]);
    let by_privilege = app
        .admin(
            Method::GET,
            "/effective-roles?privilege=workspace_access.collaborators.full_access",
            None,
        )
        .await;
    assert_eq!(by_privilege.body["users"][0]["userName"], "devops");
}

#[tokio::test]
async fn a_dry_run_reports_gains_and_losses_and_changes_nothing() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let campaigns = application(&app, &model.production, "Campaigns").await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let entra = app.create_group("Entra Marketing", &[&ann, &bob]).await;
    let marketing = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Marketing", "members": [ann]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": marketing}),
        &model.role("project_operator"),
        json!({"application_id": campaigns}),
    )
    .await;
    let audit_before = app.audit_trail().len();

    let preview = app
        .admin(
            Method::POST,
            "/group-mappings?dry_run=true",
            Some(&json!({"idp_group_id": entra, "end_user_group_id": marketing})),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["dry_run"], true);
    assert_eq!(preview.body["users_gaining"], 1, "ann already has the role");
    assert_eq!(preview.body["gains"][0]["user"]["name"], "bob");
    assert_eq!(preview.body["gains"][0]["role"]["name"], "Project operator");
    assert_eq!(preview.body["gains"][0]["application"]["name"], "Campaigns");
    assert_eq!(preview.body["losses"], json!([]));
    // Nothing changed.
    let mappings = app.admin(Method::GET, "/group-mappings", None).await;
    assert_eq!(mappings.body["group_mappings"], json!([]));
    assert!(application_roles(&effective(&app, &bob).await, &campaigns).is_empty());
    assert_eq!(app.audit_trail().len(), audit_before);

    // With a direct member, deleting needs force.
    app.admin(
        Method::DELETE,
        &format!("/end-user-groups/{marketing}?dry_run=true"),
        None,
    )
    .await
    .assert_rule(409, "group-has-members");
    // Deleting the group would take the role from ann.
    let preview = app
        .admin(
            Method::DELETE,
            &format!("/end-user-groups/{marketing}?force=true&dry_run=true"),
            None,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["users_losing"], 1);
    assert_eq!(preview.body["losses"][0]["user"]["name"], "ann");
    assert!(
        app.admin(Method::GET, &format!("/end-user-groups/{marketing}"), None)
            .await
            .status
            == 200
    );
    assert_eq!(
        application_roles(&effective(&app, &ann).await, &campaigns),
        set(&["Project operator"])
    );
    // Applied for real, it does what the preview said.
    assert_eq!(
        app.admin(
            Method::DELETE,
            &format!("/end-user-groups/{marketing}?force=true"),
            None
        )
        .await
        .status,
        204
    );
    assert!(application_roles(&effective(&app, &ann).await, &campaigns).is_empty());
}

/// A mapping's deletion, previewed, names who would lose what: not a direct member of the
/// end-user group, who keeps the role that way.
#[tokio::test]
async fn a_dry_run_of_a_mapping_deletion_names_only_the_members_who_lose() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let campaigns = application(&app, &model.production, "Campaigns").await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let entra = app.create_group("Entra Marketing", &[&ann, &bob]).await;
    let marketing = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Marketing", "members": [ann]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": marketing}),
        &model.role("project_operator"),
        json!({"application_id": campaigns}),
    )
    .await;
    let mapped = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": entra, "end_user_group_id": marketing})),
        )
        .await;
    assert_eq!(mapped.status, 201, "{}", mapped.body);
    let audit_before = app.audit_trail().len();
    let mapping = format!("/group-mappings/{entra}/{marketing}");

    let preview = app
        .admin(Method::DELETE, &format!("{mapping}?dry_run=true"), None)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["dry_run"], true);
    assert_eq!(preview.body["users_losing"], 1, "ann is a direct member");
    assert_eq!(preview.body["losses"][0]["user"]["name"], "bob");
    assert_eq!(
        preview.body["losses"][0]["role"]["name"],
        "Project operator"
    );
    assert_eq!(
        preview.body["losses"][0]["application"]["name"],
        "Campaigns"
    );
    assert_eq!(preview.body["gains"], json!([]));
    // Nothing changed.
    assert_eq!(
        application_roles(&effective(&app, &bob).await, &campaigns),
        set(&["Project operator"])
    );
    assert_eq!(app.audit_trail().len(), audit_before);

    assert_eq!(app.admin(Method::DELETE, &mapping, None).await.status, 204);
    assert!(application_roles(&effective(&app, &bob).await, &campaigns).is_empty());
    assert_eq!(
        application_roles(&effective(&app, &ann).await, &campaigns),
        set(&["Project operator"])
    );
}

#[tokio::test]
async fn admins_cannot_remove_the_last_admin_access_or_their_own_by_mistake() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let admin_role = model.role("environment_admin");
    let member = model.role("member");
    let ursula = app.create_user("ursula").await;
    let victor = app.create_user("victor").await;
    set_environment_role(&app, &ursula, &model.production, &admin_role).await;
    set_environment_role(&app, &victor, &model.production, &admin_role).await;
    let ursula_token = app.admin_token_for(&ursula);
    let path = |user: &str| format!("/users/{user}/environments/{}/role", model.production);

    // Ursula demoting herself needs the confirmation flag.
    app.admin_as(
        Some(&ursula_token),
        Method::PUT,
        &path(&ursula),
        Some(&json!({"role_id": member})),
    )
    .await
    .assert_rule(409, "self-lockout");
    let confirmed = app
        .admin_as(
            Some(&ursula_token),
            Method::PUT,
            &format!("{}?confirm_self_lockout=true", path(&ursula)),
            Some(&json!({"role_id": member})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);

    // Victor is now the last admin: nobody removes that, confirmed or not.
    for query in ["", "?confirm_self_lockout=true"] {
        app.admin(
            Method::PUT,
            &format!("{}{query}", path(&victor)),
            Some(&json!({"role_id": member})),
        )
        .await
        .assert_rule(409, "last-admin");
    }
    app.admin(Method::POST, &format!("/users/{victor}/archive"), None)
        .await
        .assert_rule(409, "last-admin");
    app.admin(
        Method::DELETE,
        &format!("/users/{victor}/environments/{}/access", model.production),
        None,
    )
    .await
    .assert_rule(409, "last-admin");
    assert_eq!(
        environment_roles(&effective(&app, &victor).await, &model.production),
        vec!["Environment admin"]
    );
}

#[tokio::test]
async fn creating_an_application_makes_its_creator_project_admin() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let pat = app.create_user("pat").await;
    // Creating a project needs Manage projects: Create (an Environment manager has it).
    set_environment_role(
        &app,
        &pat,
        &model.production,
        &model.role("environment_manager"),
    )
    .await;
    let token = app.admin_token_for(&pat);
    let reply = app
        .admin_as(
            Some(&token),
            Method::POST,
            "/applications",
            Some(&json!({"environment_id": model.production, "name": "Payroll"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let payroll = reply.id();
    let access = effective(&app, &pat).await;
    assert_eq!(
        application_roles(&access, &payroll),
        set(&["Project admin"])
    );
    assert_eq!(
        path_kinds(&access, &payroll, "Project admin"),
        set(&["direct"])
    );
    assert_eq!(application_privileges(&access, &payroll).len(), 9);
    // An admin token not bound to a person creates applications without an admin.
    let other = application(&app, &model.production, "Ledger").await;
    let assignments = app
        .admin(
            Method::GET,
            &format!("/assignments?application_id={other}"),
            None,
        )
        .await;
    assert_eq!(assignments.body["assignments"], json!([]));
}

#[tokio::test]
async fn environment_access_archiving_and_invitations() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let invited = app
        .admin(
            Method::POST,
            "/users",
            Some(&json!({"email": "ivy@example.com", "name": "Ivy",
                         "environment_roles": [{"environment_id": model.production,
                                                "role_id": model.role("member")}]})),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    assert_eq!(invited.body["status"], "invited");
    assert_eq!(invited.body["userName"], "ivy@example.com");
    let ivy = invited.id();
    app.admin(
        Method::POST,
        "/users",
        Some(&json!({"email": "IVY@example.com"})),
    )
    .await
    .assert_rule(409, "uniqueness");
    app.admin(
        Method::POST,
        "/users",
        Some(&json!({"email": "not an address"})),
    )
    .await
    .assert_problem(400);
    // The SCIM side sees the invited user too; the invitation has a link, and until it is
    // accepted the user holds nothing (the Member role waits).
    assert_eq!(app.get(&format!("/Users/{ivy}")).await.status, 200);
    assert!(invited.body["invitation_url"]
        .as_str()
        .is_some_and(|u| u.contains(&format!("/oidc/{}/invitations/", app.tenant_id))));
    assert!(environment_roles(&effective(&app, &ivy).await, &model.production).is_empty());

    // Environment access, with an active (SCIM) user.
    let ray = app.create_user("ray@example.com").await;
    crate::access::set_environment_role(&app, &ray, &model.production, &model.role("member")).await;
    assign(
        &app,
        json!({"type": "user", "id": ray}),
        &model.role("builder"),
        json!({"application_id": crm}),
    )
    .await;
    assert_eq!(
        environment_roles(&effective(&app, &ray).await, &model.production),
        vec!["Member"]
    );

    // Revoking Production access removes everything there, and only there.
    let revoked = app
        .admin(
            Method::DELETE,
            &format!("/users/{ray}/environments/{}/access", model.production),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let access = effective(&app, &ray).await;
    assert_eq!(access["environments"][0]["access"], "revoked");
    assert!(environment_roles(&access, &model.production).is_empty());
    assert!(application_roles(&access, &crm).is_empty());
    app.admin(
        Method::PUT,
        &format!("/users/{ray}/environments/{}/access", model.production),
        None,
    )
    .await;
    assert_eq!(
        application_roles(&effective(&app, &ray).await, &crm),
        set(&["Builder"])
    );

    // Archived users keep their data and hold no roles; unarchived they are invited again,
    // with a new link, and hold nothing until they accept it.
    let archived = app
        .admin(Method::POST, &format!("/users/{ray}/archive"), None)
        .await;
    assert_eq!(archived.body["status"], "archived");
    assert!(application_roles(&effective(&app, &ray).await, &crm).is_empty());
    let assignments = app
        .admin(Method::GET, &format!("/assignments?user_id={ray}"), None)
        .await;
    assert_eq!(
        assignments.body["assignments"].as_array().map(Vec::len),
        Some(2)
    );
    let unarchived = app
        .admin(Method::POST, &format!("/users/{ray}/unarchive"), None)
        .await;
    assert_eq!(unarchived.body["status"], "invited");
    assert!(
        unarchived.body["invitation_url"].is_string(),
        "{}",
        unarchived.body
    );
    assert!(application_roles(&effective(&app, &ray).await, &crm).is_empty());
    app.admin(Method::POST, &format!("/users/{ray}/unarchive"), None)
        .await
        .assert_rule(409, "not-archived");
}

#[tokio::test]
async fn csv_import_reports_every_row() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales"}),
    )
    .await;
    app.create_user("taken@example.com").await;
    let csv = "email,name,role,end_user_groups\n\
               amy@example.com,Amy,Member,Sales\n\
               taken@example.com,Taken,,\n\
               bea@example.com,Bea,Overlord,\n\
               not-an-email,Nobody,,\n\
               cy@example.com,Cy,,Sales;Nowhere\n\
               dee@example.com,,,\n\
               eve@example.com,Eve,,,one field too many\n";
    let reply = import(&app, csv).await;
    assert_eq!(reply.status(), 200);
    let report: Value = reply.json().await.expect("json");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["failed"], 5, "{report}");
    let outcomes: Vec<(u64, String)> = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().expect("line"),
                r["outcome"].as_str().expect("outcome").to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (2, "created".into()),
            (3, "failed".into()),
            (4, "failed".into()),
            (5, "failed".into()),
            (6, "failed".into()),
            (7, "created".into()),
            (8, "failed".into()),
        ]
    );
    // A row that is not CSV of the header's shape fails on its own, naming no address.
    assert_eq!(report["rows"][6]["email"], "", "{report}");
    assert!(report["rows"][6]["error"].is_string(), "{report}");
    assert!(report["rows"][1]["error"]
        .as_str()
        .expect("error")
        .contains("already exists"));
    assert!(report["rows"][2]["error"]
        .as_str()
        .expect("error")
        .contains("Overlord"));
    let amy = report["rows"][0]["user_id"]
        .as_str()
        .expect("id")
        .to_string();
    // Invited: the Member role waits for the invitation to be accepted.
    assert!(environment_roles(&effective(&app, &amy).await, &model.production).is_empty());
    assert!(report["rows"][0]["invitation_url"].is_string(), "{report}");
    let assignments = app
        .admin(Method::GET, &format!("/assignments?user_id={amy}"), None)
        .await;
    assert_eq!(
        assignments.body["assignments"].as_array().map(Vec::len),
        Some(1)
    );
    // A failed row left nothing behind (cy's user was not kept).
    let cy = app
        .get("/Users?filter=userName%20eq%20%22cy@example.com%22")
        .await;
    assert_eq!(cy.body["totalResults"], 0);
    app.client
        .post(format!("{}/admin/v1/users/import", app.address))
        .header("Authorization", format!("Bearer {}", app.admin_token))
        .body("name\nx\n")
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 400))
        .expect("answered");
}

/// Posts a CSV import with the admin token.
async fn import(app: &TestApp, csv: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/admin/v1/users/import", app.address))
        .header("Authorization", format!("Bearer {}", app.admin_token))
        .header("Content-Type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn a_csv_rows_empty_cells_are_no_value_and_its_named_environment_is_used() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let development = create(&app, "/environments", json!({"name": "Development"})).await;
    let csv = "email,name,external_id,environment,role\n\
               fay@example.com,Fay,,,Member\n\
               gus@example.com,Gus,gus-1,development,Member\n";
    let report: Value = import(&app, csv).await.json().await.expect("json");
    assert_eq!(report["created"], 2, "{report}");
    let environment_of = |row: usize| {
        let user = report["rows"][row]["user_id"]
            .as_str()
            .expect("id")
            .to_string();
        let app = &app;
        async move {
            let assignments = app
                .admin(Method::GET, &format!("/assignments?user_id={user}"), None)
                .await;
            let ids: Vec<String> = assignments.body["assignments"]
                .as_array()
                .expect("assignments")
                .iter()
                .map(|a| {
                    a["environment_id"]
                        .as_str()
                        .expect("environment")
                        .to_string()
                })
                .collect();
            ids
        }
    };
    // An empty environment cell is the tenant's first environment; a named one is that one.
    assert_eq!(environment_of(0).await, vec![model.production.clone()]);
    assert_eq!(environment_of(1).await, vec![development]);
    // An empty externalId cell gives the user none; a filled one is kept.
    let fay = app
        .get("/Users?filter=userName%20eq%20%22fay@example.com%22")
        .await;
    assert_eq!(fay.body["totalResults"], 1, "{}", fay.body);
    assert!(
        fay.body["Resources"][0].get("externalId").is_none(),
        "{}",
        fay.body
    );
    let gus = app
        .get("/Users?filter=userName%20eq%20%22gus@example.com%22")
        .await;
    assert_eq!(
        gus.body["Resources"][0]["externalId"], "gus-1",
        "{}",
        gus.body
    );
}

#[tokio::test]
async fn a_database_failure_in_a_csv_row_fails_the_whole_import() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    {
        // A fault the import cannot foresee: the database refuses one address.
        let mut conn = app.pool.get().expect("connection");
        conn.batch_execute(
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.user_name = 'boom@example.com' THEN RAISE EXCEPTION 'refused'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER refuse_one BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_one();",
        )
        .expect("trigger");
    }
    let reply = import(
        &app,
        "email,name\nfirst@example.com,First\nboom@example.com,Boom\n",
    )
    .await;
    // Not reported as a duplicate: the import as a whole fails and keeps nothing.
    assert_eq!(reply.status(), 500);
    let first = app
        .get("/Users?filter=userName%20eq%20%22first@example.com%22")
        .await;
    assert_eq!(first.body["totalResults"], 0, "{}", first.body);
}

#[tokio::test]
async fn a_tenant_can_require_end_user_groups_to_keep_a_member() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ann = app.create_user("ann").await;
    let settings = app
        .admin(
            Method::PATCH,
            "/settings",
            Some(&json!({"require_end_user_group_members": true})),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert_eq!(settings.body["require_end_user_group_members"], true);
    app.admin(
        Method::POST,
        "/end-user-groups",
        Some(&json!({"environment_id": model.production, "name": "Empty"})),
    )
    .await
    .assert_rule(409, "group-needs-member");
    let sales = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales", "members": [ann]}),
    )
    .await;
    app.admin(
        Method::DELETE,
        &format!("/end-user-groups/{sales}/members"),
        Some(&json!({"users": [ann]})),
    )
    .await
    .assert_rule(409, "group-needs-member");
    app.admin(
        Method::POST,
        &format!("/end-user-groups/{sales}/duplicate"),
        Some(&json!({"name": "Sales copy"})),
    )
    .await
    .assert_rule(409, "group-needs-member");
    // Off again, empty groups are fine.
    app.admin(
        Method::PATCH,
        "/settings",
        Some(&json!({"require_end_user_group_members": false})),
    )
    .await;
    assert_eq!(
        app.admin(
            Method::DELETE,
            &format!("/end-user-groups/{sales}/members"),
            Some(&json!({"users": [ann]})),
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn duplicating_a_group_copies_the_chosen_parts() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let entra = app.create_group("Entra Sales", &[&bob]).await;
    let sales = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales", "members": [ann]}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": sales}),
        &model.role("project_operator"),
        json!({"application_id": crm}),
    )
    .await;
    let mapped = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": entra, "end_user_group_id": sales})),
        )
        .await;
    assert_eq!(mapped.status, 201, "{}", mapped.body);
    let copy = app
        .admin(
            Method::POST,
            &format!("/end-user-groups/{sales}/duplicate"),
            Some(&json!({"name": "Sales EMEA", "roles": true, "mappings": true})),
        )
        .await;
    assert_eq!(copy.status, 201, "{}", copy.body);
    let copy_id = copy.id();
    assert_eq!(copy.body["members"], json!([]));
    let roles = app
        .admin(
            Method::GET,
            &format!("/assignments?end_user_group_id={copy_id}"),
            None,
        )
        .await;
    assert_eq!(roles.body["assignments"].as_array().map(Vec::len), Some(1));
    // bob now reaches the role through both groups' mappings.
    let access = effective(&app, &bob).await;
    let paths = application_of(&access, &crm).expect("crm")["roles"][0]["paths"]
        .as_array()
        .map(Vec::len);
    assert_eq!(paths, Some(2));
}

#[tokio::test]
async fn effective_role_refreshes_are_measured() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ann = app.create_user("ann").await;
    set_environment_role(&app, &ann, &model.production, &model.role("member")).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("rolegate_effective_role_refreshes_total{cause=\"assignment\"}"));
    assert!(metrics.contains("rolegate_effective_role_refresh_seconds_bucket{cause=\"assignment\""));
    assert!(metrics.contains("rolegate_effective_role_rows_changed_total"));
    assert!(!metrics.contains(&ann));
}

#[tokio::test]
async fn tenants_never_see_or_touch_each_others_access_model() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let ann = app.create_user("ann").await;
    let other = app.other_tenant_admin_token();
    for path in [
        format!("/applications/{crm}"),
        format!("/users/{ann}/effective-roles"),
        format!("/roles/{}", model.role("member")),
    ] {
        app.admin_as(Some(&other), Method::GET, &path, None)
            .await
            .assert_problem(404);
    }
    let other_roles = app
        .admin_as(Some(&other), Method::GET, "/roles", None)
        .await;
    let other_operator = other_roles.body["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .find(|r| r["system_key"] == "project_operator")
        .and_then(|r| r["id"].as_str())
        .expect("id")
        .to_string();
    assert_ne!(other_operator, model.role("project_operator"));
    // The other tenant's role, on this tenant's application, for this tenant's user: refused.
    app.admin_as(
        Some(&other),
        Method::POST,
        "/assignments",
        Some(&json!({"principal": {"type": "user", "id": ann},
                     "role_id": other_operator, "application_id": crm})),
    )
    .await
    .assert_rule(422, "unknown-reference");
    app.admin(
        Method::POST,
        "/assignments",
        Some(&json!({"principal": {"type": "user", "id": ann},
                     "role_id": other_operator, "application_id": crm})),
    )
    .await
    .assert_rule(422, "unknown-reference");
}

/// SCIM pushes and admin changes racing each other leave effective roles exactly as a
/// recomputation says: writers of a tenant never compute from each other's stale view.
#[tokio::test]
async fn concurrent_scim_and_admin_changes_keep_effective_roles_exact() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(app.create_user(&format!("u{i}")).await);
    }
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let idp_a = app.create_group("IdP A", &refs[..4]).await;
    let idp_b = app.create_group("IdP B", &refs[4..8]).await;
    let sales = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales"}),
    )
    .await;
    for g in [&idp_a, &idp_b] {
        let reply = app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": g, "end_user_group_id": sales})),
            )
            .await;
        assert_eq!(reply.status, 201);
    }
    let roles = ["project_operator", "builder", "advanced_builder"];
    let mut tasks = Vec::new();
    for worker in 0..6usize {
        let client = app.client.clone();
        let (address, token, admin) = (
            app.address.clone(),
            app.token.clone(),
            app.admin_token.clone(),
        );
        let (users, groups) = (users.clone(), [idp_a.clone(), idp_b.clone()]);
        let (sales, crm) = (sales.clone(), crm.clone());
        let role_ids: Vec<String> = roles.iter().map(|r| model.role(r)).collect();
        tasks.push(tokio::spawn(async move {
            let mut assignments: Vec<String> = Vec::new();
            for step in 0..25usize {
                let n = worker * 31 + step * 7;
                let user = &users[n % users.len()];
                let request = match n % 5 {
                    0 | 1 => {
                        let op = if n % 2 == 0 { "add" } else { "remove" };
                        let operation = if op == "add" {
                            json!({"op": "add", "path": "members", "value": [{"value": user}]})
                        } else {
                            json!({"op": "remove", "path": format!("members[value eq \"{user}\"]")})
                        };
                        client
                            .patch(format!("{address}/scim/v2/Groups/{}", groups[n % 2]))
                            .bearer_auth(&token)
                            .header("Content-Type", "application/scim+json")
                            .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                         "Operations": [operation]}).to_string())
                    }
                    2 => client
                        .request(
                            if n % 2 == 0 { Method::POST } else { Method::DELETE },
                            format!("{address}/admin/v1/end-user-groups/{sales}/members"),
                        )
                        .bearer_auth(&admin)
                        .json(&json!({"users": [user]})),
                    3 => client
                        .post(format!("{address}/admin/v1/assignments"))
                        .bearer_auth(&admin)
                        .json(&json!({"principal": {"type": "end_user_group", "id": sales},
                                      "role_id": role_ids[n % role_ids.len()], "application_id": crm})),
                    _ => match assignments.pop() {
                        Some(id) => client
                            .delete(format!("{address}/admin/v1/assignments/{id}"))
                            .bearer_auth(&admin),
                        None => client
                            .patch(format!("{address}/scim/v2/Users/{user}"))
                            .bearer_auth(&token)
                            .header("Content-Type", "application/scim+json")
                            .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                         "Operations": [{"op": "replace", "path": "active", "value": n % 3 != 0}]}).to_string()),
                    },
                };
                let reply = request.send().await.expect("answered");
                let status = reply.status().as_u16();
                assert!(status < 500, "server error {status}");
                if n % 5 == 3 && status == 201 {
                    let body: Value = reply.json().await.expect("json");
                    assignments.push(body["id"].as_str().expect("id").to_string());
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let mut conn = app.pool.get().expect("connection");
    let drift = rolegate::access::effective::drift(&mut conn, app.tenant_id).expect("drift");
    assert_eq!((drift.missing, drift.extra), (0, 0), "{drift:?}");
    assert!(drift.held > 0, "the run granted something");
}

#[tokio::test]
async fn a_user_may_hold_the_same_environment_role_in_several_environments() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let development = environment(&app, "Development").await;
    let ann = app.create_user("ann").await;
    for env in [&model.production, &development] {
        set_environment_role(&app, &ann, env, &model.role("member")).await;
    }
    let access = effective(&app, &ann).await;
    for env in [&model.production, &development] {
        assert_eq!(environment_roles(&access, env), vec!["Member"]);
    }
}

#[tokio::test]
async fn a_dry_run_names_the_role_its_change_deletes() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let crm = application(&app, &model.production, "CRM").await;
    let role = create(
        &app,
        "/roles",
        json!({"name": "Auditor", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    let ann = app.create_user("ann").await;
    assign(
        &app,
        json!({"type": "user", "id": ann}),
        &role,
        json!({"application_id": crm}),
    )
    .await;
    let reply = app
        .admin(Method::DELETE, &format!("/roles/{role}?dry_run=true"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["losses"][0]["role"]["name"], "Auditor",
        "{}",
        reply.body
    );
    assert_eq!(reply.body["losses"][0]["user"]["name"], "ann");
    assert_eq!(reply.body["losses"][0]["application"]["name"], "CRM");
}

/// A collaborator group's whole life: members gain its roles when they join and lose them
/// when they leave or the group goes; a request that changes nothing writes no audit entry;
/// an update keeps what it does not name.
#[tokio::test]
async fn a_collaborator_groups_members_hold_its_roles_exactly_while_they_belong() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let pipeline = application(&app, &model.production, "Pipeline").await;
    let eve = app.create_user("eve").await;
    let finn = app.create_user("finn").await;
    let reply = app
        .admin(
            Method::POST,
            "/collaborator-groups",
            Some(&json!({"name": "Operators", "description": "run things", "members": [eve]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["members"], json!([eve]));
    let team = reply.id();
    let path = format!("/collaborator-groups/{team}");
    let listed = app.admin(Method::GET, "/collaborator-groups", None).await;
    let names: Vec<&Value> = listed.body["collaborator_groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| &g["name"])
        .collect();
    assert_eq!(names, [&json!("Operators")], "{}", listed.body);
    assign(
        &app,
        json!({"type": "collaborator_group", "id": team}),
        &model.role("project_operator"),
        json!({"application_id": pipeline}),
    )
    .await;
    let roles = |user: &str| {
        let (app, user, pipeline) = (&app, user.to_string(), pipeline.clone());
        async move { application_roles(&effective(app, &user).await, &pipeline) }
    };
    assert_eq!(roles(&eve).await, set(&["Project operator"]));
    assert!(roles(&finn).await.is_empty());

    // Renaming keeps the description; a new description keeps the name.
    let renamed = app
        .admin(Method::PATCH, &path, Some(&json!({"name": "Runners"})))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Runners");
    assert_eq!(renamed.body["description"], "run things");
    assert_eq!(renamed.body["members"], json!([eve]));
    let described = app
        .admin(
            Method::PATCH,
            &path,
            Some(&json!({"description": "on call"})),
        )
        .await;
    assert_eq!(described.body["name"], "Runners");
    assert_eq!(described.body["description"], "on call");
    app.admin(Method::PATCH, &path, Some(&json!({"name": " "})))
        .await
        .assert_problem(400);

    // Joining and leaving, each at once; a repeat changes nothing and records nothing.
    let members = format!("{path}/members");
    let joined = app
        .admin(Method::POST, &members, Some(&json!({"users": [finn]})))
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(roles(&finn).await, set(&["Project operator"]));
    let audit = app.audit_trail().len();
    let again = app
        .admin(Method::POST, &members, Some(&json!({"users": [finn]})))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(app.audit_trail().len(), audit, "adding a member again");
    let left = app
        .admin(Method::DELETE, &members, Some(&json!({"users": [eve]})))
        .await;
    assert_eq!(left.status, 200, "{}", left.body);
    assert_eq!(left.body["members"], json!([finn]));
    assert!(roles(&eve).await.is_empty());
    assert_eq!(roles(&finn).await, set(&["Project operator"]));
    let audit = app.audit_trail().len();
    app.admin(Method::DELETE, &members, Some(&json!({"users": [eve]})))
        .await;
    assert_eq!(app.audit_trail().len(), audit, "removing a non-member");
    app.admin(
        Method::POST,
        &members,
        Some(&json!({"users": [uuid::Uuid::new_v4()]})),
    )
    .await
    .assert_problem(400);

    // Deleted, the group takes its roles with it.
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status, 204);
    assert!(roles(&finn).await.is_empty());
    app.admin(Method::GET, &path, None)
        .await
        .assert_problem(404);
    let listed = app.admin(Method::GET, "/collaborator-groups", None).await;
    assert_eq!(
        listed.body["collaborator_groups"],
        json!([]),
        "{}",
        listed.body
    );
}
