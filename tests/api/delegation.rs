//! Delegated administration: every admin route, called by every kind of principal, is
//! allowed or refused exactly as its declared requirement says; refusals change nothing.

use std::collections::BTreeMap;

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use rolegate::access::authorization::Requirement;
use rolegate::http::admin_routes;
use serde_json::{json, Value};

use crate::access::{application, assign, create, environment, set_environment_role, Model};
use crate::helpers::{spawn_app, Reply, TestApp};

/// The kinds of principal the table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    Owner,
    EnvironmentAdmin,
    EnvironmentManager,
    Member,
    /// *No access* in the environment, although Project admin of the target project.
    NoAccess,
    ProjectAdminOfTarget,
    ProjectAdminOfOther,
    NoRole,
}

pub const EVERYONE: [Who; 8] = [
    Who::Owner,
    Who::EnvironmentAdmin,
    Who::EnvironmentManager,
    Who::Member,
    Who::NoAccess,
    Who::ProjectAdminOfTarget,
    Who::ProjectAdminOfOther,
    Who::NoRole,
];

/// A tenant with one principal of each kind and one of everything the admin API
/// administers. Everything lives in the tenant's first environment, except `staging`.
pub struct Fixture {
    pub app: TestApp,
    pub model: Model,
    pub tokens: BTreeMap<Who, String>,
    pub users: BTreeMap<Who, String>,
    pub staging: String,
    /// The project the project admins' cases are about, and another one.
    pub target_app: String,
    pub other_app: String,
    /// A user acted upon (a member of `group`, with an assignment on `target_app`).
    pub subject: String,
    /// A user with nothing, for memberships and roles to give.
    pub newcomer: String,
    pub archived: String,
    pub group: String,
    pub idp_group: String,
    pub unmapped_idp_group: String,
    pub collaborator_group: String,
    pub custom_role: String,
    pub assignment: String,
    pub provider: String,
    pub subject_token_id: String,
    pub webhook: String,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let app = spawn_app().await;
        let model = Model::load(&app).await;
        let dev = model.production.clone();
        let staging = environment(&app, "Staging").await;
        let target_app = application(&app, &dev, "Payroll").await;
        let other_app = application(&app, &dev, "Ledger").await;
        let mut users = BTreeMap::new();
        let mut tokens = BTreeMap::new();
        tokens.insert(Who::Owner, app.admin_token.clone());
        for who in &EVERYONE[1..] {
            let user = app.create_user(&format!("{who:?}").to_lowercase()).await;
            tokens.insert(*who, app.admin_token_for(&user));
            users.insert(*who, user);
        }
        let user = |w: Who| users[&w].clone();
        set_environment_role(
            &app,
            &user(Who::EnvironmentAdmin),
            &dev,
            &model.role("environment_admin"),
        )
        .await;
        set_environment_role(
            &app,
            &user(Who::EnvironmentManager),
            &dev,
            &model.role("environment_manager"),
        )
        .await;
        set_environment_role(&app, &user(Who::Member), &dev, &model.role("member")).await;
        set_environment_role(
            &app,
            &user(Who::NoAccess),
            &dev,
            &model.role("environment_no_access"),
        )
        .await;
        let project_admin = model.role("project_admin");
        for (who, project) in [
            (Who::NoAccess, &target_app),
            (Who::ProjectAdminOfTarget, &target_app),
            (Who::ProjectAdminOfOther, &other_app),
        ] {
            assign(
                &app,
                json!({"type": "user", "id": user(who)}),
                &project_admin,
                json!({"application_id": project}),
            )
            .await;
        }
        let subject = app.create_user("subject").await;
        let newcomer = app.create_user("newcomer").await;
        let archived = app.create_user("archived").await;
        let reply = app
            .admin(Method::POST, &format!("/users/{archived}/archive"), None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let group = create(
            &app,
            "/end-user-groups",
            json!({"environment_id": dev, "name": "Finance", "members": [subject]}),
        )
        .await;
        let idp_group = app.create_group("finance-team", &[&subject]).await;
        let unmapped_idp_group = app.create_group("sales-team", &[]).await;
        let reply = app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": idp_group, "end_user_group_id": group})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let collaborator_group = create(
            &app,
            "/collaborator-groups",
            json!({"name": "Auditors", "members": [subject]}),
        )
        .await;
        let custom_role = create(
            &app,
            "/roles",
            json!({"name": "Viewer", "scope": "application",
                   "privileges": ["application.content.view"]}),
        )
        .await;
        let assignment = assign(
            &app,
            json!({"type": "user", "id": subject}),
            &model.role("builder"),
            json!({"application_id": target_app}),
        )
        .await;
        let provider = create(
            &app,
            "/oidc-providers",
            json!({"name": "corp", "issuer": "http://127.0.0.1:9/corp", "client_id": "rolegate"}),
        )
        .await;
        let reply = app
            .admin(
                Method::POST,
                "/admin-tokens",
                Some(&json!({"name": "subject's", "user_id": subject})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let subject_token_id = reply.id();
        let webhook = create(
            &app,
            "/webhooks",
            json!({"url": "https://hooks.example.com/rolegate", "events": ["user.created"]}),
        )
        .await;
        Fixture {
            app,
            model,
            tokens,
            users,
            staging,
            target_app,
            other_app,
            subject,
            newcomer,
            archived,
            group,
            idp_group,
            unmapped_idp_group,
            collaborator_group,
            custom_role,
            assignment,
            provider,
            subject_token_id,
            webhook,
        }
    }

    pub fn dev(&self) -> &str {
        &self.model.production
    }

    /// A digest of every row the tenant owns (token use times aside).
    pub fn stored_rows(&self) -> String {
        tenant_rows(&self.app)
    }

    pub async fn send(&self, who: Who, method: Method, path: &str, body: &Body) -> Reply {
        send(&self.app, Some(&self.tokens[&who]), method, path, body).await
    }
}

/// A digest of every row the tenant owns (token use times aside), to show that a
/// refused request changed nothing.
pub fn tenant_rows(app: &TestApp) -> String {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    #[derive(QueryableByName)]
    struct Digest {
        #[diesel(sql_type = Text)]
        digest: String,
    }
    let mut conn = app.pool.get().expect("connection");
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
    )
    .load(&mut conn)
    .expect("tables");
    let mut digests = Vec::new();
    for Name { table_name } in tables {
        let row = if table_name == "connector_tokens" {
            "(t.id, t.name, t.kind, t.user_id, t.owner, t.expires_at, t.revoked_at)::text"
        } else {
            "t::text"
        };
        let digest: Digest = diesel::sql_query(format!(
            "SELECT coalesce(md5(string_agg({row}, '|' ORDER BY {row})), '') AS digest \
             FROM {table_name} t WHERE t.tenant_id = $1"
        ))
        .bind::<SqlUuid, _>(app.tenant_id)
        .get_result(&mut conn)
        .expect("digest");
        digests.push(format!("{table_name}:{}", digest.digest));
    }
    digests.join(",")
}

/// A request body.
pub enum Body {
    None,
    Json(Value),
    Csv(&'static str),
}

pub async fn send(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: &Body,
) -> Reply {
    let mut request = app
        .client
        .request(method, format!("{}/admin/v1{path}", app.address));
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    request = match body {
        Body::None => request,
        Body::Json(v) => request
            .header(CONTENT_TYPE, "application/json")
            .body(v.to_string()),
        Body::Csv(text) => request.header(CONTENT_TYPE, "text/csv").body(*text),
    };
    Reply::from(request.send().await.expect("answered")).await
}

/// One concrete request per declared route, against the fixture's targets (all in the
/// first environment, on `target_app` where a project is concerned). Mutations are dry
/// runs, so that every principal meets the same state.
pub struct Case {
    pub path: String,
    pub body: Body,
    /// A list that never refuses but shows only what the principal may see: the key of
    /// the list and the id the allowed principals see in it.
    filtered: Option<(&'static str, String)>,
    /// Statuses besides 2xx an allowed principal may get (a rule of the operation itself).
    also_ok: Vec<(Who, u16)>,
}

pub fn case(f: &Fixture, method: &str, path: &str) -> Case {
    let dev = f.dev();
    let plain = |path: String, body: Body| Case {
        path,
        body,
        filtered: None,
        also_ok: Vec::new(),
    };
    let json = Body::Json;
    match (method, path) {
        ("get", "/environments") => plain("/environments".into(), Body::None),
        ("post", "/environments") => plain("/environments".into(), json(json!({"name": "QA"}))),
        ("get", "/environments/{id}") => plain(format!("/environments/{}", f.staging), Body::None),
        ("patch", "/environments/{id}") => plain(
            format!("/environments/{}", f.staging),
            json(json!({"name": "Staging 2"})),
        ),
        ("delete", "/environments/{id}") => {
            plain(format!("/environments/{}", f.staging), Body::None)
        }
        ("get", "/privileges") => plain("/privileges".into(), Body::None),
        ("get", "/roles") => plain("/roles".into(), Body::None),
        ("post", "/roles") => plain(
            "/roles".into(),
            json(json!({"name": "Reader", "scope": "application",
                        "privileges": ["application.content.view"]})),
        ),
        ("get", "/roles/{id}") => plain(format!("/roles/{}", f.custom_role), Body::None),
        ("patch", "/roles/{id}") => plain(
            format!("/roles/{}", f.custom_role),
            json(json!({"description": "reads"})),
        ),
        ("delete", "/roles/{id}") => plain(format!("/roles/{}", f.custom_role), Body::None),
        ("get", "/applications") => Case {
            filtered: Some(("applications", f.target_app.clone())),
            ..plain(format!("/applications?environment_id={dev}"), Body::None)
        },
        ("post", "/applications") => plain(
            "/applications".into(),
            json(json!({"environment_id": dev, "name": "Billing"})),
        ),
        ("get", "/applications/{id}") => {
            plain(format!("/applications/{}", f.target_app), Body::None)
        }
        ("patch", "/applications/{id}") => plain(
            format!("/applications/{}", f.target_app),
            json(json!({"description": "pays"})),
        ),
        ("delete", "/applications/{id}") => {
            plain(format!("/applications/{}", f.target_app), Body::None)
        }
        ("get", "/end-user-groups") => {
            plain(format!("/end-user-groups?environment_id={dev}"), Body::None)
        }
        ("post", "/end-user-groups") => plain(
            "/end-user-groups".into(),
            json(json!({"environment_id": dev, "name": "Treasury"})),
        ),
        ("get", "/end-user-groups/{id}") => {
            plain(format!("/end-user-groups/{}", f.group), Body::None)
        }
        ("patch", "/end-user-groups/{id}") => plain(
            format!("/end-user-groups/{}", f.group),
            json(json!({"description": "money"})),
        ),
        ("delete", "/end-user-groups/{id}") => plain(
            format!("/end-user-groups/{}?force=true", f.group),
            Body::None,
        ),
        ("post", "/end-user-groups/{id}/members") | ("delete", "/end-user-groups/{id}/members") => {
            plain(
                format!("/end-user-groups/{}/members", f.group),
                json(json!({"users": [f.newcomer]})),
            )
        }
        ("post", "/end-user-groups/{id}/duplicate") => plain(
            format!("/end-user-groups/{}/duplicate", f.group),
            json(json!({"name": "Finance copy", "members": true, "roles": true})),
        ),
        ("get", "/collaborator-groups") => plain("/collaborator-groups".into(), Body::None),
        ("post", "/collaborator-groups") => plain(
            "/collaborator-groups".into(),
            json(json!({"name": "Reviewers"})),
        ),
        ("get", "/collaborator-groups/{id}") => plain(
            format!("/collaborator-groups/{}", f.collaborator_group),
            Body::None,
        ),
        ("patch", "/collaborator-groups/{id}") => plain(
            format!("/collaborator-groups/{}", f.collaborator_group),
            json(json!({"description": "look"})),
        ),
        ("delete", "/collaborator-groups/{id}") => plain(
            format!("/collaborator-groups/{}", f.collaborator_group),
            Body::None,
        ),
        ("post", "/collaborator-groups/{id}/members")
        | ("delete", "/collaborator-groups/{id}/members") => plain(
            format!("/collaborator-groups/{}/members", f.collaborator_group),
            json(json!({"users": [f.newcomer]})),
        ),
        ("get", "/group-mappings") => plain(
            format!("/group-mappings?end_user_group_id={}", f.group),
            Body::None,
        ),
        ("post", "/group-mappings") => plain(
            "/group-mappings".into(),
            json(json!({"idp_group_id": f.unmapped_idp_group, "end_user_group_id": f.group})),
        ),
        ("delete", "/group-mappings/{idp_group_id}/{end_user_group_id}") => plain(
            format!("/group-mappings/{}/{}", f.idp_group, f.group),
            Body::None,
        ),
        ("get", "/users/{id}/idp-groups") => {
            plain(format!("/users/{}/idp-groups", f.subject), Body::None)
        }
        ("get", "/users/{id}/end-user-groups") => {
            plain(format!("/users/{}/end-user-groups", f.subject), Body::None)
        }
        ("get", "/assignments") => plain(
            format!("/assignments?application_id={}", f.target_app),
            Body::None,
        ),
        ("post", "/assignments") => plain(
            "/assignments".into(),
            json(json!({"principal": {"type": "user", "id": f.newcomer},
                        "role_id": f.model.role("project_operator"),
                        "application_id": f.target_app})),
        ),
        ("get", "/assignments/{id}") => plain(format!("/assignments/{}", f.assignment), Body::None),
        ("patch", "/assignments/{id}") => plain(
            format!("/assignments/{}", f.assignment),
            json(json!({"role_id": f.model.role("project_operator")})),
        ),
        ("delete", "/assignments/{id}") => {
            plain(format!("/assignments/{}", f.assignment), Body::None)
        }
        ("get", "/users") => plain("/users?q=a".into(), Body::None),
        ("get", "/idp-groups") => plain("/idp-groups".into(), Body::None),
        ("post", "/users") => plain(
            "/users".into(),
            json(json!({"email": "invitee@example.com"})),
        ),
        ("post", "/users/import") => plain(
            "/users/import".into(),
            Body::Csv("email\nimported@example.com\n"),
        ),
        ("get", "/users/{id}") => plain(format!("/users/{}", f.subject), Body::None),
        ("post", "/users/{id}/archive") => {
            plain(format!("/users/{}/archive", f.subject), Body::None)
        }
        ("post", "/users/{id}/unarchive") => {
            plain(format!("/users/{}/unarchive", f.archived), Body::None)
        }
        ("put", "/users/{id}/environments/{environment_id}/access")
        | ("delete", "/users/{id}/environments/{environment_id}/access") => plain(
            format!("/users/{}/environments/{dev}/access", f.subject),
            Body::None,
        ),
        ("put", "/users/{id}/environments/{environment_id}/role") => plain(
            format!("/users/{}/environments/{dev}/role", f.newcomer),
            json(json!({"role_id": f.model.role("member")})),
        ),
        ("get", "/users/{id}/effective-roles") => {
            plain(format!("/users/{}/effective-roles", f.subject), Body::None)
        }
        ("get", "/effective-roles") => plain(
            format!("/effective-roles?role_id={}", f.model.role("builder")),
            Body::None,
        ),
        ("get", "/settings") => plain("/settings".into(), Body::None),
        ("patch", "/settings") => plain(
            "/settings".into(),
            json(json!({"require_end_user_group_members": false})),
        ),
        ("get", "/audit") => plain("/audit".into(), Body::None),
        ("get", "/events") => plain("/events".into(), Body::None),
        ("get", "/oidc-providers") => plain("/oidc-providers".into(), Body::None),
        ("post", "/oidc-providers") => plain(
            "/oidc-providers".into(),
            json(
                json!({"name": "partners", "issuer": "http://127.0.0.1:9/partners",
                        "client_id": "rolegate"}),
            ),
        ),
        ("get", "/oidc-providers/{id}") => {
            plain(format!("/oidc-providers/{}", f.provider), Body::None)
        }
        ("patch", "/oidc-providers/{id}") => plain(
            format!("/oidc-providers/{}", f.provider),
            json(json!({"enabled": false})),
        ),
        ("delete", "/oidc-providers/{id}") => {
            plain(format!("/oidc-providers/{}", f.provider), Body::None)
        }
        ("get", "/oidc-providers/{id}/groups") => {
            plain(format!("/oidc-providers/{}/groups", f.provider), Body::None)
        }
        ("post", "/oidc-providers/{id}/groups") => plain(
            format!("/oidc-providers/{}/groups", f.provider),
            json(json!({"values": ["engineering"]})),
        ),
        ("post", "/signing-keys/rotate") => plain("/signing-keys/rotate".into(), Body::None),
        ("get", "/scim-tokens") => plain("/scim-tokens".into(), Body::None),
        ("post", "/scim-tokens") => plain("/scim-tokens".into(), json(json!({"name": "okta"}))),
        ("delete", "/scim-tokens/{id}") => {
            plain(format!("/scim-tokens/{}", f.app.token_id), Body::None)
        }
        ("get", "/admin-tokens") => plain("/admin-tokens".into(), Body::None),
        ("post", "/admin-tokens") => Case {
            // An owner must name the user the token acts as.
            also_ok: vec![(Who::Owner, 400)],
            ..plain("/admin-tokens".into(), json(json!({"name": "mine"})))
        },
        ("delete", "/admin-tokens/{id}") => {
            plain(format!("/admin-tokens/{}", f.subject_token_id), Body::None)
        }
        ("get", "/openapi.json") => plain("/openapi.json".into(), Body::None),
        // The subject is not invited: whoever may act gets past authorization to the rule.
        ("post", "/users/{id}/invitation") | ("delete", "/users/{id}/invitation") => Case {
            also_ok: vec![(Who::Owner, 409), (Who::EnvironmentAdmin, 409)],
            ..plain(format!("/users/{}/invitation", f.subject), Body::None)
        },
        ("post", "/applications/{id}/deploy") => plain(
            format!("/applications/{}/deploy", f.target_app),
            json(json!({"environment_id": f.staging})),
        ),
        ("get", "/applications/{id}/role-suggestions") => plain(
            format!("/applications/{}/role-suggestions", f.target_app),
            Body::None,
        ),
        // No suggestion waits in the fixture: whoever may act gets past authorization to
        // the unknown id.
        ("post", "/applications/{id}/role-suggestions/accept") => Case {
            also_ok: project_access_answering(422),
            ..plain(
                format!("/applications/{}/role-suggestions/accept", f.target_app),
                json(json!({"ids": [f.target_app]})),
            )
        },
        ("delete", "/applications/{id}/role-suggestions/{suggestion_id}") => Case {
            also_ok: project_access_answering(404),
            ..plain(
                format!(
                    "/applications/{}/role-suggestions/{}",
                    f.target_app, f.target_app
                ),
                Body::None,
            )
        },
        ("get", "/webhooks") => plain("/webhooks".into(), Body::None),
        ("post", "/webhooks") => plain(
            "/webhooks".into(),
            json(json!({"url": "https://hooks.example.com/other", "events": ["user.created"]})),
        ),
        ("delete", "/webhooks/{id}") => plain(format!("/webhooks/{}", f.webhook), Body::None),
        ("get", "/webhooks/{id}/deliveries") => {
            plain(format!("/webhooks/{}/deliveries", f.webhook), Body::None)
        }
        ("get", "/workspaces") => plain("/workspaces".into(), Body::None),
        ("get", "/workspaces/users") => plain("/workspaces/users".into(), Body::None),
        // The fixture's tenant has no managed workspace: whoever may act gets past
        // authorization to the unknown workspace.
        ("get", "/workspaces/{id}/moderators") => Case {
            also_ok: vec![(Who::Owner, 404), (Who::EnvironmentAdmin, 404)],
            ..plain(
                format!("/workspaces/{}/moderators", f.target_app),
                Body::None,
            )
        },
        ("post", "/workspaces/{id}/moderators") => Case {
            also_ok: vec![(Who::Owner, 404), (Who::EnvironmentAdmin, 404)],
            ..plain(
                format!("/workspaces/{}/moderators", f.target_app),
                json(
                    json!({"user_id": f.subject, "environment_role_id": f.model.role("member"),
                            "project_role_id": f.model.role("builder")}),
                ),
            )
        },
        ("delete", "/workspaces/{id}/moderators/{user_id}") => Case {
            also_ok: vec![(Who::Owner, 404), (Who::EnvironmentAdmin, 404)],
            ..plain(
                format!("/workspaces/{}/moderators/{}", f.target_app, f.subject),
                Body::None,
            )
        },
        (method, path) => panic!("no case for {method} {path}: add one to the table"),
    }
}

/// The principals with the target project's access, each answering `status`.
fn project_access_answering(status: u16) -> Vec<(Who, u16)> {
    allowed(rolegate::access::authorization::PROJECT_ACCESS)
        .into_iter()
        .map(|who| (who, status))
        .collect()
}

/// Who meets a requirement for the fixture's targets (the first environment, the target
/// project, a user other than the caller).
fn allowed(requirement: Requirement) -> Vec<Who> {
    use Who::*;
    match requirement {
        Requirement::Public | Requirement::Principal => EVERYONE.to_vec(),
        Requirement::Tenant(_) | Requirement::SelfOr(_) => vec![Owner, EnvironmentAdmin],
        Requirement::Environment(_) => vec![Owner, EnvironmentAdmin, EnvironmentManager],
        Requirement::Application { .. } | Requirement::ProjectVisible | Requirement::Assignment => {
            vec![Owner, EnvironmentAdmin, ProjectAdminOfTarget]
        }
        // Deploying the target project to Staging, where only the owner may create one.
        Requirement::Deploy => vec![Owner],
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_route_allows_and_refuses_exactly_as_it_declares() {
    let f = Fixture::new().await;
    let before = f.stored_rows();
    let mut checked = 0;
    for route in admin_routes::all() {
        let c = case(&f, route.method, route.path);
        let path = if route.mutation {
            let sep = if c.path.contains('?') { '&' } else { '?' };
            format!("{}{sep}dry_run=true", c.path)
        } else {
            c.path.clone()
        };
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).expect("method");
        let allowed = allowed(route.requirement);
        for who in EVERYONE {
            let reply = f.send(who, method.clone(), &path, &c.body).await;
            let what = format!("{who:?} {} {path}", route.method);
            if let Some((key, id)) = &c.filtered {
                assert_eq!(reply.status, 200, "{what}: {}", reply.body);
                assert_eq!(
                    ids(&reply.body[*key]).contains(id),
                    allowed.contains(&who),
                    "{what} lists {}",
                    reply.body
                );
            } else if allowed.contains(&who) {
                let ok =
                    (200..300).contains(&reply.status) || c.also_ok.contains(&(who, reply.status));
                assert!(
                    ok,
                    "{what} should be allowed: {} {}",
                    reply.status, reply.body
                );
            } else {
                reply.assert_rule(403, "insufficient-privilege");
                assert!(
                    reply.body["privilege"].is_string() && reply.body["scope"].is_string(),
                    "{what}: {}",
                    reply.body
                );
            }
            assert_eq!(f.stored_rows(), before, "{what} changed stored rows");
            checked += 1;
        }
        // Without a token, only the public document answers.
        let anonymous = send(&f.app, None, method.clone(), &path, &c.body).await;
        if route.requirement == Requirement::Public {
            assert_eq!(anonymous.status, 200);
        } else {
            anonymous.assert_problem(401);
        }
    }
    assert!(checked >= 8 * 60, "{checked}");
    // Refusals are counted by route.
    let metrics = f
        .app
        .client
        .get(format!("{}/metrics", f.app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            "rolegate_admin_denied_total{privilege=\"workspace_access.collaborators.full_access\",route=\"POST /admin/v1/users/{id}/archive\"}"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_refused_change_names_the_privilege_and_where_it_was_needed() {
    let f = Fixture::new().await;
    let reply = f
        .send(
            Who::ProjectAdminOfOther,
            Method::PATCH,
            &format!("/applications/{}", f.target_app),
            &Body::Json(json!({"name": "Mine now"})),
        )
        .await;
    reply.assert_rule(403, "insufficient-privilege");
    assert_eq!(reply.body["privilege"], "application.settings.manage");
    assert!(reply.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("application.settings.manage")));
    assert_eq!(reply.body["scope"], format!("application:{}", f.target_app));
    let reply = f
        .send(
            Who::EnvironmentManager,
            Method::PUT,
            &format!("/users/{}/environments/{}/role", f.newcomer, f.dev()),
            &Body::Json(json!({"role_id": f.model.role("environment_admin")})),
        )
        .await;
    reply.assert_rule(403, "insufficient-privilege");
    assert_eq!(
        reply.body["privilege"],
        "workspace_access.collaborators.full_access"
    );
    assert_eq!(reply.body["scope"], "tenant");
}

async fn listed_projects(f: &Fixture, who: Who) -> Vec<String> {
    let reply = f.send(who, Method::GET, "/applications", &Body::None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    ids(&reply.body["applications"])
}

fn assignment_on(f: &Fixture, user: &str, project: &str) -> Body {
    Body::Json(json!({"principal": {"type": "user", "id": user},
                      "role_id": f.model.role("project_operator"),
                      "application_id": project}))
}

#[tokio::test]
async fn an_environment_manager_runs_their_own_projects_and_nothing_else() {
    let f = Fixture::new().await;
    let who = Who::EnvironmentManager;
    let created = f
        .send(
            who,
            Method::POST,
            "/applications",
            &Body::Json(json!({"environment_id": f.dev(), "name": "Reports"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let reports = created.id();
    // Its creator is its Project admin and manages its access …
    let granted = f
        .send(
            who,
            Method::POST,
            "/assignments",
            &assignment_on(&f, &f.newcomer, &reports),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    let everyone_else = f
        .send(
            who,
            Method::POST,
            "/assignments",
            &Body::Json(json!({"principal": {"type": "everyone_else"},
                              "role_id": f.model.role("project_operator"),
                              "application_id": reports})),
        )
        .await;
    assert_eq!(everyone_else.status, 201, "{}", everyone_else.body);
    let renamed = f
        .send(
            who,
            Method::PATCH,
            &format!("/applications/{reports}"),
            &Body::Json(json!({"name": "Monthly reports"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    // … but it assigns no environment roles and touches no other project.
    let before = f.stored_rows();
    f.send(
        who,
        Method::PUT,
        &format!("/users/{}/environments/{}/role", f.newcomer, f.dev()),
        &Body::Json(json!({"role_id": f.model.role("member")})),
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    f.send(
        who,
        Method::POST,
        "/assignments",
        &assignment_on(&f, &f.newcomer, &f.target_app),
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    f.send(
        who,
        Method::DELETE,
        &format!("/applications/{}", f.other_app),
        &Body::None,
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    f.send(
        who,
        Method::DELETE,
        &format!("/assignments/{}", f.assignment),
        &Body::None,
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    assert_eq!(f.stored_rows(), before);
    // Everyone else on Reports is a role for every user, so everyone lists Reports; the
    // manager lists only Reports.
    assert_eq!(listed_projects(&f, who).await, vec![reports.clone()]);
}

#[tokio::test]
async fn a_member_and_a_user_without_roles_change_nothing() {
    let f = Fixture::new().await;
    let before = f.stored_rows();
    for who in [Who::Member, Who::NoRole, Who::NoAccess] {
        let attempts: Vec<(Method, String, Body)> = vec![
            (
                Method::POST,
                "/applications".into(),
                Body::Json(json!({"environment_id": f.dev(), "name": "Mine"})),
            ),
            (
                Method::PUT,
                format!("/users/{}/environments/{}/role", f.users[&who], f.dev()),
                Body::Json(json!({"role_id": f.model.role("environment_admin")})),
            ),
            (
                Method::POST,
                "/end-user-groups".into(),
                Body::Json(json!({"environment_id": f.dev(), "name": "Mine"})),
            ),
            (
                Method::POST,
                "/collaborator-groups".into(),
                Body::Json(json!({"name": "Mine"})),
            ),
            (
                Method::POST,
                "/assignments".into(),
                assignment_on(&f, &f.users[&who], &f.other_app),
            ),
            (
                Method::POST,
                "/admin-tokens".into(),
                Body::Json(json!({"name": "mine"})),
            ),
        ];
        for (method, path, body) in attempts {
            f.send(who, method.clone(), &path, &body)
                .await
                .assert_rule(403, "insufficient-privilege");
        }
        assert!(listed_projects(&f, who).await.is_empty(), "{who:?}");
    }
    assert_eq!(f.stored_rows(), before);
}

#[tokio::test]
async fn a_project_admin_manages_and_lists_their_project_only() {
    let f = Fixture::new().await;
    let who = Who::ProjectAdminOfTarget;
    let granted = f
        .send(
            who,
            Method::POST,
            "/assignments",
            &assignment_on(&f, &f.newcomer, &f.target_app),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    f.send(
        who,
        Method::POST,
        "/assignments",
        &assignment_on(&f, &f.newcomer, &f.other_app),
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    f.send(
        who,
        Method::GET,
        &format!("/applications/{}", f.other_app),
        &Body::None,
    )
    .await
    .assert_rule(403, "insufficient-privilege");
    assert_eq!(listed_projects(&f, who).await, vec![f.target_app.clone()]);
    assert_eq!(
        listed_projects(&f, Who::ProjectAdminOfOther).await,
        vec![f.other_app.clone()]
    );
    // No access in the environment outweighs being Project admin there.
    assert!(listed_projects(&f, Who::NoAccess).await.is_empty());
}

#[tokio::test]
async fn an_environment_admin_lists_every_project() {
    let f = Fixture::new().await;
    let mut all = listed_projects(&f, Who::Owner).await;
    all.sort();
    assert_eq!(all.len(), 2);
    let mut seen = listed_projects(&f, Who::EnvironmentAdmin).await;
    seen.sort();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn everyone_reads_their_own_access_and_only_administrators_read_others() {
    let f = Fixture::new().await;
    for who in &EVERYONE[1..] {
        let me = &f.users[who];
        for path in [
            format!("/users/{me}"),
            format!("/users/{me}/effective-roles"),
            format!("/users/{me}/end-user-groups"),
        ] {
            let reply = f.send(*who, Method::GET, &path, &Body::None).await;
            assert_eq!(reply.status, 200, "{who:?} {path}: {}", reply.body);
        }
    }
    f.send(
        Who::Member,
        Method::GET,
        &format!("/users/{}/effective-roles", f.subject),
        &Body::None,
    )
    .await
    .assert_rule(403, "insufficient-privilege");
}

#[tokio::test]
async fn lists_without_an_environment_show_only_what_the_principal_administers() {
    let f = Fixture::new().await;
    let groups = |reply: Reply| ids(&reply.body["end_user_groups"]);
    let manager = f
        .send(
            Who::EnvironmentManager,
            Method::GET,
            "/end-user-groups",
            &Body::None,
        )
        .await;
    assert_eq!(manager.status, 200, "{}", manager.body);
    assert!(groups(manager).contains(&f.group));
    let member = f
        .send(Who::Member, Method::GET, "/end-user-groups", &Body::None)
        .await;
    assert_eq!(member.status, 200, "{}", member.body);
    assert!(groups(member).is_empty());
    let mappings = f
        .send(Who::Member, Method::GET, "/group-mappings", &Body::None)
        .await;
    assert_eq!(mappings.body["group_mappings"], json!([]));
    let mappings = f
        .send(
            Who::EnvironmentManager,
            Method::GET,
            "/group-mappings",
            &Body::None,
        )
        .await;
    assert_eq!(
        mappings.body["group_mappings"].as_array().map(Vec::len),
        Some(1)
    );
}

/// A token of the subject, and whether it is accepted right now.
async fn accepted(f: &Fixture, token: &str) -> bool {
    let reply = send(
        &f.app,
        Some(token),
        Method::GET,
        &format!("/users/{}/effective-roles", f.subject),
        &Body::None,
    )
    .await;
    match reply.status {
        200 => true,
        401 => false,
        other => panic!("unexpected {other}: {}", reply.body),
    }
}

#[tokio::test]
async fn a_user_bound_token_works_only_while_its_user_may() {
    let f = Fixture::new().await;
    let token = f.app.admin_token_for(&f.subject);
    assert!(accepted(&f, &token).await);
    let deactivate = |active: bool| {
        json!({"schemas": [crate::helpers::PATCH_SCHEMA],
               "Operations": [{"op": "replace", "path": "active", "value": active}]})
    };
    let user = format!("/Users/{}", f.subject);
    assert_eq!(f.app.patch(&user, &deactivate(false)).await.status, 200);
    assert!(!accepted(&f, &token).await, "deactivated");
    assert_eq!(f.app.patch(&user, &deactivate(true)).await.status, 200);
    assert!(accepted(&f, &token).await, "reactivated");
    let archive = f
        .app
        .admin(Method::POST, &format!("/users/{}/archive", f.subject), None)
        .await;
    assert_eq!(archive.status, 200, "{}", archive.body);
    assert!(!accepted(&f, &token).await, "archived");
    f.app
        .admin(
            Method::POST,
            &format!("/users/{}/unarchive", f.subject),
            None,
        )
        .await;
    assert!(accepted(&f, &token).await, "unarchived");
    // Revoked stays revoked.
    let id = f.subject_token_id.clone();
    let subject_token = f
        .app
        .admin(Method::DELETE, &format!("/admin-tokens/{id}"), None)
        .await;
    assert_eq!(subject_token.status, 200, "{}", subject_token.body);
    assert!(subject_token.body["revoked_at"].is_string());
    // Deleted: the token does not turn into an owner token when its user is gone.
    assert_eq!(f.app.delete(&user).await.status, 204);
    assert!(!accepted(&f, &token).await, "deleted");
    let listed = f.app.admin(Method::GET, "/admin-tokens", None).await;
    let orphan = listed.body["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter(|t| t["kind"] == "user" && t["user_id"].is_null())
        .count();
    assert!(orphan >= 1, "{}", listed.body);
}

#[tokio::test]
async fn tokens_expire_and_record_their_last_use() {
    let f = Fixture::new().await;
    let made = f
        .send(
            Who::EnvironmentAdmin,
            Method::POST,
            "/admin-tokens",
            &Body::Json(json!({"name": "for a week", "expires_in_days": 7})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.header("cache-control"), Some("no-store"));
    assert_eq!(made.body["kind"], "user");
    assert_eq!(
        made.body["user_id"],
        f.users[&Who::EnvironmentAdmin].as_str()
    );
    assert!(made.body["expires_at"].is_string());
    let secret = made.body["secret"].as_str().expect("secret").to_string();
    assert!(accepted(&f, &secret).await);
    let listed = f.app.admin(Method::GET, "/admin-tokens", None).await;
    let mine = listed.body["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["id"] == made.body["id"])
        .expect("listed")
        .clone();
    assert!(mine["last_used_at"].is_string(), "{mine}");
    assert!(mine.get("secret").is_none());
    // Another user's token, or an owner token, cannot be made through the API.
    f.send(
        Who::EnvironmentAdmin,
        Method::POST,
        "/admin-tokens",
        &Body::Json(json!({"name": "theirs", "user_id": f.subject})),
    )
    .await
    .assert_rule(409, "token-for-another-user");
    // Naming oneself is the same as naming no one.
    let named_self = f
        .send(
            Who::EnvironmentAdmin,
            Method::POST,
            "/admin-tokens",
            &Body::Json(json!({"name": "mine, named", "user_id": f.users[&Who::EnvironmentAdmin]})),
        )
        .await;
    assert_eq!(named_self.status, 201, "{}", named_self.body);
    assert_eq!(
        named_self.body["user_id"],
        f.users[&Who::EnvironmentAdmin].as_str()
    );
    f.app
        .admin(
            Method::POST,
            "/admin-tokens",
            Some(&json!({"name": "owner"})),
        )
        .await
        .assert_problem(400);
    // Once its time is up it is refused.
    {
        use diesel::prelude::*;
        use rolegate::db::schema::connector_tokens;
        let id = uuid::Uuid::parse_str(made.body["id"].as_str().expect("id")).expect("uuid");
        let mut conn = f.app.pool.get().expect("connection");
        diesel::update(connector_tokens::table.filter(connector_tokens::id.eq(id)))
            .set(connector_tokens::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .execute(&mut conn)
            .expect("expires");
    }
    assert!(!accepted(&f, &secret).await);
}
