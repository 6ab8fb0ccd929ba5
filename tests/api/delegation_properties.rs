//! Property: over random sequences of admin actions by random principals — while other
//! actions change those principals' own roles, a custom role's privileges and their status —
//! no principal ever performs an action whose privilege it lacks at that moment. The oracle
//! is each principal's effective access as the owner reads it (a different code path from
//! the check the server makes), read again before every step.

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{application, assign, create, environment, set_environment_role, Model};
use crate::delegation::{send, Body};
use crate::helpers::{spawn_app, TestApp};

const COLLABORATORS: &str = "workspace_access.collaborators.full_access";
const COLLABORATOR_ROLES: &str = "workspace_access.collaborator_roles.full_access";
const CREATE_PROJECTS: &str = "project_management.manage_projects.create";
const ACCESS_CONTROL: &str = "project_management.manage_projects.access_control";
const MANAGE_PROJECTS: &str = "project_management.manage_projects.full_access";
const USERS_AND_GROUPS: &str = "apps_portal.users_and_groups.full_access";
const APP_ACCESS: &str = "application.access.manage";
const APP_DELETE: &str = "application.application.delete";

/// Privileges the custom environment role "Delegate" may gain and lose during a run.
const DELEGABLE: [&str; 6] = [
    COLLABORATORS,
    COLLABORATOR_ROLES,
    CREATE_PROJECTS,
    ACCESS_CONTROL,
    MANAGE_PROJECTS,
    USERS_AND_GROUPS,
];

#[derive(Debug, Clone)]
enum Op {
    SetEnvironmentRole {
        user: usize,
        env: usize,
        role: usize,
    },
    CreateProject {
        env: usize,
    },
    AssignProjectRole {
        user: usize,
        app: usize,
        role: usize,
    },
    DeleteProject {
        app: usize,
    },
    CreateGroup {
        env: usize,
    },
    ToggleDelegatePrivilege {
        privilege: usize,
    },
    Archive {
        user: usize,
    },
    Unarchive {
        user: usize,
    },
}

#[derive(Debug, Clone)]
struct Step {
    /// 0 is the owner; 1.. the users.
    actor: usize,
    op: Op,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize, 0..2usize, 0..5usize)
            .prop_map(|(user, env, role)| Op::SetEnvironmentRole { user, env, role }),
        2 => (0..2usize).prop_map(|env| Op::CreateProject { env }),
        3 => (0..4usize, 0..8usize, 0..3usize)
            .prop_map(|(user, app, role)| Op::AssignProjectRole { user, app, role }),
        1 => (0..8usize).prop_map(|app| Op::DeleteProject { app }),
        2 => (0..2usize).prop_map(|env| Op::CreateGroup { env }),
        3 => (0..DELEGABLE.len()).prop_map(|privilege| Op::ToggleDelegatePrivilege { privilege }),
        1 => (0..4usize).prop_map(|user| Op::Archive { user }),
        1 => (0..4usize).prop_map(|user| Op::Unarchive { user }),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (0..5usize, op()).prop_map(|(actor, op)| Step { actor, op }),
        1..40,
    )
}

struct World {
    app: TestApp,
    model: Model,
    envs: Vec<String>,
    users: Vec<String>,
    tokens: Vec<String>,
    delegate: String,
    delegate_privileges: Vec<&'static str>,
    names: usize,
}

impl World {
    async fn new() -> World {
        let app = spawn_app().await;
        let model = Model::load(&app).await;
        let prod = environment(&app, "Staging").await;
        let envs = vec![model.production.clone(), prod];
        let mut users = Vec::new();
        let mut tokens = Vec::new();
        for n in 0..4 {
            let user = app.create_user(&format!("user{n}")).await;
            tokens.push(app.admin_token_for(&user));
            users.push(user);
        }
        set_environment_role(&app, &users[0], &envs[0], &model.role("environment_admin")).await;
        set_environment_role(
            &app,
            &users[1],
            &envs[1],
            &model.role("environment_manager"),
        )
        .await;
        set_environment_role(&app, &users[2], &envs[0], &model.role("member")).await;
        let delegate = create(
            &app,
            "/roles",
            json!({"name": "Delegate", "scope": "environment", "privileges": []}),
        )
        .await;
        for env in &envs {
            let project = application(&app, env, &format!("Seed {env}")).await;
            assign(
                &app,
                json!({"type": "user", "id": users[3]}),
                &model.role("project_admin"),
                json!({"application_id": project}),
            )
            .await;
        }
        // Project admin of the Staging project but No access in Staging: refused there.
        set_environment_role(
            &app,
            &users[3],
            &envs[1],
            &model.role("environment_no_access"),
        )
        .await;
        World {
            app,
            model,
            envs,
            users,
            tokens,
            delegate,
            delegate_privileges: Vec::new(),
            names: 0,
        }
    }

    fn token(&self, actor: usize) -> String {
        match actor {
            0 => self.app.admin_token.clone(),
            n => self.tokens[n - 1].clone(),
        }
    }

    async fn apps(&self) -> Vec<(String, String)> {
        let reply = self.app.admin(Method::GET, "/applications", None).await;
        reply.body["applications"]
            .as_array()
            .expect("applications")
            .iter()
            .map(|a| {
                (
                    a["id"].as_str().expect("id").to_string(),
                    a["environment_id"].as_str().expect("env").to_string(),
                )
            })
            .collect()
    }

    async fn access(&self, user: &str) -> Value {
        let reply = self
            .app
            .admin(Method::GET, &format!("/users/{user}/effective-roles"), None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    fn fresh_name(&mut self, what: &str) -> String {
        self.names += 1;
        format!("{what} {}", self.names)
    }
}

fn has(list: &Value, wanted: &[&str]) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|p| wanted.iter().any(|w| p == *w)))
}

/// Whether the effective access holds one of `env_privileges` in the environment, or one
/// of `app_privileges` on the application; *No access* there holds nothing.
fn holds(
    access: &Value,
    env: &str,
    env_privileges: &[&str],
    app: Option<&str>,
    app_privileges: &[&str],
) -> bool {
    let Some(e) = access["environments"]
        .as_array()
        .and_then(|envs| envs.iter().find(|e| e["environment"]["id"] == env))
    else {
        return false;
    };
    let no_access = e["roles"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r["role"]["name"] == "No access"));
    if no_access {
        return false;
    }
    if has(&e["privileges"], env_privileges) {
        return true;
    }
    app.is_some_and(|app| {
        e["applications"].as_array().is_some_and(|apps| {
            apps.iter()
                .any(|a| a["application"]["id"] == app && has(&a["privileges"], app_privileges))
        })
    })
}

/// What happened over a run, so that a run that never allowed or never refused anything
/// (a blind generator) fails.
#[derive(Default, Debug)]
struct Tally {
    allowed: usize,
    refused: usize,
    by_principal: usize,
}

async fn run(steps: Vec<Step>, tally: &mut Tally) {
    let mut w = World::new().await;
    let first = w.envs[0].clone();
    for step in steps {
        let apps = w.apps().await;
        let actor_user = (step.actor > 0).then(|| w.users[step.actor - 1].clone());
        let access = match &actor_user {
            Some(u) => Some(w.access(u).await),
            None => None,
        };
        let archived = access
            .as_ref()
            .is_some_and(|a| a["user"]["status"] == "archived");
        let may = |env: &str, env_p: &[&str], app: Option<&str>, app_p: &[&str]| match &access {
            None => true,
            Some(a) => holds(a, env, env_p, app, app_p),
        };
        let env_roles = [
            w.model.role("environment_admin"),
            w.model.role("environment_manager"),
            w.model.role("member"),
            w.model.role("environment_no_access"),
            w.delegate.clone(),
        ];
        let project_roles = [
            w.model.role("project_admin"),
            w.model.role("builder"),
            w.model.role("project_operator"),
        ];
        let (method, path, body, expected) = match &step.op {
            Op::SetEnvironmentRole { user, env, role } => (
                Method::PUT,
                format!(
                    "/users/{}/environments/{}/role?confirm_self_lockout=true",
                    w.users[*user], w.envs[*env]
                ),
                Body::Json(json!({"role_id": env_roles[*role]})),
                may(&first, &[COLLABORATORS], None, &[]),
            ),
            Op::CreateProject { env } => {
                let name = w.fresh_name("Project");
                (
                    Method::POST,
                    "/applications".into(),
                    Body::Json(json!({"environment_id": w.envs[*env], "name": name})),
                    may(&w.envs[*env], &[CREATE_PROJECTS], None, &[]),
                )
            }
            Op::AssignProjectRole { user, app, role } => {
                let Some((app, env)) = apps.get(app % apps.len().max(1)).cloned() else {
                    continue;
                };
                (
                    Method::POST,
                    "/assignments?confirm_self_lockout=true".into(),
                    Body::Json(json!({"principal": {"type": "user", "id": w.users[*user]},
                                      "role_id": project_roles[*role], "application_id": app})),
                    may(&env, &[ACCESS_CONTROL], Some(&app), &[APP_ACCESS]),
                )
            }
            Op::DeleteProject { app } => {
                let Some((app, env)) = apps.get(app % apps.len().max(1)).cloned() else {
                    continue;
                };
                (
                    Method::DELETE,
                    format!("/applications/{app}?confirm_self_lockout=true"),
                    Body::None,
                    may(&env, &[MANAGE_PROJECTS], Some(&app), &[APP_DELETE]),
                )
            }
            Op::CreateGroup { env } => {
                let name = w.fresh_name("Group");
                (
                    Method::POST,
                    "/end-user-groups".into(),
                    Body::Json(json!({"environment_id": w.envs[*env], "name": name})),
                    may(&w.envs[*env], &[USERS_AND_GROUPS], None, &[]),
                )
            }
            Op::ToggleDelegatePrivilege { privilege } => {
                let mut next = w.delegate_privileges.clone();
                let p = DELEGABLE[*privilege];
                if let Some(i) = next.iter().position(|x| *x == p) {
                    next.remove(i);
                } else {
                    next.push(p);
                }
                (
                    Method::PATCH,
                    format!("/roles/{}?confirm_self_lockout=true", w.delegate),
                    Body::Json(json!({"privileges": next})),
                    may(&first, &[COLLABORATOR_ROLES], None, &[]),
                )
            }
            Op::Archive { user } => (
                Method::POST,
                format!(
                    "/users/{}/archive?confirm_self_lockout=true",
                    w.users[*user]
                ),
                Body::None,
                may(&first, &[COLLABORATORS], None, &[]),
            ),
            Op::Unarchive { user } => (
                Method::POST,
                format!("/users/{}/unarchive", w.users[*user]),
                Body::None,
                may(&first, &[COLLABORATORS], None, &[]),
            ),
        };
        let before = crate::delegation::tenant_rows(&w.app);
        let reply = send(&w.app, Some(&w.token(step.actor)), method, &path, &body).await;
        let what = format!("{step:?}: {} {}", reply.status, reply.body);
        if archived {
            assert_eq!(reply.status, 401, "an archived user's token acted: {what}");
            assert_eq!(crate::delegation::tenant_rows(&w.app), before, "{what}");
            continue;
        }
        if expected {
            assert!(
                reply.status < 500 && reply.status != 401 && reply.status != 403,
                "refused although allowed: {what}"
            );
            if (200..300).contains(&reply.status) {
                tally.allowed += 1;
                if step.actor > 0 {
                    tally.by_principal += 1;
                }
                if let Op::ToggleDelegatePrivilege { privilege } = step.op {
                    let p = DELEGABLE[privilege];
                    if let Some(i) = w.delegate_privileges.iter().position(|x| *x == p) {
                        w.delegate_privileges.remove(i);
                    } else {
                        w.delegate_privileges.push(p);
                    }
                }
            }
        } else {
            assert_eq!(reply.status, 403, "allowed although lacking: {what}");
            assert_eq!(
                reply.body["type"],
                "https://rolegate.dev/problems/insufficient-privilege"
            );
            assert_eq!(
                crate::delegation::tenant_rows(&w.app),
                before,
                "a refused action changed something: {what}"
            );
            tally.refused += 1;
        }
    }
}

#[test]
fn no_principal_ever_acts_beyond_its_privileges_at_that_moment() {
    let cases = std::env::var("DELEGATION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let tally = std::sync::Mutex::new(Tally::default());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    });
    let result = runner.run(&steps(), |steps| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let mut local = Tally::default();
        runtime.block_on(run(steps, &mut local));
        let mut total = tally.lock().expect("tally");
        total.allowed += local.allowed;
        total.refused += local.refused;
        total.by_principal += local.by_principal;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let total = tally.lock().expect("tally");
    // The generator must reach both outcomes, and principals other than the owner must
    // actually get things done.
    assert!(total.allowed > 0 && total.refused > 0, "{total:?}");
    assert!(total.by_principal > 0, "{total:?}");
}
