//! Managed workspaces: a parent tenant's inheritable roles in every child (read-only, following
//! the parent's edits), moderators across a child's environments and projects, the parent's
//! list of every child's users with totals, archiving at the parent, and siblings isolated.

use std::collections::BTreeSet;

use reqwest::Method;
use rolegate::access::effective;
use rolegate::provisioning::tenants;
use rolegate::provisioning::tokens::{self, TokenHolder};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::access::{application_privileges, application_roles, environment_roles, Model};
use crate::helpers::{spawn_app, Reply, TestApp};

/// A managed workspace of the test tenant, with an owner token of its own.
struct Workspace<'a> {
    app: &'a TestApp,
    id: Uuid,
    token: String,
}

impl<'a> Workspace<'a> {
    fn new(app: &'a TestApp, name: &str) -> Workspace<'a> {
        let mut conn = app.pool.get().expect("connection");
        let tenant = tenants::create_managed(&mut conn, name, app.tenant_id, "test")
            .expect("a managed workspace");
        let token = tokens::create(
            &mut conn,
            tenant.id,
            "owner",
            TokenHolder::Owner,
            None,
            "test",
        )
        .expect("token")
        .secret;
        Workspace {
            app,
            id: tenant.id,
            token,
        }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.app
            .admin_as(Some(&self.token), method, path, body)
            .await
    }

    async fn create(&self, path: &str, body: Value) -> String {
        let reply = self.admin(Method::POST, path, Some(&body)).await;
        assert_eq!(reply.status, 201, "{path}: {}", reply.body);
        reply.body["id"].as_str().expect("id").to_string()
    }

    async fn roles(&self) -> Vec<Value> {
        let reply = self.admin(Method::GET, "/roles", None).await;
        reply.body["roles"].as_array().expect("roles").clone()
    }

    async fn role_named(&self, name: &str) -> Option<Value> {
        self.roles().await.into_iter().find(|r| r["name"] == name)
    }

    async fn system_role(&self, key: &str) -> String {
        self.roles()
            .await
            .into_iter()
            .find(|r| r["system_key"] == key)
            .and_then(|r| r["id"].as_str().map(str::to_string))
            .expect("a system role")
    }

    async fn production(&self) -> String {
        self.admin(Method::GET, "/environments", None).await.body["environments"][0]["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    async fn user(&self, user_name: &str) -> String {
        let reply = self
            .app
            .request_as(
                Some(&self.scim_token()),
                Method::POST,
                "/Users",
                Some(
                    &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                              "userName": user_name}),
                ),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.id()
    }

    fn scim_token(&self) -> String {
        let mut conn = self.app.pool.get().expect("connection");
        tokens::create(
            &mut conn,
            self.id,
            "scim",
            TokenHolder::Connector,
            None,
            "test",
        )
        .expect("token")
        .secret
    }

    async fn effective(&self, user: &str) -> Value {
        let reply = self
            .admin(Method::GET, &format!("/users/{user}/effective-roles"), None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    /// The maintained effective roles equal their recomputation.
    fn assert_no_drift(&self) {
        let mut conn = self.app.pool.get().expect("connection");
        assert_eq!(
            effective::maintained(&mut conn, self.id).expect("maintained"),
            effective::expected(&mut conn, self.id).expect("expected"),
            "the workspace's effective roles drifted"
        );
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn inherited_roles_are_read_only_in_every_child_and_follow_the_parent() {
    let app = spawn_app().await;
    let before = Workspace::new(&app, "acme");
    let reply = app
        .admin(
            Method::POST,
            "/roles",
            Some(
                &json!({"name": "Auditor", "scope": "application", "inheritable": true,
                         "privileges": ["application.content.view"]}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["inheritable"], true);
    let parent_role = reply.id();
    // A workspace created later gets it too.
    let after = Workspace::new(&app, "globex");
    for child in [&before, &after] {
        let copy = child
            .role_named("Auditor")
            .await
            .expect("the inherited role");
        assert_eq!(copy["inherited_from"], json!(parent_role));
        assert_eq!(copy["privileges_editable"], false);
        assert_eq!(copy["privileges"], json!(["application.content.view"]));
        let id = copy["id"].as_str().expect("id");
        child
            .admin(
                Method::PATCH,
                &format!("/roles/{id}"),
                Some(&json!({"name": "Mine"})),
            )
            .await
            .assert_rule(409, "inherited-role-immutable");
        child
            .admin(
                Method::PATCH,
                &format!("/roles/{id}"),
                Some(&json!({"privileges": ["application.content.build"]})),
            )
            .await
            .assert_rule(409, "inherited-role-immutable");
        child
            .admin(Method::DELETE, &format!("/roles/{id}"), None)
            .await
            .assert_rule(409, "inherited-role-immutable");
    }
    // A child holder of the inherited role.
    let production = before.production().await;
    let crm = before
        .create(
            "/applications",
            json!({"environment_id": production, "name": "CRM"}),
        )
        .await;
    let ann = before.user("ann@example.com").await;
    let copy = before.role_named("Auditor").await.expect("copy")["id"]
        .as_str()
        .expect("id")
        .to_string();
    before
        .create(
            "/assignments",
            json!({"principal": {"type": "user", "id": ann}, "role_id": copy, "application_id": crm}),
        )
        .await;
    assert_eq!(
        application_privileges(&before.effective(&ann).await, &crm),
        set(&["application.content.view"])
    );
    // The parent's edit: renamed, and it now lets holders run tests as well.
    let reply = app
        .admin(
            Method::PATCH,
            &format!("/roles/{parent_role}"),
            Some(&json!({"name": "Reviewer",
                         "privileges": ["application.content.view", "application.recipes.run_stop"]})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for child in [&before, &after] {
        let copy = child
            .role_named("Reviewer")
            .await
            .expect("renamed in the child");
        assert_eq!(
            copy["privileges"],
            json!(["application.content.view", "application.recipes.run_stop"])
        );
        assert!(child.role_named("Auditor").await.is_none());
    }
    assert_eq!(
        application_privileges(&before.effective(&ann).await, &crm),
        set(&["application.recipes.run_stop", "application.content.view"])
    );
    before.assert_no_drift();
    // A dry run of the parent's edit changes no child.
    let reply = app
        .admin(
            Method::PATCH,
            &format!("/roles/{parent_role}?dry_run=true"),
            Some(&json!({"privileges": []})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        before.role_named("Reviewer").await.expect("copy")["privileges"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Its dry run names, per workspace, who would lose what; nothing changes.
    let reply = app
        .admin(
            Method::PATCH,
            &format!("/roles/{parent_role}?dry_run=true"),
            Some(&json!({"inheritable": false})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let parts = reply.body["workspaces"]
        .as_array()
        .expect("workspaces")
        .clone();
    assert_eq!(parts.len(), 1, "{}", reply.body);
    assert_eq!(parts[0]["workspace_id"], json!(before.id));
    assert_eq!(parts[0]["users_losing"], 1);
    assert_eq!(parts[0]["losses"][0]["user"]["name"], "ann@example.com");
    assert_eq!(parts[0]["losses"][0]["role"]["name"], "Reviewer");
    assert!(before.role_named("Reviewer").await.is_some());
    // Withdrawn: the copies go with their assignments; the holder loses the role.
    let reply = app
        .admin(
            Method::PATCH,
            &format!("/roles/{parent_role}"),
            Some(&json!({"inheritable": false})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(before.role_named("Reviewer").await.is_none());
    assert!(after.role_named("Reviewer").await.is_none());
    assert!(application_roles(&before.effective(&ann).await, &crm).is_empty());
    before.assert_no_drift();
    // Passed on again, then deleted at the parent: gone everywhere.
    app.admin(
        Method::PATCH,
        &format!("/roles/{parent_role}"),
        Some(&json!({"inheritable": true})),
    )
    .await;
    assert!(after.role_named("Reviewer").await.is_some());
    assert_eq!(
        app.admin(Method::DELETE, &format!("/roles/{parent_role}"), None)
            .await
            .status,
        204
    );
    assert!(after.role_named("Reviewer").await.is_none());
    // A workspace has no workspaces of its own to pass roles on to.
    before
        .admin(
            Method::POST,
            "/roles",
            Some(
                &json!({"name": "Nested", "scope": "application", "inheritable": true,
                         "privileges": []}),
            ),
        )
        .await
        .assert_rule(422, "inheritable-in-managed-workspace");
    // The audit logs of both sides tell it.
    let audit = before
        .admin(Method::GET, "/audit?resource_type=Role", None)
        .await;
    assert!(
        audit.body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["operation"] == "inherit"),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn a_moderator_holds_its_roles_across_every_environment_and_project_and_never_through_everyone_else(
) {
    let app = spawn_app().await;
    let parent = Model::load(&app).await;
    let child = Workspace::new(&app, "acme");
    let production = child.production().await;
    let test = child.create("/environments", json!({"name": "Test"})).await;
    let crm = child
        .create(
            "/applications",
            json!({"environment_id": production, "name": "CRM"}),
        )
        .await;
    let lab = child
        .create(
            "/applications",
            json!({"environment_id": test, "name": "Lab"}),
        )
        .await;
    // Everyone else may operate CRM.
    child
        .create(
            "/assignments",
            json!({"principal": {"type": "everyone_else"},
                   "role_id": child.system_role("project_operator").await,
                   "application_id": crm}),
        )
        .await;
    let person = app.create_user("mod@example.com").await;
    let body = json!({"user_id": person,
                      "environment_role_id": parent.role("environment_manager"),
                      "project_role_id": parent.role("builder")});
    // A dry run adds nobody.
    let dry = app
        .admin(
            Method::POST,
            &format!("/workspaces/{}/moderators?dry_run=true", child.id),
            Some(&body),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let listed = app
        .admin(
            Method::GET,
            &format!("/workspaces/{}/moderators", child.id),
            None,
        )
        .await;
    assert_eq!(listed.body["moderators"], json!([]));
    let reply = app
        .admin(
            Method::POST,
            &format!("/workspaces/{}/moderators", child.id),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let moderator = reply.body["user_id"].as_str().expect("user id").to_string();
    assert_eq!(reply.body["parent_user_id"], json!(person));
    app.admin(
        Method::POST,
        &format!("/workspaces/{}/moderators", child.id),
        Some(&body),
    )
    .await
    .assert_problem(409);

    let access = child.effective(&moderator).await;
    for environment in [&production, &test] {
        assert_eq!(
            environment_roles(&access, environment),
            vec!["Environment manager"]
        );
    }
    // Builder on both projects, and not the Everyone-else role on CRM.
    assert_eq!(application_roles(&access, &crm), set(&["Builder"]));
    assert_eq!(application_roles(&access, &lab), set(&["Builder"]));
    // Later environments and projects too.
    let staging = child
        .create("/environments", json!({"name": "Staging"}))
        .await;
    let portal = child
        .create(
            "/applications",
            json!({"environment_id": staging, "name": "Portal"}),
        )
        .await;
    let access = child.effective(&moderator).await;
    assert_eq!(
        environment_roles(&access, &staging),
        vec!["Environment manager"]
    );
    assert_eq!(application_roles(&access, &portal), set(&["Builder"]));
    child.assert_no_drift();

    // The child cannot change a moderator's grants, nor put one in a collaborator group.
    let assignments = child
        .admin(
            Method::GET,
            &format!("/assignments?user_id={moderator}"),
            None,
        )
        .await;
    let granted = assignments.body["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|a| a["moderator"] == true)
        .and_then(|a| a["id"].as_str())
        .expect("a moderator assignment")
        .to_string();
    child
        .admin(Method::DELETE, &format!("/assignments/{granted}"), None)
        .await
        .assert_rule(409, "moderator-assignment-managed");
    child
        .admin(
            Method::PATCH,
            &format!("/assignments/{granted}"),
            Some(&json!({"role_id": child.system_role("project_operator").await})),
        )
        .await
        .assert_rule(409, "moderator-assignment-managed");
    child
        .admin(
            Method::POST,
            "/collaborator-groups",
            Some(&json!({"name": "QA", "members": [moderator]})),
        )
        .await
        .assert_rule(409, "moderator-not-in-collaborator-groups");

    // Only system and inheritable roles exist in a workspace.
    let own = app
        .admin(
            Method::POST,
            "/roles",
            Some(&json!({"name": "Local", "scope": "application", "privileges": []})),
        )
        .await
        .id();
    let other = app.create_user("other@example.com").await;
    app.admin(
        Method::POST,
        &format!("/workspaces/{}/moderators", child.id),
        Some(
            &json!({"user_id": other, "environment_role_id": parent.role("member"),
                     "project_role_id": own}),
        ),
    )
    .await
    .assert_rule(422, "moderator-role");
    // Another tenant's workspace is not this tenant's to moderate.
    let stranger = {
        let mut conn = app.pool.get().expect("connection");
        tenants::create(&mut conn, "stranger", "test")
            .expect("tenant")
            .id
    };
    app.admin(
        Method::POST,
        &format!("/workspaces/{stranger}/moderators"),
        Some(&body),
    )
    .await
    .assert_problem(404);

    // Nor take its access away: archiving and revoking an environment are the parent's.
    child
        .admin(Method::POST, &format!("/users/{moderator}/archive"), None)
        .await
        .assert_rule(409, "moderator-managed-by-parent");
    child
        .admin(
            Method::DELETE,
            &format!("/users/{moderator}/environments/{test}/access"),
            None,
        )
        .await
        .assert_rule(409, "moderator-managed-by-parent");

    // Ended: the grants go, and the account is an ordinary user (Everyone else applies).
    assert_eq!(
        app.admin(
            Method::DELETE,
            &format!("/workspaces/{}/moderators/{person}", child.id),
            None,
        )
        .await
        .status,
        204
    );
    let access = child.effective(&moderator).await;
    assert_eq!(application_roles(&access, &crm), set(&["Project operator"]));
    assert!(application_roles(&access, &lab).is_empty());
    child.assert_no_drift();
}

#[tokio::test]
async fn the_parent_lists_every_childs_users_with_totals_and_archives_a_person_everywhere() {
    let app = spawn_app().await;
    let a = Workspace::new(&app, "acme");
    let b = Workspace::new(&app, "globex");
    let a1 = a.user("ann@example.com").await;
    let a2 = a.user("bob@example.com").await;
    let b1 = b.user("cid@example.com").await;
    let b2 = b.user("dee@example.com").await;
    b.admin(Method::POST, &format!("/users/{b2}/archive"), None)
        .await;
    // Bob is a Builder (ToolJet's default group) in acme.
    let production = a.production().await;
    let builder = a.system_role("workspace_builder").await;
    let reply = a
        .admin(
            Method::PUT,
            &format!("/users/{a2}/environments/{production}/role"),
            Some(&json!({"role_id": builder})),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 201, "{}", reply.body);

    let list = app.admin(Method::GET, "/workspaces", None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let workspaces = list.body["workspaces"].as_array().expect("workspaces");
    assert_eq!(workspaces.len(), 2);
    assert_eq!(workspaces[0]["name"], "acme");
    assert_eq!(workspaces[0]["users"], 2);
    assert_eq!(workspaces[0]["builders"], 1);
    assert_eq!(
        workspaces[1]["users"], 1,
        "the archived user is not counted"
    );
    assert_eq!(list.body["total_users"], 3);
    assert_eq!(list.body["total_builders"], 1);

    // Paged across workspaces, pages of 1 to 4: every user once, in order, and the last
    // page says it is the last (no empty page after it).
    let expected: Vec<(String, String, bool)> = [
        ("acme", "ann@example.com", false),
        ("acme", "bob@example.com", true),
        ("globex", "cid@example.com", false),
        ("globex", "dee@example.com", false),
    ]
    .iter()
    .map(|(w, u, b)| (w.to_string(), u.to_string(), *b))
    .collect();
    for (count, pages_expected) in [(1, 4), (2, 2), (3, 2), (4, 1)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        for _ in 0..6 {
            let path = match &cursor {
                Some(c) => format!("/workspaces/users?count={count}&cursor={c}"),
                None => format!("/workspaces/users?count={count}"),
            };
            let page = app.admin(Method::GET, &path, None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(page.body["total_users"], 3);
            assert_eq!(page.body["total_builders"], 1);
            let users = page.body["users"].as_array().expect("users");
            assert!(users.len() <= count, "a page of {count}: {}", page.body);
            for u in users {
                seen.push((
                    u["workspace_name"].as_str().expect("name").to_string(),
                    u["user_name"].as_str().expect("userName").to_string(),
                    u["builder"] == true,
                ));
            }
            pages += 1;
            cursor = page.body["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "pages of {count}");
        assert_eq!(pages, pages_expected, "pages of {count}");
    }
    let found = app
        .admin(Method::GET, "/workspaces/users?search=CID", None)
        .await;
    assert_eq!(found.body["users"].as_array().map(Vec::len), Some(1));
    assert_eq!(found.body["users"][0]["id"], json!(b1));
    app.admin(Method::GET, "/workspaces/users?cursor=bogus", None)
        .await
        .assert_problem(400);
    // A workspace sees no workspaces of its own.
    let none = a.admin(Method::GET, "/workspaces", None).await;
    assert_eq!(none.body["workspaces"], json!([]));

    // Archiving Ann at the parent archives her in every workspace where she is.
    let ann_parent = app.create_user("ANN@example.com").await;
    let ann_b = b.user("ann@example.com").await;
    let reply = app
        .admin(Method::POST, &format!("/users/{ann_parent}/archive"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for (child, id) in [(&a, &a1), (&b, &ann_b)] {
        let user = child
            .admin(Method::GET, &format!("/users/{id}"), None)
            .await;
        assert_eq!(user.body["status"], "archived", "{}", user.body);
    }
    let bob = a.admin(Method::GET, &format!("/users/{a2}"), None).await;
    assert_eq!(bob.body["status"], "active");
    let list = app.admin(Method::GET, "/workspaces", None).await;
    assert_eq!(list.body["total_users"], 2);
    a.assert_no_drift();
    b.assert_no_drift();
}

/// Every admin route, called with one workspace's token on its sibling's resources,
/// answers no success and changes nothing of the sibling; lists show none of its ids.
#[tokio::test]
async fn siblings_are_isolated_on_every_admin_route_scim_and_the_check() {
    let app = spawn_app().await;
    let mine = Workspace::new(&app, "acme");
    let theirs = Workspace::new(&app, "globex");
    let production = theirs.production().await;
    let crm = theirs
        .create(
            "/applications",
            json!({"environment_id": production, "name": "CRM"}),
        )
        .await;
    let user = theirs.user("cid@example.com").await;
    let group = theirs
        .create(
            "/end-user-groups",
            json!({"environment_id": production, "name": "Sales", "members": [user]}),
        )
        .await;
    let team = theirs
        .create(
            "/collaborator-groups",
            json!({"name": "QA", "members": [user]}),
        )
        .await;
    let assignment = theirs
        .create(
            "/assignments",
            json!({"principal": {"type": "user", "id": user},
                   "role_id": theirs.system_role("builder").await, "application_id": crm}),
        )
        .await;
    let role = theirs
        .create(
            "/roles",
            json!({"name": "Local", "scope": "application", "privileges": []}),
        )
        .await;
    let id_for = |path: &str| -> String {
        let segment = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        match segment {
            "environments" => production.clone(),
            "applications" => crm.clone(),
            "users" => user.clone(),
            "end-user-groups" => group.clone(),
            "collaborator-groups" => team.clone(),
            "assignments" => assignment.clone(),
            "roles" => role.clone(),
            "workspaces" => theirs.id.to_string(),
            _ => user.clone(),
        }
    };
    let snapshot = || {
        let mut conn = app.pool.get().expect("connection");
        effective::maintained(&mut conn, theirs.id).expect("maintained")
    };
    let before = snapshot();
    let theirs_ids = [&production, &crm, &user, &group, &team, &assignment, &role];
    let mut checked = 0;
    for route in rolegate::http::admin_routes::all() {
        let id = id_for(route.path);
        let path: String = route
            .path
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    if s == "{environment_id}" {
                        production.clone()
                    } else if s == "{end_user_group_id}" {
                        group.clone()
                    } else {
                        id.clone()
                    }
                } else {
                    s.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(route.method.to_uppercase().as_bytes()).expect("method");
        let body = json!({"name": "pwned", "role_id": role, "user_id": user,
                          "environment_id": production, "members": [user], "users": [user]});
        let reply = mine
            .admin(
                method.clone(),
                &path,
                (method != Method::GET && method != Method::DELETE).then_some(&body),
            )
            .await;
        let what = format!("{} {path}: {} {}", route.method, reply.status, reply.body);
        if route.path.contains('{') {
            assert!(!(200..300).contains(&reply.status), "{what}");
        } else if method == Method::GET && reply.status == 200 {
            let text = reply.body.to_string();
            for id in theirs_ids {
                assert!(!text.contains(id.as_str()), "{what} shows a sibling's id");
            }
        }
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
    assert_eq!(snapshot(), before, "the sibling's effective roles changed");
    let reply = theirs
        .admin(Method::GET, &format!("/users/{user}"), None)
        .await;
    assert_eq!(reply.body["status"], "active");
    assert_eq!(
        theirs.role_named("Local").await.map(|r| r["name"].clone()),
        Some(json!("Local"))
    );
    // SCIM and the permission check: the sibling's user does not exist here.
    let scim = mine.scim_token();
    app.request_as(Some(&scim), Method::GET, &format!("/Users/{user}"), None)
        .await
        .assert_error(404, None);
    let found = app
        .request_as(
            Some(&scim),
            Method::GET,
            "/Users?filter=userName%20eq%20%22cid@example.com%22",
            None,
        )
        .await;
    assert_eq!(found.body["totalResults"], 0);
    let check_token = {
        let mut conn = app.pool.get().expect("connection");
        tokens::create(
            &mut conn,
            mine.id,
            "crm",
            TokenHolder::Application,
            None,
            "test",
        )
        .expect("token")
        .secret
    };
    let reply = Reply::from(
        app.client
            .get(format!(
                "{}/api/v1/check?user_id={user}&privilege=application.content.view&application_id={crm}",
                app.address
            ))
            .bearer_auth(&check_token)
            .send()
            .await
            .expect("answered"),
    )
    .await;
    assert!(
        reply.status != 200 || reply.body["allowed"] == false,
        "{} {}",
        reply.status,
        reply.body
    );
}

#[tokio::test]
async fn workspaces_are_one_level_deep_under_an_existing_parent() {
    let app = spawn_app().await;
    let child = Workspace::new(&app, "acme");
    let mut conn = app.pool.get().expect("connection");
    let nested = tenants::create_managed(&mut conn, "nested", child.id, "test");
    assert!(
        matches!(nested, Err(tenants::ParentError::Nested(id)) if id == child.id),
        "{nested:?}"
    );
    let unknown = Uuid::new_v4();
    let orphan = tenants::create_managed(&mut conn, "orphan", unknown, "test");
    assert!(
        matches!(orphan, Err(tenants::ParentError::NotFound(id)) if id == unknown),
        "{orphan:?}"
    );
    let names: Vec<String> = rolegate::db::tenants::children(&mut conn, app.tenant_id)
        .expect("children")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["acme"]);
}

#[tokio::test]
async fn a_role_moderators_hold_stays_and_a_deleted_or_archived_person_moderates_nothing() {
    let app = spawn_app().await;
    let parent = Model::load(&app).await;
    let reply = app
        .admin(
            Method::POST,
            "/roles",
            Some(
                &json!({"name": "Reviewer", "scope": "application", "inheritable": true,
                         "privileges": ["application.content.view"]}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reviewer = reply.id();
    let child = Workspace::new(&app, "acme");
    let production = child.production().await;
    let crm = child
        .create(
            "/applications",
            json!({"environment_id": production, "name": "CRM"}),
        )
        .await;
    let moderate = |person: &str, project_role: &str| {
        json!({"user_id": person, "environment_role_id": parent.role("environment_manager"),
               "project_role_id": project_role})
    };
    let ann = app.create_user("ann@example.com").await;
    let reply = app
        .admin(
            Method::POST,
            &format!("/workspaces/{}/moderators", child.id),
            Some(&moderate(&ann, &reviewer)),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let ann_there = reply.body["user_id"].as_str().expect("id").to_string();
    assert_eq!(
        application_roles(&child.effective(&ann_there).await, &crm),
        set(&["Reviewer"])
    );
    // The inherited role a moderator holds is not withdrawn from under it.
    app.admin(
        Method::PATCH,
        &format!("/roles/{reviewer}"),
        Some(&json!({"inheritable": false})),
    )
    .await
    .assert_rule(409, "role-held-by-moderators");
    assert!(child.role_named("Reviewer").await.is_some());
    // A role of the workspace's own with the same name blocks the parent's, by name.
    child
        .create(
            "/roles",
            json!({"name": "Operator", "scope": "application", "privileges": []}),
        )
        .await;
    app.admin(
        Method::POST,
        "/roles",
        Some(
            &json!({"name": "operator", "scope": "application", "inheritable": true,
                     "privileges": []}),
        ),
    )
    .await
    .assert_rule(409, "inherited-role-name-taken");

    // A moderator whose project role is Project admin creates a project: the creator's
    // assignment is the moderator's one, not a second one.
    let bob = app.create_user("bob@example.com").await;
    let reply = app
        .admin(
            Method::POST,
            &format!("/workspaces/{}/moderators", child.id),
            Some(&moderate(&bob, &parent.role("project_admin"))),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let bob_there = reply.body["user_id"].as_str().expect("id").to_string();
    let bob_token = {
        let mut conn = app.pool.get().expect("connection");
        let user = Uuid::parse_str(&bob_there).expect("id");
        tokens::create(
            &mut conn,
            child.id,
            "bob",
            TokenHolder::User(user),
            None,
            "test",
        )
        .expect("token")
        .secret
    };
    let reply = app
        .admin_as(
            Some(&bob_token),
            Method::POST,
            "/applications",
            Some(&json!({"environment_id": production, "name": "Bob's"})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let bobs = reply.id();
    let held = child
        .admin(
            Method::GET,
            &format!("/assignments?application_id={bobs}&user_id={bob_there}"),
            None,
        )
        .await;
    let held = held.body["assignments"]
        .as_array()
        .expect("assignments")
        .clone();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["moderator"], true);
    child.assert_no_drift();

    // An End-user who may build becomes a Builder (ToolJet); a moderator keeps the
    // environment role the parent gave it.
    let cid = app.create_user("cid@example.com").await;
    let reply = app
        .admin(
            Method::POST,
            &format!("/workspaces/{}/moderators", child.id),
            Some(
                &json!({"user_id": cid, "environment_role_id": parent.role("workspace_end_user"),
                         "project_role_id": parent.role("builder")}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let cid_there = reply.body["user_id"].as_str().expect("id").to_string();
    let access = child.effective(&cid_there).await;
    assert_eq!(environment_roles(&access, &production), vec!["End-user"]);
    assert_eq!(application_roles(&access, &crm), set(&["Builder"]));
    child.assert_no_drift();

    // Renamed in the workspace, Ann's moderator account is still archived with her.
    let scim = child.scim_token();
    let renamed = app
        .request_as(
            Some(&scim),
            Method::PATCH,
            &format!("/Users/{ann_there}"),
            Some(&crate::helpers::patch_ops(
                json!([{"op": "replace", "path": "userName", "value": "ann.renamed@example.com"}]),
            )),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let reply = app
        .admin(Method::POST, &format!("/users/{ann}/archive"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let there = child
        .admin(Method::GET, &format!("/users/{ann_there}"), None)
        .await;
    assert_eq!(there.body["status"], "archived", "{}", there.body);
    assert!(application_roles(&child.effective(&ann_there).await, &crm).is_empty());

    // Deleted at the parent (SCIM), Bob moderates nothing: his grants there go.
    let deleted = app.delete(&format!("/Users/{bob}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let listed = app
        .admin(
            Method::GET,
            &format!("/workspaces/{}/moderators", child.id),
            None,
        )
        .await;
    assert_eq!(
        listed.body["moderators"].as_array().map(|m| m
            .iter()
            .filter(|x| x["parent_user_id"] == json!(bob))
            .count()),
        Some(0)
    );
    let access = child.effective(&bob_there).await;
    assert!(environment_roles(&access, &production).is_empty());
    child.assert_no_drift();
}

#[tokio::test]
async fn a_parents_change_never_leaves_a_workspace_without_an_admin() {
    let app = spawn_app().await;
    let child = Workspace::new(&app, "acme");
    let production = child.production().await;
    let admin_role = child.system_role("environment_admin").await;
    let boss = child.user("boss@example.com").await;
    let clerk = child.user("clerk@example.com").await;
    for user in [&boss, &clerk] {
        let role = if user == &boss {
            admin_role.clone()
        } else {
            child.system_role("member").await
        };
        let reply = child
            .admin(
                Method::PUT,
                &format!("/users/{user}/environments/{production}/role"),
                Some(&json!({"role_id": role})),
            )
            .await;
        assert!(reply.status == 200 || reply.status == 201, "{}", reply.body);
    }
    // Archiving the clerk at the parent is fine: the workspace keeps its admin.
    let clerk_parent = app.create_user("clerk@example.com").await;
    let reply = app
        .admin(
            Method::POST,
            &format!("/users/{clerk_parent}/archive"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let there = child
        .admin(Method::GET, &format!("/users/{clerk}"), None)
        .await;
    assert_eq!(there.body["status"], "archived");
    // Archiving the boss would leave it with none: refused, and nothing changes anywhere.
    let boss_parent = app.create_user("boss@example.com").await;
    app.admin(Method::POST, &format!("/users/{boss_parent}/archive"), None)
        .await
        .assert_rule(409, "last-admin");
    let there = child
        .admin(Method::GET, &format!("/users/{boss}"), None)
        .await;
    assert_eq!(there.body["status"], "active");
    let here = app
        .admin(Method::GET, &format!("/users/{boss_parent}"), None)
        .await;
    assert_eq!(here.body["status"], "active");
    child.assert_no_drift();
}

#[tokio::test]
async fn a_moderator_is_an_active_person_and_takes_over_an_active_account_only() {
    let app = spawn_app().await;
    let parent = Model::load(&app).await;
    let child = Workspace::new(&app, "acme");
    let production = child.production().await;
    let body = |person: &str| {
        json!({"user_id": person, "environment_role_id": parent.role("environment_manager"),
               "project_role_id": parent.role("builder")})
    };
    let path = format!("/workspaces/{}/moderators", child.id);
    // An archived person of the parent moderates nothing.
    let gone = app.create_user("gone@example.com").await;
    app.admin(Method::POST, &format!("/users/{gone}/archive"), None)
        .await;
    app.admin(Method::POST, &path, Some(&body(&gone)))
        .await
        .assert_rule(422, "moderator-not-active");
    // The workspace's active account with the person's userName becomes the moderator's,
    // its own environment role replaced.
    let eve_there = child.user("eve@example.com").await;
    let reply = child
        .admin(
            Method::PUT,
            &format!("/users/{eve_there}/environments/{production}/role"),
            Some(&json!({"role_id": child.system_role("member").await})),
        )
        .await;
    assert!(reply.status == 200 || reply.status == 201, "{}", reply.body);
    let eve = app.create_user("eve@example.com").await;
    let reply = app.admin(Method::POST, &path, Some(&body(&eve))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["user_id"], json!(eve_there));
    assert_eq!(
        environment_roles(&child.effective(&eve_there).await, &production),
        vec!["Environment manager"]
    );
    // An archived account there is not taken over.
    let old_there = child.user("old@example.com").await;
    child
        .admin(Method::POST, &format!("/users/{old_there}/archive"), None)
        .await;
    let old = app.create_user("old@example.com").await;
    app.admin(Method::POST, &path, Some(&body(&old)))
        .await
        .assert_rule(409, "moderator-account-not-active");
    child.assert_no_drift();
}
