use serde_json::json;

use crate::helpers::{patch_ops, spawn_app, GROUP_SCHEMA, USER_SCHEMA};

#[tokio::test]
async fn every_mutation_is_in_the_audit_log_and_refusals_are_not() {
    let app = spawn_app().await;
    let user = app.create_user("audited").await;
    app.put(
        &format!("/Users/{user}"),
        &json!({"schemas": [USER_SCHEMA], "userName": "audited", "title": "t"}),
    )
    .await;
    app.patch(
        &format!("/Users/{user}"),
        &patch_ops(json!([{"op": "replace", "path": "title", "value": "u"}])),
    )
    .await;
    let group = app.create_group("g", &[]).await;
    app.patch(
        &format!("/Groups/{group}"),
        &patch_ops(json!([{"op": "add", "path": "members", "value": [{"value": user}]}])),
    )
    .await;
    app.put(
        &format!("/Groups/{group}"),
        &json!({"schemas": [GROUP_SCHEMA], "displayName": "h"}),
    )
    .await;
    // Refused requests leave no trace.
    app.post(
        "/Users",
        &json!({"schemas": [USER_SCHEMA], "userName": "AUDITED"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    app.patch(
        &format!("/Users/{user}"),
        &patch_ops(json!([{"op": "replace", "path": "bogus", "value": 1}])),
    )
    .await;
    app.delete(&format!("/Groups/{group}")).await;
    app.delete(&format!("/Users/{user}")).await;

    let trail: Vec<(String, String, String)> = app
        .audit_trail()
        .into_iter()
        .filter(|(t, _, _)| t == "User" || t == "Group")
        .collect();
    let expected = [
        ("User", &user, "create"),
        ("User", &user, "replace"),
        ("User", &user, "patch"),
        ("Group", &group, "create"),
        ("Group", &group, "patch"),
        ("Group", &group, "replace"),
        ("Group", &group, "delete"),
        ("User", &user, "delete"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(t, id, op)| (t.to_string(), id.to_string(), op.to_string()))
        .collect();
    assert_eq!(trail, expected);

    let mut conn = app.pool.get().expect("connection");
    let entries = rolegate::db::audit::search(&mut conn, app.tenant_id, &Default::default(), 100)
        .expect("audit");
    let patch = entries
        .iter()
        .find(|e| e.resource_type == "User" && e.operation == "patch")
        .expect("patch entry");
    assert_eq!(patch.actor, format!("token:{}", app.token_id));
    assert_eq!(
        patch.before.as_ref().map(|b| b["title"].clone()),
        Some(json!("t"))
    );
    assert_eq!(
        patch.after.as_ref().map(|a| a["title"].clone()),
        Some(json!("u"))
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_rewritten() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    app.create_user("x").await;
    let mut conn = app.pool.get().expect("connection");
    assert!(
        diesel::sql_query("UPDATE audit_log SET operation = 'forged'")
            .execute(&mut conn)
            .is_err()
    );
    assert!(diesel::sql_query("DELETE FROM audit_log")
        .execute(&mut conn)
        .is_err());
}
