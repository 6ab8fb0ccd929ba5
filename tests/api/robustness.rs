//! Bad input never gets a 5xx, and a refused request changes nothing.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, PATCH_SCHEMA, USER_SCHEMA};

/// Arbitrary JSON, biased towards SCIM-looking keys and values.
fn json_value() -> BoxedStrategy<Value> {
    let key = prop_oneof![
        Just("userName".to_string()),
        Just("name".to_string()),
        Just("emails".to_string()),
        Just("value".to_string()),
        Just("type".to_string()),
        Just("primary".to_string()),
        Just("active".to_string()),
        Just("members".to_string()),
        Just("displayName".to_string()),
        Just("schemas".to_string()),
        Just("op".to_string()),
        Just("path".to_string()),
        Just("Operations".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()),
        "[a-zA-Z$.\\[\\]\" :]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(json!(USER_SCHEMA)),
        Just(json!(PATCH_SCHEMA)),
        Just(json!("emails[type eq \"work\"].value")),
        Just(json!("members[value eq \"x\"]")),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn patch_body() -> BoxedStrategy<Value> {
    let op = (
        prop_oneof![
            Just("add"),
            Just("replace"),
            Just("remove"),
            Just("Replace"),
            Just("move")
        ],
        proptest::option::of(prop_oneof![
            Just("title".to_string()),
            Just("name.givenName".to_string()),
            Just("emails".to_string()),
            Just("emails[type eq \"work\"].value".to_string()),
            Just("emails[value co \"@\"]".to_string()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_string()),
            Just("userName".to_string()),
            Just("groups".to_string()),
            "[ -~]{0,20}",
        ]),
        proptest::option::of(json_value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        });
    proptest::collection::vec(op, 1..4)
        .prop_map(|ops| json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
        .boxed()
}

#[test]
fn random_bodies_never_cause_a_server_error_or_a_partial_change() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let app = runtime.block_on(spawn_app());
    let (user, group) = runtime.block_on(async {
        let reply = app
            .post(
                "/Users",
                &json!({"schemas": [USER_SCHEMA], "userName": "fixed", "title": "t",
                "emails": [{"value": "f@x", "type": "work", "primary": true}]}),
            )
            .await;
        let user = reply.id();
        let group = app.create_group("fixed-group", &[&user]).await;
        (user, group)
    });
    let snapshot = |path: String| runtime.block_on(app.get(&path)).body;
    let user_path = format!("/Users/{user}");
    let group_path = format!("/Groups/{group}");

    let mut runner = TestRunner::new(Config {
        cases: 150,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(json_value(), patch_body()), |(body, patch)| {
        let before_user = snapshot(user_path.clone());
        let before_group = snapshot(group_path.clone());
        for (method, path, payload) in [
            (reqwest::Method::POST, "/Users".to_string(), &body),
            (reqwest::Method::POST, "/Groups".to_string(), &body),
            (reqwest::Method::PUT, user_path.clone(), &body),
            (reqwest::Method::PUT, group_path.clone(), &body),
            (reqwest::Method::POST, "/Bulk".to_string(), &body),
            (reqwest::Method::POST, "/.search".to_string(), &body),
            (reqwest::Method::PATCH, user_path.clone(), &patch),
            (reqwest::Method::PATCH, group_path.clone(), &patch),
        ] {
            let reply = runtime.block_on(app.request(method.clone(), &path, Some(payload)));
            prop_assert!(
                reply.status < 500,
                "{} {} {} -> {} {}",
                method,
                path,
                payload,
                reply.status,
                reply.body
            );
            if reply.status >= 400 {
                prop_assert_eq!(reply.header("content-type"), Some("application/scim+json"));
                prop_assert_eq!(&reply.body["status"], &json!(reply.status.to_string()));
            }
            let changed_user =
                method != reqwest::Method::POST && path == user_path && reply.status < 300;
            let changed_group =
                method != reqwest::Method::POST && path == group_path && reply.status < 300;
            if reply.status >= 400 && path == user_path {
                prop_assert_eq!(
                    &snapshot(user_path.clone()),
                    &before_user,
                    "refused {} changed the user",
                    method
                );
            }
            if reply.status >= 400 && path == group_path {
                prop_assert_eq!(
                    &snapshot(group_path.clone()),
                    &before_group,
                    "refused {} changed the group",
                    method
                );
            }
            if changed_user || changed_group {
                // Put the fixtures back for the next case.
                runtime.block_on(app.put(
                    &user_path,
                    &json!({"schemas": [USER_SCHEMA], "userName": "fixed", "title": "t",
                    "emails": [{"value": "f@x", "type": "work", "primary": true}]}),
                ));
                runtime.block_on(app.put(
                    &group_path,
                    &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "fixed-group", "members": [{"value": user}]}),
                ));
                return Ok(());
            }
        }
        // Query strings: filters, paging and projection.
        for query in [
            format!("filter={}", urlencode(&body.to_string())),
            format!("sortBy={}&count={}", urlencode(&patch.to_string()), "x"),
        ] {
            let reply = runtime.block_on(app.get(&format!("/Users?{query}")));
            prop_assert!(reply.status < 500, "{} -> {}", query, reply.status);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
