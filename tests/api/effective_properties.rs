//! The property behind effective roles: after any interleaving of SCIM and admin operations
//! over several tenants, the maintained table equals the from-scratch recomputation, and an
//! operation on one tenant never changes another's effective roles.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use rolegate::access::effective::{self, PathRow};
use rolegate::access::{
    self, applications, assignments, collaborator_groups, end_user_groups, group_mappings, roles,
    users as admin_users, AdminContext, MutationOptions,
};
use rolegate::db::assignments::Principal;
use rolegate::db::{build_pool, PgPool};
use rolegate::provisioning::{groups, tenants, users, Actor, ScimContext};

use crate::helpers::fresh_database;

const TENANTS: usize = 3;

/// One step; numbers pick among the tenant's existing things (modulo how many there are).
#[derive(Debug, Clone)]
enum Op {
    CreateUser,
    SetActive(usize, bool),
    DeleteUser(usize),
    CreateGroup(Vec<usize>),
    AddMember(usize, usize),
    RemoveMember(usize, usize),
    ReplaceMembers(usize, Vec<usize>),
    RemoveAllMembers(usize),
    DeleteGroup(usize),
    CreateEndUserGroup(usize, Vec<usize>),
    EndUserGroupAdd(usize, usize),
    EndUserGroupRemove(usize, usize),
    EndUserGroupDelete(usize),
    EndUserGroupDuplicate(usize),
    Map(usize, usize),
    Unmap(usize),
    CreateCollaboratorGroup(Vec<usize>),
    CollaboratorAdd(usize, usize),
    CollaboratorRemove(usize, usize),
    CollaboratorGroupDelete(usize),
    CreateApplication(usize),
    DeleteApplication(usize),
    /// principal kind 0 user, 1 end-user group, 2 collaborator group, 3 everyone else,
    /// 4 environment role of a user.
    Assign(u8, usize, usize, usize),
    ChangeRole(usize, usize),
    Unassign(usize),
    RevokeEnvironment(usize, usize),
    RestoreEnvironment(usize, usize),
    Archive(usize),
    Unarchive(usize),
    CreateCustomRole(bool),
    EditCustomRole(usize),
    DeleteCustomRole(usize),
    /// An admin of one tenant naming another tenant's user: must change nothing.
    CrossTenantAssign(usize, usize),
    /// An OIDC login of subject `s<n>` whose groups claim holds these values (`c<n>`).
    Login(usize, Vec<usize>),
}

fn some_ids() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..64, 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    let n = || 0usize..64;
    prop_oneof![
        4 => Just(Op::CreateUser),
        1 => (n(), any::<bool>()).prop_map(|(u, a)| Op::SetActive(u, a)),
        1 => n().prop_map(Op::DeleteUser),
        2 => some_ids().prop_map(Op::CreateGroup),
        4 => (n(), n()).prop_map(|(g, u)| Op::AddMember(g, u)),
        2 => (n(), n()).prop_map(|(g, u)| Op::RemoveMember(g, u)),
        1 => (n(), some_ids()).prop_map(|(g, m)| Op::ReplaceMembers(g, m)),
        1 => n().prop_map(Op::RemoveAllMembers),
        1 => n().prop_map(Op::DeleteGroup),
        2 => (n(), some_ids()).prop_map(|(e, m)| Op::CreateEndUserGroup(e, m)),
        2 => (n(), n()).prop_map(|(g, u)| Op::EndUserGroupAdd(g, u)),
        1 => (n(), n()).prop_map(|(g, u)| Op::EndUserGroupRemove(g, u)),
        1 => n().prop_map(Op::EndUserGroupDelete),
        1 => n().prop_map(Op::EndUserGroupDuplicate),
        3 => (n(), n()).prop_map(|(g, e)| Op::Map(g, e)),
        1 => n().prop_map(Op::Unmap),
        1 => some_ids().prop_map(Op::CreateCollaboratorGroup),
        2 => (n(), n()).prop_map(|(g, u)| Op::CollaboratorAdd(g, u)),
        1 => (n(), n()).prop_map(|(g, u)| Op::CollaboratorRemove(g, u)),
        1 => n().prop_map(Op::CollaboratorGroupDelete),
        2 => n().prop_map(Op::CreateApplication),
        1 => n().prop_map(Op::DeleteApplication),
        6 => (0u8..5, n(), n(), n()).prop_map(|(k, w, r, t)| Op::Assign(k, w, r, t)),
        2 => (n(), n()).prop_map(|(a, r)| Op::ChangeRole(a, r)),
        2 => n().prop_map(Op::Unassign),
        1 => (n(), n()).prop_map(|(u, e)| Op::RevokeEnvironment(u, e)),
        1 => (n(), n()).prop_map(|(u, e)| Op::RestoreEnvironment(u, e)),
        1 => n().prop_map(Op::Archive),
        1 => n().prop_map(Op::Unarchive),
        1 => any::<bool>().prop_map(Op::CreateCustomRole),
        1 => n().prop_map(Op::EditCustomRole),
        1 => n().prop_map(Op::DeleteCustomRole),
        1 => (n(), n()).prop_map(|(u, a)| Op::CrossTenantAssign(u, a)),
        3 => (0usize..8, prop::collection::vec(0usize..6, 0..4)).prop_map(|(s, g)| Op::Login(s, g)),
    ]
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The tenant's ids of a kind, in a stable order.
fn ids(conn: &mut PgConnection, tenant: Uuid, sql: &str) -> Vec<Uuid> {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant)
        .load::<Id>(conn)
        .expect("ids")
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn pick(list: &[Uuid], n: usize) -> Option<Uuid> {
    (!list.is_empty()).then(|| list[n % list.len()])
}

struct World {
    pool: PgPool,
    tenants: Vec<Uuid>,
}

impl World {
    fn new() -> World {
        let pool = build_pool(&fresh_database(), 2, Duration::from_secs(10)).expect("pool");
        let mut conn = pool.get().expect("connection");
        let mut ids = Vec::new();
        for i in 0..TENANTS {
            let tenant = tenants::create(&mut conn, &format!("t{i}"), "test").expect("tenant");
            let ctx = admin(tenant.id);
            rolegate::access::environments::create(
                &mut conn,
                &ctx,
                &rolegate::access::environments::EnvironmentInput {
                    name: Some("Development".into()),
                    position: None,
                },
            )
            .expect("environment");
            rolegate::oidc::providers::create(
                &mut conn,
                &ctx,
                &rolegate::oidc::secrets::SecretBox::random(),
                serde_json::from_value(
                    json!({"name": "corp", "issuer": "https://idp.example.com", "client_id": "c"}),
                )
                .expect("provider input"),
            )
            .expect("provider");
            ids.push(tenant.id);
        }
        drop(conn);
        World { pool, tenants: ids }
    }
}

fn admin(tenant: Uuid) -> AdminContext {
    AdminContext::internal(tenant, "property-test")
}

fn scim(tenant: Uuid) -> ScimContext {
    ScimContext {
        actor: Actor::token(tenant, Uuid::nil()),
        base_url: "http://test/scim/v2".into(),
    }
}

fn members(list: &[Uuid], picks: &[usize]) -> Vec<Uuid> {
    picks.iter().filter_map(|n| pick(list, *n)).collect()
}

fn member_values(ids: &[Uuid]) -> serde_json::Value {
    json!(ids.iter().map(|u| json!({"value": u})).collect::<Vec<_>>())
}

/// Runs one operation; refusals (rule violations, missing things) are part of the game.
fn apply(conn: &mut PgConnection, tenant: Uuid, other: Uuid, op: &Op, counter: &mut usize) {
    let ctx = admin(tenant);
    let sc = scim(tenant);
    let users_ = ids(
        conn,
        tenant,
        "SELECT id FROM users WHERE tenant_id = $1 ORDER BY id",
    );
    let groups_ = ids(
        conn,
        tenant,
        "SELECT id FROM groups WHERE tenant_id = $1 ORDER BY id",
    );
    let eugs = ids(
        conn,
        tenant,
        "SELECT id FROM end_user_groups WHERE tenant_id = $1 ORDER BY id",
    );
    let collabs = ids(
        conn,
        tenant,
        "SELECT id FROM collaborator_groups WHERE tenant_id = $1 ORDER BY id",
    );
    let apps = ids(
        conn,
        tenant,
        "SELECT id FROM applications WHERE tenant_id = $1 ORDER BY id",
    );
    let envs = ids(
        conn,
        tenant,
        "SELECT id FROM environments WHERE tenant_id = $1 ORDER BY id",
    );
    let all_roles = ids(
        conn,
        tenant,
        "SELECT id FROM roles WHERE tenant_id = $1 ORDER BY id",
    );
    let custom_roles = ids(
        conn,
        tenant,
        "SELECT id FROM roles WHERE tenant_id = $1 AND system_key IS NULL ORDER BY id",
    );
    let assignments_ = ids(
        conn,
        tenant,
        "SELECT id FROM assignments WHERE tenant_id = $1 ORDER BY id",
    );
    let options = MutationOptions::default();
    let mutate = |conn: &mut PgConnection,
                  f: &mut dyn FnMut(
        &mut PgConnection,
        &mut effective::Pending,
    ) -> Result<(), rolegate::error::AdminError>| {
        let _ = access::mutate(conn, &ctx, options, "property", |c, p| f(c, p));
    };
    *counter += 1;
    let n = *counter;
    match op {
        Op::CreateUser => {
            let _ = users::create(conn, &sc, &json!({"userName": format!("u{n}")}));
        }
        Op::SetActive(u, active) => {
            if let Some(u) = pick(&users_, *u) {
                let _ = users::patch(
                    conn,
                    &sc,
                    &u.to_string(),
                    &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "active", "value": active}]}),
                    None,
                );
            }
        }
        Op::DeleteUser(u) => {
            if let Some(u) = pick(&users_, *u) {
                let _ = users::delete(conn, &sc, &u.to_string(), None);
            }
        }
        Op::CreateGroup(m) => {
            let _ = groups::create(
                conn,
                &sc,
                &json!({"displayName": format!("g{n}"),
                "members": member_values(&members(&users_, m))}),
            );
        }
        Op::AddMember(g, u) | Op::RemoveMember(g, u) => {
            if let (Some(g), Some(u)) = (pick(&groups_, *g), pick(&users_, *u)) {
                let verb = if matches!(op, Op::AddMember(..)) {
                    "add"
                } else {
                    "remove"
                };
                let operation = if verb == "add" {
                    json!({"op": "add", "path": "members", "value": [{"value": u}]})
                } else {
                    json!({"op": "remove", "path": format!("members[value eq \"{u}\"]")})
                };
                let _ = groups::patch(
                    conn,
                    &sc,
                    &g.to_string(),
                    &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [operation]}),
                    None,
                    false,
                );
            }
        }
        Op::ReplaceMembers(g, m) => {
            if let Some(g) = pick(&groups_, *g) {
                let _ = groups::replace(
                    conn,
                    &sc,
                    &g.to_string(),
                    &json!({"displayName": format!("g{n}"),
                    "members": member_values(&members(&users_, m))}),
                    None,
                );
            }
        }
        Op::RemoveAllMembers(g) => {
            if let Some(g) = pick(&groups_, *g) {
                let _ = groups::patch(
                    conn,
                    &sc,
                    &g.to_string(),
                    &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "remove", "path": "members"}]}),
                    None,
                    false,
                );
            }
        }
        Op::DeleteGroup(g) => {
            if let Some(g) = pick(&groups_, *g) {
                let _ = groups::delete(conn, &sc, &g.to_string(), None);
            }
        }
        Op::CreateEndUserGroup(e, m) => {
            if let Some(e) = pick(&envs, *e) {
                let input = end_user_groups::CreateInput {
                    environment_id: e,
                    name: format!("e{n}"),
                    description: String::new(),
                    members: members(&users_, m),
                };
                mutate(conn, &mut |c, _| {
                    end_user_groups::create(c, &ctx, &input).map(|_| ())
                });
            }
        }
        Op::EndUserGroupAdd(g, u) | Op::EndUserGroupRemove(g, u) => {
            if let (Some(g), Some(u)) = (pick(&eugs, *g), pick(&users_, *u)) {
                let input = end_user_groups::MembersInput { users: vec![u] };
                let add = matches!(op, Op::EndUserGroupAdd(..));
                mutate(conn, &mut |c, p| {
                    if add {
                        end_user_groups::add_members(c, &ctx, p, g, &input).map(|_| ())
                    } else {
                        end_user_groups::remove_members(c, &ctx, p, g, &input).map(|_| ())
                    }
                });
            }
        }
        Op::EndUserGroupDelete(g) => {
            if let Some(g) = pick(&eugs, *g) {
                mutate(conn, &mut |c, p| {
                    end_user_groups::delete(c, &ctx, p, g, true)
                });
            }
        }
        Op::EndUserGroupDuplicate(g) => {
            if let Some(g) = pick(&eugs, *g) {
                let input = end_user_groups::DuplicateInput {
                    name: format!("e{n}"),
                    members: n % 2 == 0,
                    roles: true,
                    mappings: n % 3 == 0,
                };
                mutate(conn, &mut |c, p| {
                    end_user_groups::duplicate(c, &ctx, p, g, &input).map(|_| ())
                });
            }
        }
        Op::Map(g, e) => {
            if let (Some(g), Some(e)) = (pick(&groups_, *g), pick(&eugs, *e)) {
                let input = group_mappings::MappingInput {
                    idp_group_id: g,
                    end_user_group_id: e,
                };
                mutate(conn, &mut |c, p| {
                    group_mappings::create(c, &ctx, p, &input).map(|_| ())
                });
            }
        }
        Op::Unmap(m) => {
            let all = group_mappings::list(conn, &ctx, &Default::default()).expect("mappings");
            if !all.is_empty() {
                let m = &all[m % all.len()];
                let input = group_mappings::MappingInput {
                    idp_group_id: m.idp_group_id,
                    end_user_group_id: m.end_user_group_id,
                };
                mutate(conn, &mut |c, p| group_mappings::delete(c, &ctx, p, &input));
            }
        }
        Op::CreateCollaboratorGroup(m) => {
            let input = collaborator_groups::CreateInput {
                name: format!("c{n}"),
                description: String::new(),
                members: members(&users_, m),
            };
            mutate(conn, &mut |c, _| {
                collaborator_groups::create(c, &ctx, &input).map(|_| ())
            });
        }
        Op::CollaboratorAdd(g, u) | Op::CollaboratorRemove(g, u) => {
            if let (Some(g), Some(u)) = (pick(&collabs, *g), pick(&users_, *u)) {
                let input = end_user_groups::MembersInput { users: vec![u] };
                let add = matches!(op, Op::CollaboratorAdd(..));
                mutate(conn, &mut |c, p| {
                    if add {
                        collaborator_groups::add_members(c, &ctx, p, g, &input).map(|_| ())
                    } else {
                        collaborator_groups::remove_members(c, &ctx, p, g, &input).map(|_| ())
                    }
                });
            }
        }
        Op::CollaboratorGroupDelete(g) => {
            if let Some(g) = pick(&collabs, *g) {
                mutate(conn, &mut |c, p| collaborator_groups::delete(c, &ctx, p, g));
            }
        }
        Op::CreateApplication(e) => {
            if let Some(e) = pick(&envs, *e) {
                let input = applications::CreateInput {
                    environment_id: e,
                    name: format!("a{n}"),
                    description: String::new(),
                };
                mutate(conn, &mut |c, p| {
                    applications::create(c, &ctx, p, &input).map(|_| ())
                });
            }
        }
        Op::DeleteApplication(a) => {
            if let Some(a) = pick(&apps, *a) {
                mutate(conn, &mut |c, p| applications::delete(c, &ctx, p, a));
            }
        }
        Op::Assign(kind, who, role, target) => {
            let role = pick(&all_roles, *role);
            let app = pick(&apps, *target);
            let principal = match kind {
                0 | 4 => pick(&users_, *who).map(Principal::User),
                1 => pick(&eugs, *who).map(Principal::EndUserGroup),
                2 => pick(&collabs, *who).map(Principal::CollaboratorGroup),
                _ => Some(Principal::EveryoneElse),
            };
            if let (Some(principal), Some(role_id)) = (principal, role) {
                let input = assignments::CreateInput {
                    principal,
                    role_id,
                    environment_id: (*kind == 4).then(|| pick(&envs, *target)).flatten(),
                    application_id: if *kind == 4 { None } else { app },
                };
                mutate(conn, &mut |c, p| {
                    assignments::create(c, &ctx, p, &input).map(|_| ())
                });
            }
        }
        Op::ChangeRole(a, r) => {
            if let (Some(a), Some(r)) = (pick(&assignments_, *a), pick(&all_roles, *r)) {
                let input = assignments::UpdateInput { role_id: r };
                mutate(conn, &mut |c, p| {
                    assignments::update(c, &ctx, p, a, &input).map(|_| ())
                });
            }
        }
        Op::Unassign(a) => {
            if let Some(a) = pick(&assignments_, *a) {
                mutate(conn, &mut |c, p| assignments::delete(c, &ctx, p, a));
            }
        }
        Op::RevokeEnvironment(u, e) | Op::RestoreEnvironment(u, e) => {
            if let (Some(u), Some(e)) = (pick(&users_, *u), pick(&envs, *e)) {
                let granted = matches!(op, Op::RestoreEnvironment(..));
                mutate(conn, &mut |c, p| {
                    admin_users::set_environment_access(c, &ctx, p, u, e, granted).map(|_| ())
                });
            }
        }
        Op::Archive(u) | Op::Unarchive(u) => {
            if let Some(u) = pick(&users_, *u) {
                let archive = matches!(op, Op::Archive(..));
                mutate(conn, &mut |c, p| {
                    if archive {
                        admin_users::archive(c, &ctx, p, u).map(|_| ())
                    } else {
                        admin_users::unarchive(c, &ctx, p, u).map(|_| ())
                    }
                });
            }
        }
        Op::CreateCustomRole(application) => {
            let input = roles::CreateInput {
                name: format!("r{n}"),
                scope: if *application {
                    roles::RoleScope::Application
                } else {
                    roles::RoleScope::Environment
                },
                description: String::new(),
                privileges: vec![if *application {
                    "application.content.view"
                } else {
                    "tools.logs.full_access"
                }
                .into()],
            };
            mutate(conn, &mut |c, p| {
                roles::create(c, &ctx, p, &input).map(|_| ())
            });
        }
        Op::EditCustomRole(r) => {
            if let Some(r) = pick(&custom_roles, *r) {
                let input = roles::UpdateInput {
                    name: Some(format!("r{n}")),
                    ..Default::default()
                };
                mutate(conn, &mut |c, p| {
                    roles::update(c, &ctx, p, r, &input).map(|_| ())
                });
            }
        }
        Op::DeleteCustomRole(r) => {
            if let Some(r) = pick(&custom_roles, *r) {
                mutate(conn, &mut |c, p| roles::delete(c, &ctx, p, r));
            }
        }
        Op::Login(subject, values) => {
            let provider =
                rolegate::db::oidc::find_provider_by_name(conn, tenant, "corp").expect("provider");
            let mut groups: Vec<String> = values.iter().map(|v| format!("c{v}")).collect();
            groups.sort();
            groups.dedup();
            let identity = rolegate::oidc::claims::MappedIdentity {
                subject: format!("s{subject}"),
                user_name: format!("login-s{subject}"),
                display_name: None,
                given_name: None,
                family_name: None,
                email: None,
                email_verified: false,
                external_id: None,
                groups: Some(groups),
            };
            let _ = rolegate::oidc::linking::sign_in(conn, &provider, &identity);
        }
        Op::CrossTenantAssign(u, a) => {
            let strangers = ids(
                conn,
                other,
                "SELECT id FROM users WHERE tenant_id = $1 ORDER BY id",
            );
            if let (Some(stranger), Some(app), Some(role_id)) = (
                pick(&strangers, *u),
                pick(&apps, *a),
                all_roles.first().copied(),
            ) {
                let input = assignments::CreateInput {
                    principal: Principal::User(stranger),
                    role_id,
                    environment_id: None,
                    application_id: Some(app),
                };
                let result = access::mutate(conn, &ctx, options, "property", |c, p| {
                    assignments::create(c, &ctx, p, &input)
                });
                assert!(result.is_err(), "another tenant's user was accepted");
            }
        }
    }
}

fn snapshot(conn: &mut PgConnection, tenant: Uuid) -> Vec<PathRow> {
    effective::maintained(conn, tenant).expect("maintained")
}

#[test]
fn maintained_effective_roles_equal_the_recomputation() {
    let cases: u32 = std::env::var("EFFECTIVE_ROLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = prop::collection::vec((0usize..TENANTS, op()), 400..600);
    let result = runner.run(&steps, |steps| {
        let world = World::new();
        let mut conn = world.pool.get().expect("connection");
        let mut counter = 0;
        let mut most_paths = 0;
        for (step, (t, op)) in steps.iter().enumerate() {
            let tenant = world.tenants[*t];
            let other = world.tenants[(*t + 1) % TENANTS];
            let others_before: Vec<Vec<PathRow>> = world
                .tenants
                .iter()
                .filter(|x| **x != tenant)
                .map(|x| snapshot(&mut conn, *x))
                .collect();
            apply(&mut conn, tenant, other, op, &mut counter);
            let maintained = snapshot(&mut conn, tenant);
            most_paths = most_paths.max(maintained.len());
            let expected = effective::expected(&mut conn, tenant).expect("expected");
            prop_assert_eq!(
                &maintained,
                &expected,
                "step {} ({:?}) left tenant {} out of date",
                step,
                op,
                t
            );
            let others_after: Vec<Vec<PathRow>> = world
                .tenants
                .iter()
                .filter(|x| **x != tenant)
                .map(|x| snapshot(&mut conn, *x))
                .collect();
            prop_assert_eq!(
                others_before,
                others_after,
                "step {} ({:?}) changed another tenant",
                step,
                op
            );
        }
        // The sequences must exercise the model, not an empty one.
        prop_assert!(most_paths > 0, "no effective role was ever granted");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
