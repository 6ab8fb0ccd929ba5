//! Every way the identity provider or an admin changes who is in a mapped IdP group, or
//! what it grants: each leaves exactly the effective roles expected, and the maintained
//! table equal to its recomputation. (A claim group changed by an OIDC login is covered by
//! `oidc::first_login_creates_the_user_and_claim_groups_carry_roles_until_they_are_lost`.)

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::access::{
    application, application_privileges, application_roles, assign, create, effective, Model,
};
use crate::helpers::{patch_ops, spawn_app, TestApp, GROUP_SCHEMA};

/// The maintained effective roles equal the from-scratch recomputation.
pub fn assert_no_drift(app: &TestApp) {
    let mut conn = app.pool.get().expect("connection");
    let drift = rolegate::access::effective::drift(&mut conn, app.tenant_id).expect("drift");
    assert_eq!(
        (drift.missing, drift.extra),
        (0, 0),
        "effective roles differ from the recomputation"
    );
}

/// Alice and Bob are in the IdP group `sales-team`, mapped into the end-user group Sales,
/// which holds Seller (a custom role) on CRM. Carol is in the IdP group too and also holds
/// Seller directly, so losing the mapping leaves her the role.
struct Mapped {
    app: TestApp,
    model: Model,
    crm: String,
    alice: String,
    bob: String,
    carol: String,
    idp_group: String,
    sales: String,
    seller: String,
    sales_assignment: String,
}

impl Mapped {
    async fn new() -> Mapped {
        let app = spawn_app().await;
        let model = Model::load(&app).await;
        let crm = application(&app, &model.production, "CRM").await;
        let alice = app.create_user("alice").await;
        let bob = app.create_user("bob").await;
        let carol = app.create_user("carol").await;
        let idp_group = app
            .create_group("sales-team", &[&alice, &bob, &carol])
            .await;
        let sales = create(
            &app,
            "/end-user-groups",
            json!({"environment_id": model.production, "name": "Sales"}),
        )
        .await;
        let reply = app
            .admin(
                Method::POST,
                "/group-mappings",
                Some(&json!({"idp_group_id": idp_group, "end_user_group_id": sales})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let seller = create(
            &app,
            "/roles",
            json!({"name": "Seller", "scope": "application",
                   "privileges": ["application.content.view"]}),
        )
        .await;
        let sales_assignment = assign(
            &app,
            json!({"type": "end_user_group", "id": sales}),
            &seller,
            json!({"application_id": crm}),
        )
        .await;
        assign(
            &app,
            json!({"type": "user", "id": carol}),
            &seller,
            json!({"application_id": crm}),
        )
        .await;
        let m = Mapped {
            app,
            model,
            crm,
            alice,
            bob,
            carol,
            idp_group,
            sales,
            seller,
            sales_assignment,
        };
        m.expect(&[("alice", true), ("bob", true), ("carol", true)])
            .await;
        m
    }

    fn user(&self, name: &str) -> &str {
        match name {
            "alice" => &self.alice,
            "bob" => &self.bob,
            _ => &self.carol,
        }
    }

    /// Asserts who holds Seller on CRM (and nothing else there), and no drift.
    async fn expect(&self, holders: &[(&str, bool)]) {
        for (name, holds) in holders {
            let roles = application_roles(&effective(&self.app, self.user(name)).await, &self.crm);
            let wanted: BTreeSet<String> = if *holds {
                ["Seller".to_string()].into()
            } else {
                BTreeSet::new()
            };
            assert_eq!(roles, wanted, "{name}");
        }
        assert_no_drift(&self.app);
    }

    async fn group_patch(&self, ops: Value) {
        let reply = self
            .app
            .patch(&format!("/Groups/{}", self.idp_group), &patch_ops(ops))
            .await;
        assert!(reply.status == 200 || reply.status == 204, "{}", reply.body);
    }

    async fn admin_ok(&self, method: Method, path: &str, body: Option<&Value>) {
        let reply = self.app.admin(method, path, body).await;
        assert!(
            (200..300).contains(&reply.status),
            "{path}: {} {}",
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn scim_patch_removing_every_member_revokes_what_the_mapping_gave() {
    let m = Mapped::new().await;
    m.group_patch(json!([{"op": "remove", "path": "members"}]))
        .await;
    m.expect(&[("alice", false), ("bob", false), ("carol", true)])
        .await;
}

#[tokio::test]
async fn scim_patch_removing_members_by_filter_revokes_only_theirs() {
    let m = Mapped::new().await;
    m.group_patch(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", m.alice)}]))
        .await;
    m.expect(&[("alice", false), ("bob", true), ("carol", true)])
        .await;
}

#[tokio::test]
async fn scim_put_with_a_new_member_list_revokes_and_grants() {
    let m = Mapped::new().await;
    let dave = m.app.create_user("dave").await;
    let reply = m
        .app
        .put(
            &format!("/Groups/{}", m.idp_group),
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "sales-team",
                    "members": [{"value": m.bob}, {"value": dave}]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    m.expect(&[("alice", false), ("bob", true), ("carol", true)])
        .await;
    let roles = application_roles(&effective(&m.app, &dave).await, &m.crm);
    assert_eq!(roles, ["Seller".to_string()].into());
}

#[tokio::test]
async fn scim_delete_of_the_group_revokes_what_it_carried() {
    let m = Mapped::new().await;
    assert_eq!(
        m.app
            .delete(&format!("/Groups/{}", m.idp_group))
            .await
            .status,
        204
    );
    m.expect(&[("alice", false), ("bob", false), ("carol", true)])
        .await;
}

#[tokio::test]
async fn scim_delete_of_a_member_leaves_the_others() {
    let m = Mapped::new().await;
    assert_eq!(
        m.app.delete(&format!("/Users/{}", m.alice)).await.status,
        204
    );
    m.expect(&[("bob", true), ("carol", true)]).await;
    let holders = m
        .app
        .admin(
            Method::GET,
            &format!("/effective-roles?role_id={}", m.seller),
            None,
        )
        .await;
    let ids: Vec<&str> = holders.body["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["id"].as_str().or(u["user"]["id"].as_str()))
        .collect();
    assert!(!ids.contains(&m.alice.as_str()), "{}", holders.body);
}

#[tokio::test]
async fn scim_deactivation_revokes_and_reactivation_restores() {
    let m = Mapped::new().await;
    let active =
        |value: bool| patch_ops(json!([{"op": "replace", "path": "active", "value": value}]));
    let user = format!("/Users/{}", m.alice);
    assert_eq!(m.app.patch(&user, &active(false)).await.status, 200);
    m.expect(&[("alice", false), ("bob", true), ("carol", true)])
        .await;
    assert_eq!(m.app.patch(&user, &active(true)).await.status, 200);
    m.expect(&[("alice", true), ("bob", true), ("carol", true)])
        .await;
}

#[tokio::test]
async fn deleting_the_mapping_revokes_only_what_it_granted() {
    let m = Mapped::new().await;
    m.admin_ok(
        Method::DELETE,
        &format!("/group-mappings/{}/{}", m.idp_group, m.sales),
        None,
    )
    .await;
    m.expect(&[("alice", false), ("bob", false), ("carol", true)])
        .await;
}

#[tokio::test]
async fn deleting_the_end_user_group_revokes_what_it_granted() {
    let m = Mapped::new().await;
    m.admin_ok(
        Method::DELETE,
        &format!("/end-user-groups/{}?force=true", m.sales),
        None,
    )
    .await;
    m.expect(&[("alice", false), ("bob", false), ("carol", true)])
        .await;
}

#[tokio::test]
async fn deleting_the_assignment_revokes_what_it_granted() {
    let m = Mapped::new().await;
    m.admin_ok(
        Method::DELETE,
        &format!("/assignments/{}", m.sales_assignment),
        None,
    )
    .await;
    m.expect(&[("alice", false), ("bob", false), ("carol", true)])
        .await;
}

#[tokio::test]
async fn editing_the_roles_privileges_changes_what_every_holder_may_do() {
    let m = Mapped::new().await;
    m.admin_ok(
        Method::PATCH,
        &format!("/roles/{}", m.seller),
        Some(&json!({"privileges": ["application.content.view", "application.content.build"]})),
    )
    .await;
    for user in [&m.alice, &m.bob, &m.carol] {
        assert_eq!(
            application_privileges(&effective(&m.app, user).await, &m.crm),
            [
                "application.content.build".to_string(),
                "application.content.view".to_string()
            ]
            .into()
        );
    }
    m.expect(&[("alice", true), ("bob", true), ("carol", true)])
        .await;
    // Changing the assignment to another role replaces Seller for the group's members.
    m.admin_ok(
        Method::PATCH,
        &format!("/assignments/{}", m.sales_assignment),
        Some(&json!({"role_id": m.model.role("project_operator")})),
    )
    .await;
    let roles = application_roles(&effective(&m.app, &m.alice).await, &m.crm);
    assert_eq!(roles, ["Project operator".to_string()].into());
    assert_no_drift(&m.app);
}

/// `(user name, application name or "", gained, lost)` of a preview's privilege changes,
/// sorted.
fn privilege_changes(preview: &Value) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut changes: Vec<_> = preview["privileges"]
        .as_array()
        .expect("privilege changes")
        .iter()
        .map(|c| {
            (
                c["user"]["name"].as_str().unwrap_or_default().to_string(),
                c["application"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                strings(&c["gained"]),
                strings(&c["lost"]),
            )
        })
        .collect();
    changes.sort();
    changes
}

#[tokio::test]
async fn a_dry_run_of_a_privilege_edit_names_every_holder_and_what_they_gain_and_lose() {
    let m = Mapped::new().await;
    // Bob may also view through a second role: he keeps that privilege whatever Seller does.
    let viewer = create(
        &m.app,
        "/roles",
        json!({"name": "Viewer", "scope": "application", "privileges": ["application.content.view"]}),
    )
    .await;
    assign(
        &m.app,
        json!({"type": "user", "id": m.bob}),
        &viewer,
        json!({"application_id": m.crm}),
    )
    .await;
    let audit_before = m.app.audit_trail().len();
    let (view, build) = ("application.content.view", "application.content.build");

    let preview = m
        .app
        .admin(
            Method::PATCH,
            &format!("/roles/{}?dry_run=true", m.seller),
            Some(&json!({"privileges": [build]})),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["dry_run"], true);
    assert_eq!(
        preview.body["gains"],
        json!([]),
        "nobody gains or loses a role"
    );
    assert_eq!(preview.body["losses"], json!([]));
    let s = |v: &str| v.to_string();
    assert_eq!(
        privilege_changes(&preview.body),
        vec![
            (s("alice"), s("CRM"), vec![s(build)], vec![s(view)]),
            (s("bob"), s("CRM"), vec![s(build)], vec![]),
            (s("carol"), s("CRM"), vec![s(build)], vec![s(view)]),
        ]
    );
    assert_eq!(preview.body["users_changing_privileges"], 3);
    assert_eq!(
        preview.body["privileges"][0]["environment"]["name"],
        "Production"
    );
    // Nothing changed.
    assert_eq!(
        application_privileges(&effective(&m.app, &m.alice).await, &m.crm),
        [s(view)].into()
    );
    assert_eq!(m.app.audit_trail().len(), audit_before);

    // Deleting the role: holders lose it and what only it gave them.
    let preview = m
        .app
        .admin(
            Method::DELETE,
            &format!("/roles/{}?dry_run=true", m.seller),
            None,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["users_losing"], 3);
    assert_eq!(
        privilege_changes(&preview.body),
        vec![
            (s("alice"), s("CRM"), vec![], vec![s(view)]),
            (s("carol"), s("CRM"), vec![], vec![s(view)]),
        ]
    );
    for (user, held) in [
        (&m.alice, vec!["Seller"]),
        (&m.bob, vec!["Seller", "Viewer"]),
    ] {
        let held: BTreeSet<String> = held.into_iter().map(String::from).collect();
        assert_eq!(
            application_roles(&effective(&m.app, user).await, &m.crm),
            held
        );
    }
    assert_no_drift(&m.app);

    // Applied, the edit does what its preview said.
    m.admin_ok(
        Method::PATCH,
        &format!("/roles/{}", m.seller),
        Some(&json!({"privileges": [build]})),
    )
    .await;
    assert_eq!(
        application_privileges(&effective(&m.app, &m.bob).await, &m.crm),
        [s(build), s(view)].into()
    );
    assert_eq!(
        application_privileges(&effective(&m.app, &m.alice).await, &m.crm),
        [s(build)].into()
    );
}

#[tokio::test]
async fn a_mapping_is_stored_once_however_many_members_it_reaches() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Counts {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        stored_through_groups: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        stored: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        resolved_through_groups: i64,
    }
    let m = Mapped::new().await;
    let mut conn = m.app.pool.get().expect("connection");
    let counts: Counts = diesel::sql_query(
        "SELECT (SELECT count(*) FROM effective_roles WHERE tenant_id = $1 \
                   AND via_group_id <> '00000000-0000-0000-0000-000000000000') AS stored_through_groups, \
                (SELECT count(*) FROM effective_roles WHERE tenant_id = $1) AS stored, \
                (SELECT count(*) FROM effective_paths WHERE tenant_id = $1 AND via_group_id = $2) \
                   AS resolved_through_groups",
    )
    .bind::<diesel::sql_types::Uuid, _>(m.app.tenant_id)
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&m.idp_group).expect("uuid"))
    .get_result(&mut conn)
    .expect("counts");
    // Only Carol's direct assignment is a stored path (every user's environment role too);
    // the three members' paths through the IdP group are resolved when read.
    assert_eq!(counts.stored_through_groups, 0);
    assert_eq!(counts.resolved_through_groups, 3);
    assert!(counts.stored >= 1);
    // The document still says why: Alice holds Seller through the IdP group's mapping.
    let access = effective(&m.app, &m.alice).await;
    let paths = access.to_string();
    assert!(
        paths.contains(&m.idp_group) && paths.contains(&m.sales_assignment),
        "{access}"
    );
}
