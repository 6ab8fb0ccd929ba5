//! The admin console's handlers: sign-in both ways, sessions that end with their token or
//! user, CSRF refusal, each page's content, privilege-based hiding, every change previewed
//! before it applies, and lists paged on the server at scale.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::Method;
use serde_json::json;

use crate::access::{
    application, application_roles, assign, create, effective, set_environment_role, Model,
};
use crate::helpers::{patch_ops, spawn_app, TestApp};
use crate::oidc;

/// A browser: keeps cookies, follows no redirect (so each one can be checked).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Vec<String>,
    csp: Option<String>,
    html: String,
}

impl Page {
    async fn from(response: reqwest::Response) -> Page {
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header(LOCATION);
        let csp = header(CONTENT_SECURITY_POLICY);
        let set_cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        Page {
            status: response.status().as_u16(),
            location,
            set_cookie,
            csp,
            html: response.text().await.unwrap_or_default(),
        }
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
        re.captures(&self.html)
            .map(|c| c[1].to_string())
            .unwrap_or_else(|| panic!("no CSRF token in {}", self.html))
    }

    fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

struct Console<'a> {
    app: &'a TestApp,
    browser: reqwest::Client,
}

impl<'a> Console<'a> {
    fn new(app: &'a TestApp) -> Self {
        Console {
            app,
            browser: browser(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        Page::from(
            self.browser
                .get(format!("{}{path}", self.app.address))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Page::from(
            self.browser
                .post(format!("{}{path}", self.app.address))
                .form(form)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// Signs in with an admin token; answers the first page's CSRF token.
    async fn sign_in(&self, token: &str) -> String {
        let signed = self.post("/console/sign-in", &[("token", token)]).await;
        assert_eq!(signed.status, 303, "{}", signed.html);
        assert_eq!(signed.location.as_deref(), Some("/console"));
        let home = self.get("/console").await;
        assert_eq!(
            home.location.as_deref(),
            Some("/console/users"),
            "the first section"
        );
        self.get("/console/users").await.csrf()
    }
}

#[tokio::test]
async fn a_token_signs_in_to_a_session_with_a_strict_cookie_and_signing_out_ends_it() {
    let app = spawn_app().await;
    let console = Console::new(&app);
    let before = console.get("/console/users").await;
    assert_eq!(before.status, 303);
    assert_eq!(before.location.as_deref(), Some("/console/sign-in"));

    let form = console.get("/console/sign-in").await;
    assert_eq!(form.status, 200);
    assert!(form.has(r#"type="password""#) && form.has(r#"name="token""#));
    let csp = form.csp.clone().expect("a policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let refused = console
        .post("/console/sign-in", &[("token", "rg_nonsense")])
        .await;
    assert_eq!(refused.status, 401);
    assert!(refused.set_cookie.is_empty());
    // A connector (SCIM) token is no admin token.
    let refused = console
        .post("/console/sign-in", &[("token", &app.token)])
        .await;
    assert_eq!(refused.status, 401);

    let signed = console
        .post("/console/sign-in", &[("token", &app.admin_token)])
        .await;
    assert_eq!(signed.status, 303);
    let cookie = signed.set_cookie.join("; ");
    for attribute in [
        "rolegate_console=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let users = console.get("/console/users").await;
    assert_eq!(users.status, 200, "{}", users.html);
    assert!(users.has("Signed in as") && users.has("owner token"));
    assert_eq!(users.csp.as_deref(), Some(csp.as_str()));

    // Another site's form to the sign-in is refused by its Origin.
    let cross = Page::from(
        console
            .browser
            .post(format!("{}/console/sign-in", app.address))
            .header("Origin", "http://evil.example")
            .form(&[("token", app.admin_token.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cross.status, 403);

    let stale = console
        .post("/console/sign-out", &[("csrf", "wrong")])
        .await;
    assert_eq!(stale.status, 403);
    assert_eq!(console.get("/console/users").await.status, 200);
    let out = console
        .post("/console/sign-out", &[("csrf", &users.csrf())])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
    assert_eq!(console.get("/console/users").await.status, 303);
}

#[tokio::test]
async fn a_session_ends_when_its_token_is_revoked_or_its_user_deactivated_or_archived() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    for ending in ["revoke", "deactivate", "archive"] {
        let user = app.create_user(&format!("{ending}@example.com")).await;
        set_environment_role(
            &app,
            &user,
            &model.production,
            &model.role("environment_admin"),
        )
        .await;
        let token = app.admin_token_for(&user);
        let console = Console::new(&app);
        console.sign_in(&token).await;
        let own = console.get(&format!("/console/users/{user}")).await;
        assert_eq!(own.status, 200, "{}", own.html);
        assert!(own.has(&format!("{ending}@example.com")));
        match ending {
            "revoke" => {
                let tokens = app.admin(Method::GET, "/admin-tokens", None).await;
                let id = tokens.body["tokens"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["user_id"] == user.as_str())
                    .and_then(|t| t["id"].as_str())
                    .unwrap()
                    .to_string();
                let r = app
                    .admin(Method::DELETE, &format!("/admin-tokens/{id}"), None)
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            "deactivate" => {
                let r = app
                    .patch(
                        &format!("/Users/{user}"),
                        &patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            _ => {
                let other = app.create_user("keeper@example.com").await;
                set_environment_role(
                    &app,
                    &other,
                    &model.production,
                    &model.role("environment_admin"),
                )
                .await;
                let r = app
                    .admin(Method::POST, &format!("/users/{user}/archive"), None)
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
        }
        let after = console.get(&format!("/console/users/{user}")).await;
        assert_eq!(after.status, 303, "{ending}: the session still stands");
        assert_eq!(after.location.as_deref(), Some("/console/sign-in"));
    }
}

#[tokio::test]
async fn an_openid_connect_sign_in_acts_with_the_persons_own_privileges() {
    let s = oidc::setup().await;
    let model = Model::load(&s.app).await;
    let admin = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "dora@example.com", "externalId": "dora-oid"}),
        )
        .await
        .id();
    set_environment_role(
        &s.app,
        &admin,
        &model.production,
        &model.role("environment_admin"),
    )
    .await;
    let plain = s
        .app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "eve@example.com", "externalId": "eve-oid"}),
        )
        .await
        .id();

    // The sign-in page lists the tenant's providers.
    let console = Console {
        app: &s.app,
        browser: s.no_redirects.clone(),
    };
    let listed = console
        .get(&format!("/console/sign-in?tenant={}", s.app.tenant_id))
        .await;
    assert!(listed.has(&format!("/console/sign-in/{}/corp", s.app.tenant_id)));
    // An account named on the form is passed to the provider to preselect it.
    let hinted = console
        .get(&format!(
            "/console/sign-in?tenant={}&login_hint=dora%40example.com",
            s.app.tenant_id
        ))
        .await;
    assert!(hinted.has(&format!(
        "/console/sign-in/{}/corp?login_hint=dora%40example.com",
        s.app.tenant_id
    )));
    let to_provider = console
        .get(&format!(
            "/console/sign-in/{}/corp?login_hint=dora%40example.com",
            s.app.tenant_id
        ))
        .await;
    assert!(
        to_provider
            .location
            .as_deref()
            .is_some_and(|l| l.contains("login_hint=dora%40example.com")),
        "{:?}",
        to_provider.location
    );

    for (person, sub) in [(&admin, "dora"), (&plain, "eve")] {
        let browser = browser();
        let started = Page::from(
            browser
                .get(format!(
                    "{}/console/sign-in/{}/corp",
                    s.app.address, s.app.tenant_id
                ))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(started.status, 302, "{}", started.html);
        let url = reqwest::Url::parse(started.location.as_deref().unwrap()).unwrap();
        let login = oidc::Login {
            state: oidc::param(&url, "state"),
            nonce: oidc::param(&url, "nonce"),
            challenge: oidc::param(&url, "code_challenge"),
            location: url.to_string(),
        };
        let code = s.code(&login, json!({"sub": sub, "oid": format!("{sub}-oid")}));
        let back = Page::from(
            browser
                .get(format!("{}/callback", s.path))
                .query(&[("code", code.as_str()), ("state", login.state.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(back.status, 303, "{}", back.html);
        assert_eq!(back.location.as_deref(), Some("/console"));
        assert!(back
            .set_cookie
            .iter()
            .any(|c| c.starts_with("rolegate_console=")));
        let console = Console {
            app: &s.app,
            browser,
        };
        let users = console.get("/console/users").await;
        if person == &admin {
            assert_eq!(users.status, 200, "{}", users.html);
            assert!(users.has("dora@example.com") && users.has("eve@example.com"));
        } else {
            // Eve holds no admin privilege: the list is refused, her own page is not, and
            // the console opens on a section she may read, with only those offered.
            assert_eq!(users.status, 403, "{}", users.html);
            let home = console.get("/console").await;
            assert_eq!(home.location.as_deref(), Some("/console/applications"));
            let apps = console.get("/console/applications").await;
            assert_eq!(apps.status, 200, "{}", apps.html);
            for hidden in [
                r#"href="/console/users""#,
                r#"href="/console/environments""#,
                r#"href="/console/idp-groups""#,
                r#"href="/console/audit""#,
            ] {
                assert!(!apps.has(hidden), "{hidden} offered to Eve");
            }
            assert!(apps.has(r#"href="/console/connections""#));
            assert!(users.has("workspace_access.collaborators.full_access"));
            let own = console.get(&format!("/console/users/{plain}")).await;
            assert_eq!(own.status, 200, "{}", own.html);
            assert!(
                !own.has("Archive…"),
                "an action she may not take is offered"
            );
            assert!(!own.has("Set role…"));
        }
    }
}

#[tokio::test]
async fn a_change_shows_its_dry_run_and_applies_only_once_confirmed_with_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ada = app.create_user("ada@example.com").await;
    set_environment_role(&app, &ada, &model.production, &model.role("member")).await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;

    let page = console.get(&format!("/console/users/{ada}")).await;
    assert!(page.has("Archive…"));
    assert!(
        page.has("Member") && page.has("direct assignment"),
        "{}",
        page.html
    );

    let forged = console
        .post(
            &format!("/console/users/{ada}/archive"),
            &[("csrf", "forged"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let missing = console
        .post(
            &format!("/console/users/{ada}/archive"),
            &[("confirmed", "1")],
        )
        .await;
    assert_eq!(missing.status, 403);
    assert_eq!(status_of(&app, &ada).await, "active");

    let preview = console
        .post(&format!("/console/users/{ada}/archive"), &[("csrf", &csrf)])
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(preview.has("Archive this user?"));
    assert!(preview.has("Losses") && preview.has("ada@example.com") && preview.has("Member"));
    assert!(preview.has(r#"name="confirmed""#));
    assert_eq!(
        status_of(&app, &ada).await,
        "active",
        "a preview changes nothing"
    );

    let applied = console
        .post(
            &format!("/console/users/{ada}/archive"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert_eq!(applied.location, Some(format!("/console/users/{ada}")));
    assert_eq!(status_of(&app, &ada).await, "archived");
    let entries = app
        .admin(Method::GET, &format!("/audit?resource_id={ada}"), None)
        .await;
    let actors: Vec<&str> = entries.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        actors.iter().any(|a| a.starts_with("console:admin-token:")),
        "{actors:?}"
    );

    // Unarchived, the user is invited again: the new link is shown once, to be sent.
    let user = console.get(&format!("/console/users/{ada}")).await;
    assert!(user.has("Unarchive…"), "{}", user.html);
    let unarchived = console
        .post(
            &format!("/console/users/{ada}/unarchive"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(unarchived.status, 200, "{}", unarchived.html);
    assert!(
        unarchived.has(r#"id="invitation-url""#) && unarchived.has("/invitations/"),
        "{}",
        unarchived.html
    );
    assert_eq!(status_of(&app, &ada).await, "invited");
}

async fn status_of(app: &TestApp, user: &str) -> String {
    app.admin(Method::GET, &format!("/users/{user}"), None)
        .await
        .body["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn losing_ones_own_admin_access_asks_for_its_own_confirmation() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let me = app.create_user("me@example.com").await;
    let other = app.create_user("other@example.com").await;
    for user in [&me, &other] {
        set_environment_role(
            &app,
            user,
            &model.production,
            &model.role("environment_admin"),
        )
        .await;
    }
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token_for(&me)).await;
    let member = model.role("member");
    let form = [
        ("csrf", csrf.as_str()),
        ("environment_id", model.production.as_str()),
        ("role_id", member.as_str()),
    ];
    let preview = console
        .post(&format!("/console/users/{me}/role"), &form)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(preview.has(r#"id="self-lockout""#), "{}", preview.html);
    assert!(preview.has(r#"name="confirm_self_lockout""#));
    let mut confirmed = form.to_vec();
    confirmed.push(("confirmed", "1"));
    let refused = console
        .post(&format!("/console/users/{me}/role"), &confirmed)
        .await;
    assert_eq!(refused.status, 409, "without the lockout confirmation");
    assert!(refused.has("self-lockout"));
    confirmed.push(("confirm_self_lockout", "1"));
    let applied = console
        .post(&format!("/console/users/{me}/role"), &confirmed)
        .await;
    assert_eq!(applied.status, 303, "{}", applied.html);
}

#[tokio::test]
async fn every_page_shows_what_the_admin_api_holds() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let idp = app.create_group("Sales (IdP)", &[&ada]).await;
    let group = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sales"}),
    )
    .await;
    let r = app
        .admin(
            Method::POST,
            "/group-mappings",
            Some(&json!({"idp_group_id": idp, "end_user_group_id": group})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let crm = create(
        &app,
        "/applications",
        json!({"environment_id": model.production, "name": "CRM"}),
    )
    .await;
    assign(
        &app,
        json!({"type": "end_user_group", "id": group}),
        &model.role("project_operator"),
        json!({"application_id": crm}),
    )
    .await;
    let console = Console::new(&app);
    console.sign_in(&app.admin_token).await;

    let user = console.get(&format!("/console/users/{ada}")).await;
    assert!(
        user.has("Application CRM") && user.has("Sales (IdP)") && user.has(" mapped to "),
        "{}",
        user.html
    );
    let envs = console.get("/console/environments").await;
    assert!(envs.has(&format!("/console/environments/{}", model.production)));
    let env = console
        .get(&format!("/console/environments/{}", model.production))
        .await;
    assert!(env.has(&format!("/console/groups/{group}")) && env.has("New end-user group"));
    let g = console.get(&format!("/console/groups/{group}")).await;
    assert!(
        g.has("Sales (IdP)") && g.has("on CRM") && g.has("Direct members (0)"),
        "{}",
        g.html
    );
    let roles = console.get("/console/roles").await;
    assert!(roles.has("matrix-environment") && roles.has("application.access.manage"));
    assert!(roles.has("New custom role"));
    let audit = console
        .get("/console/audit?resource_type=EndUserGroup")
        .await;
    assert!(
        audit.has("EndUserGroup") && !audit.has("No entry matches"),
        "{}",
        audit.html
    );
    let connections = console.get("/console/connections").await;
    assert!(connections.has(&format!("{}/scim/v2", app.address)));
    assert!(connections.has("Steps for Microsoft Entra ID") && connections.has("Steps for Okta"));
    let missing = console.get("/console/no-such-page").await;
    assert_eq!(missing.status, 404);
    for page in [&user, &envs, &env, &g, &roles, &audit, &connections] {
        assert!(
            !page.html.contains("<script>") && !page.html.contains("style="),
            "inline code"
        );
        assert!(page.has(r#"<main id="main">"#) && page.has(r#"<nav aria-label="Console">"#));
    }
}

#[tokio::test]
async fn groups_and_roles_are_created_and_changed_after_their_preview() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;
    let env_path = format!("/console/environments/{}/groups", model.production);
    let preview = console
        .post(
            &env_path,
            &[("csrf", &csrf), ("name", "Support"), ("description", "")],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(preview.has("no-change"));
    let listed = app.admin(Method::GET, "/end-user-groups", None).await;
    assert!(
        !listed.body.to_string().contains("Support"),
        "previewed only"
    );
    let done = console
        .post(
            &env_path,
            &[
                ("csrf", &csrf),
                ("name", "Support"),
                ("description", ""),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let listed = app.admin(Method::GET, "/end-user-groups", None).await;
    let group = listed.body["end_user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Support")
        .and_then(|g| g["id"].as_str())
        .expect("created")
        .to_string();
    let renamed = console
        .post(
            &format!("/console/groups/{group}/rename"),
            &[("csrf", &csrf), ("name", "Helpdesk"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.html);
    let copied = console
        .post(
            &format!("/console/groups/{group}/duplicate"),
            &[
                ("csrf", &csrf),
                ("name", "Helpdesk 2"),
                ("roles", "true"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(copied.status, 303, "{}", copied.html);
    let deleted = console
        .post(
            &format!("/console/groups/{group}/delete"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    let names: Vec<String> = app.admin(Method::GET, "/end-user-groups", None).await.body
        ["end_user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.contains(&"Helpdesk 2".to_string()) && !names.contains(&"Helpdesk".to_string()),
        "{names:?}"
    );

    // A custom role, then its privileges from the checkboxes (a repeated field).
    let made = console
        .post(
            "/console/roles",
            &[
                ("csrf", &csrf),
                ("name", "Auditor"),
                ("scope", "environment"),
                ("description", ""),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.html);
    let roles = app.admin(Method::GET, "/roles", None).await;
    let role = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Auditor")
        .and_then(|r| r["id"].as_str())
        .expect("role")
        .to_string();
    let edit = console.get(&format!("/console/roles/{role}")).await;
    assert!(edit.has("environment_settings.activity_audit.full_access"));
    let saved = console
        .post(
            &format!("/console/roles/{role}"),
            &[
                ("csrf", &csrf),
                (
                    "privileges",
                    "environment_settings.activity_audit.full_access",
                ),
                ("privileges", "workspace_access.collaborators.full_access"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let now = app
        .admin(Method::GET, &format!("/roles/{role}"), None)
        .await;
    let mut held: Vec<&str> = now.body["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    held.sort();
    assert_eq!(
        held,
        [
            "environment_settings.activity_audit.full_access",
            "workspace_access.collaborators.full_access"
        ]
    );
}

#[tokio::test]
async fn a_connector_token_is_shown_once_with_its_steps_and_revoked_after_confirmation() {
    let app = spawn_app().await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;
    let made = console
        .post(
            "/console/connections/scim-tokens",
            &[("csrf", &csrf), ("name", "Entra"), ("confirmed", "1")],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let secret = regex::Regex::new(r#"id="new-token">([^<]+)<"#)
        .unwrap()
        .captures(&made.html)
        .expect("the secret")[1]
        .to_string();
    let works = app
        .request_as(Some(&secret), Method::GET, "/Users", None)
        .await;
    assert_eq!(works.status, 200);
    let page = console.get("/console/connections").await;
    assert!(
        page.has("Entra") && !page.has(&secret),
        "the secret is shown once"
    );
    let tokens = app.admin(Method::GET, "/scim-tokens", None).await;
    let id = tokens.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Entra")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_string();
    let revoked = console
        .post(
            &format!("/console/connections/scim-tokens/{id}/revoke"),
            &[("csrf", &csrf), ("confirmed", "1")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    assert_eq!(
        app.request_as(Some(&secret), Method::GET, "/Users", None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_user_list_is_paged_and_searched_on_the_server_in_a_large_tenant() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    {
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(
            "INSERT INTO users (tenant_id, id, user_name, external_id, display_name, active, attributes, source) \
             SELECT $1, gen_random_uuid(), 'user' || lpad(n::text, 6, '0') || '@example.com', 'ext-' || n, \
                    'User ' || n, true, \
                    jsonb_build_object('emails', jsonb_build_array(jsonb_build_object('value', 'mail' || n || '@corp.example', 'primary', true))), \
                    CASE WHEN n % 10 = 0 THEN 'login' ELSE 'scim' END \
             FROM generate_series(1, 20000) n",
        )
        .bind::<diesel::sql_types::Uuid, _>(app.tenant_id)
        .execute(&mut conn)
        .unwrap();
    }
    let console = Console::new(&app);
    console.sign_in(&app.admin_token).await;
    let first = console.get("/console/users").await;
    assert_eq!(first.status, 200);
    assert!(first.has("user000001@example.com") && first.has("user000050@example.com"));
    assert!(!first.has("user000051@example.com"), "one page of 50");
    let next = regex::Regex::new(r#"rel="next" href="([^"]+)""#)
        .unwrap()
        .captures(&first.html)
        .expect("a next page")[1]
        .replace("&amp;", "&");
    let second = console.get(&next).await;
    assert!(second.has("user000051@example.com") && !second.has("user000050@example.com"));

    for (search, expected) in [
        ("user012345", "user012345@example.com"),
        ("ext-777", "user000777@example.com"),
        ("mail4242@corp.example", "user004242@example.com"),
        ("User 1999", "user001999@example.com"),
    ] {
        let found = console
            .get(&format!("/console/users?q={}", search.replace(' ', "+")))
            .await;
        assert!(found.has(expected), "{search}: {}", found.html);
    }
    let logins = console.get("/console/users?source=login").await;
    assert!(logins.has("user000010@example.com") && !logins.has("user000011@example.com"));
    // The same list through the admin API, walked by next_after.
    let mut after = String::new();
    let mut seen = 0;
    for _ in 0..3 {
        let page = app
            .admin(
                Method::GET,
                &format!("/users?limit=200&source=login&after={after}"),
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen += page.body["users"].as_array().unwrap().len();
        after = page.body["next_after"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    assert_eq!(seen, 600);
    let bad = app.admin(Method::GET, "/users?status=gone", None).await;
    bad.assert_problem(400);
}

/// The name the admin API gives a role.
async fn role_name(app: &TestApp, role: &str) -> String {
    app.admin(Method::GET, &format!("/roles/{role}"), None)
        .await
        .body["name"]
        .as_str()
        .expect("name")
        .to_string()
}

#[tokio::test]
async fn an_idp_group_is_mapped_after_its_preview_names_who_gains_what() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let idp = app.create_group("Sales (IdP)", &[&ada]).await;
    app.create_group("Support (IdP)", &[]).await;
    let group = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sellers"}),
    )
    .await;
    let crm = application(&app, &model.production, "CRM").await;
    let operator = model.role("project_operator");
    assign(
        &app,
        json!({"type": "end_user_group", "id": group}),
        &operator,
        json!({"application_id": crm}),
    )
    .await;
    let operator_name = role_name(&app, &operator).await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;

    let list = console.get("/console/idp-groups").await;
    assert!(
        list.has("Sales (IdP)") && list.has("Support (IdP)"),
        "{}",
        list.html
    );
    assert!(list.has(&format!("/console/idp-groups/{idp}/map")));
    let searched = console.get("/console/idp-groups?q=supp").await;
    assert!(searched.has("Support (IdP)") && !searched.has("Sales (IdP)"));
    let listed = app
        .admin(Method::GET, &format!("/users/{ada}/idp-groups"), None)
        .await;
    assert_eq!(
        listed.body["idp_groups"],
        json!([{"id": idp, "displayName": "Sales (IdP)", "source": "scim"}])
    );
    let user = console.get(&format!("/console/users/{ada}")).await;
    assert!(
        user.has(r#"id="idp-memberships""#) && user.has("/console/idp-groups?q=Sales+%28IdP%29"),
        "{}",
        user.html
    );

    let map = format!("/console/idp-groups/{idp}/map");
    let preview = console
        .post(&map, &[("csrf", &csrf), ("end_user_group_id", &group)])
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(
        preview.has("Gains") && preview.has("ada@example.com") && preview.has(&operator_name),
        "{}",
        preview.html
    );
    assert!(application_roles(&effective(&app, &ada).await, &crm).is_empty());
    let applied = console
        .post(
            &map,
            &[
                ("csrf", &csrf),
                ("end_user_group_id", &group),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert_eq!(applied.location, Some(format!("/console/groups/{group}")));
    assert_eq!(
        application_roles(&effective(&app, &ada).await, &crm),
        [operator_name.clone()].into()
    );
    let mapped = console.get("/console/idp-groups?q=sales").await;
    assert!(mapped.has(&format!(r#"href="/console/groups/{group}""#)) && mapped.has("Sellers"));

    let unmap = format!("/console/groups/{group}/unmap");
    let preview = console
        .post(&unmap, &[("csrf", &csrf), ("idp_group_id", &idp)])
        .await;
    assert!(
        preview.has("Losses") && preview.has(&operator_name),
        "{}",
        preview.html
    );
    let applied = console
        .post(
            &unmap,
            &[("csrf", &csrf), ("idp_group_id", &idp), ("confirmed", "1")],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert!(application_roles(&effective(&app, &ada).await, &crm).is_empty());
}

#[tokio::test]
async fn project_access_is_granted_to_a_user_a_group_or_everyone_else_and_removed() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    set_environment_role(&app, &bob, &model.production, &model.role("member")).await;
    let crm = application(&app, &model.production, "CRM").await;
    let operator = model.role("project_operator");
    let operator_name = role_name(&app, &operator).await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;

    let list = console.get("/console/applications").await;
    assert!(
        list.has("CRM") && list.has(&format!("/console/applications/{crm}")),
        "{}",
        list.html
    );
    let page = console.get(&format!("/console/applications/{crm}")).await;
    assert!(
        page.has("Grant a role") && page.has("Everyone else"),
        "{}",
        page.html
    );

    let grant = format!("/console/applications/{crm}/grant");
    let to_ada = [
        ("csrf", csrf.as_str()),
        ("principal", "user"),
        ("user_name", "ada@example.com"),
        ("role_id", operator.as_str()),
    ];
    let preview = console.post(&grant, &to_ada).await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(preview.has("Gains") && preview.has("ada@example.com") && preview.has(&operator_name));
    let mut confirmed = to_ada.to_vec();
    confirmed.push(("confirmed", "1"));
    let applied = console.post(&grant, &confirmed).await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert_eq!(
        application_roles(&effective(&app, &ada).await, &crm),
        [operator_name.clone()].into()
    );
    let unknown = console
        .post(
            &grant,
            &[
                ("csrf", csrf.as_str()),
                ("principal", "user"),
                ("user_name", "nobody@example.com"),
                ("role_id", operator.as_str()),
            ],
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);
    assert!(unknown.has("no user named"));

    // Everyone else: every other user of the environment, Bob here.
    let everyone = [
        ("csrf", csrf.as_str()),
        ("principal", "everyone_else"),
        ("role_id", operator.as_str()),
        ("confirmed", "1"),
    ];
    let applied = console.post(&grant, &everyone).await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert_eq!(
        application_roles(&effective(&app, &bob).await, &crm),
        [operator_name.clone()].into()
    );
    let page = console.get(&format!("/console/applications/{crm}")).await;
    assert!(page.has("<em>Everyone else</em>") && page.has(&format!("/console/users/{ada}")));

    let access = app
        .admin(
            Method::GET,
            &format!("/assignments?application_id={crm}"),
            None,
        )
        .await;
    assert_eq!(access.status, 200, "{}", access.body);
    let everyone_else = access.body["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|a| a["principal"]["type"] == "everyone_else")
        .and_then(|a| a["id"].as_str())
        .expect("the Everyone else assignment")
        .to_string();
    let remove = format!("/console/applications/{crm}/remove");
    let preview = console
        .post(
            &remove,
            &[("csrf", &csrf), ("assignment_id", &everyone_else)],
        )
        .await;
    assert!(
        preview.has("Losses") && preview.has("bob@example.com"),
        "{}",
        preview.html
    );
    let applied = console
        .post(
            &remove,
            &[
                ("csrf", &csrf),
                ("assignment_id", &everyone_else),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert!(application_roles(&effective(&app, &bob).await, &crm).is_empty());
}

#[tokio::test]
async fn the_events_page_shows_the_feed_by_type_and_the_webhooks() {
    let app = spawn_app().await;
    let ada = app.create_user("ada@example.com").await;
    app.create_group("Sales (IdP)", &[&ada]).await;
    let console = Console::new(&app);
    console.sign_in(&app.admin_token).await;

    let feed = console.get("/console/events").await;
    assert_eq!(feed.status, 200, "{}", feed.html);
    assert!(
        feed.has("user.created")
            && feed.has("group.created")
            && feed.has(&format!("/console/users/{ada}")),
        "{}",
        feed.html
    );
    let users_only = console.get("/console/events?type=user.created").await;
    assert!(
        users_only.has("<code>user.created</code>")
            && !users_only.has("<code>group.created</code>")
    );
    let bad = console.get("/console/events?type=nonsense").await;
    assert_eq!(bad.status, 400);
    assert!(feed.has("No webhook"));
}

#[tokio::test]
async fn a_member_is_added_and_removed_after_the_preview_of_what_they_gain_and_lose() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let group = create(
        &app,
        "/end-user-groups",
        json!({"environment_id": model.production, "name": "Sellers"}),
    )
    .await;
    let crm = application(&app, &model.production, "CRM").await;
    let operator = model.role("project_operator");
    assign(
        &app,
        json!({"type": "end_user_group", "id": group}),
        &operator,
        json!({"application_id": crm}),
    )
    .await;
    let operator_name = role_name(&app, &operator).await;
    let console = Console::new(&app);
    let csrf = console.sign_in(&app.admin_token).await;
    let page = console.get(&format!("/console/groups/{group}")).await;
    assert!(page.has(&format!("/console/groups/{group}/members/add")));

    let add = format!("/console/groups/{group}/members/add");
    let preview = console
        .post(&add, &[("csrf", &csrf), ("user_name", "ada@example.com")])
        .await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(
        preview.has("Gains") && preview.has(&operator_name),
        "{}",
        preview.html
    );
    assert!(application_roles(&effective(&app, &ada).await, &crm).is_empty());
    let added = console
        .post(
            &add,
            &[
                ("csrf", &csrf),
                ("user_name", "ada@example.com"),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    assert_eq!(
        application_roles(&effective(&app, &ada).await, &crm),
        [operator_name.clone()].into()
    );
    let page = console.get(&format!("/console/groups/{group}")).await;
    assert!(
        page.has("Direct members (1)") && page.has(&format!(r#"name="user_id" value="{ada}""#))
    );

    let remove = format!("/console/groups/{group}/members/remove");
    let preview = console
        .post(&remove, &[("csrf", &csrf), ("user_id", &ada)])
        .await;
    assert!(
        preview.has("Losses") && preview.has("ada@example.com"),
        "{}",
        preview.html
    );
    let removed = console
        .post(
            &remove,
            &[("csrf", &csrf), ("user_id", &ada), ("confirmed", "1")],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    assert!(application_roles(&effective(&app, &ada).await, &crm).is_empty());
    let forged = console
        .post(
            &remove,
            &[("csrf", "forged"), ("user_id", &ada), ("confirmed", "1")],
        )
        .await;
    assert_eq!(forged.status, 403);
}

/// A group's page shows its direct members 50 at a time: exactly 50 is one page; one more
/// makes a second page, which holds only the rest and leads nowhere further.
#[tokio::test]
async fn a_groups_members_are_paged_fifty_at_a_time() {
    let app = spawn_app().await;
    let model = Model::load(&app).await;
    let mut users = Vec::new();
    for i in 0..51 {
        users.push(app.create_user(&format!("member{i:02}")).await);
    }
    let created = app
        .admin(
            Method::POST,
            "/end-user-groups",
            Some(&json!({"environment_id": model.production, "name": "Many", "members": users[..50]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let group = created.id();
    let console = Console::new(&app);
    console.sign_in(&app.admin_token).await;
    let rows = |page: &Page| {
        users
            .iter()
            .filter(|u| page.has(&format!(r#"<tr><td><a href="/console/users/{u}">"#)))
            .cloned()
            .collect::<Vec<_>>()
    };
    let url = format!("/console/groups/{group}");
    let one = console.get(&url).await;
    assert_eq!(rows(&one).len(), 50, "{}", one.html);
    assert!(!one.has(r#"rel="next""#), "{}", one.html);
    assert!(one.has("Direct members (50)"));

    let added = app
        .admin(
            Method::POST,
            &format!("/end-user-groups/{group}/members"),
            Some(&json!({"users": [users[50]]})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let first = console.get(&url).await;
    let first_rows = rows(&first);
    assert_eq!(first_rows.len(), 50, "{}", first.html);
    assert!(first.has("Direct members (51)"));
    let re = regex::Regex::new(r#"rel="next" href="([^"]+)""#).expect("pattern");
    let next = re
        .captures(&first.html)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("no next page in {}", first.html));
    let second = console.get(&next).await;
    let second_rows = rows(&second);
    assert_eq!(second_rows.len(), 1, "{}", second.html);
    assert!(!second.has(r#"rel="next""#), "{}", second.html);
    let mut all: Vec<_> = first_rows.into_iter().chain(second_rows).collect();
    all.sort();
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(all, expected);
}
