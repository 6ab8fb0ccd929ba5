//! Bad input never gets a 5xx, and a refused request changes nothing.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, PATCH_SCHEMA, USER_SCHEMA};

/// Strings an attacker or a careless client sends: control characters (NUL above all),
/// right-to-left overrides, combining marks, non-ASCII, and values far past every limit.
pub fn hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        Just("\u{0}".to_string()),
        Just("a\u{0}b".to_string()),
        Just("\u{1b}[31mred".to_string()),
        Just("line\r\nInjected: header".to_string()),
        Just("\u{202e}gnp.exe".to_string()),
        Just("e\u{301}\u{301}\u{301}\u{20dd}".to_string()),
        Just("\u{feff}\u{200b}zero-width".to_string()),
        Just("ÉLODIE ß İı".to_string()),
        Just("\u{10ffff}\u{fffd}".to_string()),
        // Large, yet inside the tests' 64 KiB body limit with the rest of a body.
        Just("x".repeat(60 * 1024)),
        Just("é".repeat(3000)),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:€".to_string()),
        Just("[[[[[[[[[[[[[[[[".to_string()),
        Just("' OR 1=1 --".to_string()),
        "\\PC{0,12}",
        prop::collection::vec(any::<char>(), 0..24).prop_map(|c| c.into_iter().collect()),
    ]
    .boxed()
}

/// JSON nested far deeper than any resource.
fn deeply_nested() -> Value {
    let mut v = json!("bottom");
    for _ in 0..200 {
        v = json!({"a": [v]});
    }
    v
}

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
        hostile_string().prop_map(Value::String),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(json!(USER_SCHEMA)),
        Just(json!(PATCH_SCHEMA)),
        Just(json!("emails[type eq \"work\"].value")),
        Just(json!("members[value eq \"x\"]")),
        Just(deeply_nested()),
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
        let short = |v: &Value| v.to_string().chars().take(2000).collect::<String>();
        for query in [
            format!("filter={}", urlencode(&short(&body))),
            format!("sortBy={}&count={}", urlencode(&short(&patch)), "x"),
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

/// Replaces one string (or, with `uuid`, one id) somewhere in `value` with `hostile`.
fn inject(value: &mut Value, mut position: usize, hostile: &str) -> bool {
    fn walk(value: &mut Value, position: &mut usize, hostile: &str) -> bool {
        match value {
            Value::String(s) => {
                if *position == 0 {
                    *s = hostile.to_string();
                    return true;
                }
                *position -= 1;
                false
            }
            Value::Array(items) => items.iter_mut().any(|v| walk(v, position, hostile)),
            Value::Object(map) => map.values_mut().any(|v| walk(v, position, hostile)),
            _ => false,
        }
    }
    walk(value, &mut position, hostile)
}

#[test]
fn hostile_strings_on_every_admin_and_oidc_route_never_cause_a_server_error() {
    use crate::delegation::{case, send, tenant_rows, Body, Fixture};
    use rolegate::http::admin_routes;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let f = runtime.block_on(Fixture::new());
    let routes: Vec<_> = admin_routes::all().collect();
    let before = tenant_rows(&f.app);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(
        &(0..routes.len(), 0usize..8, hostile_string(), 0u8..3),
        |(r, position, hostile, place)| {
            let route = routes[r];
            let c = case(&f, route.method, route.path);
            // URLs stay below what HTTP clients send at all (the body takes the long ones).
            let encoded = urlencode(&hostile.chars().take(1000).collect::<String>());
            // Into the body, a path segment, or the query.
            let (path, body) = match (place, c.body) {
                (0, Body::Json(mut v)) => {
                    inject(&mut v, position, &hostile);
                    (c.path.clone(), Body::Json(v))
                }
                (1, body) => {
                    let mut segments: Vec<String> = c.path.split('/').map(str::to_string).collect();
                    let last = segments.len() - 1;
                    segments[1 + position % last.max(1)] = encoded.clone();
                    (segments.join("/"), body)
                }
                (_, body) => {
                    let sep = if c.path.contains('?') { '&' } else { '?' };
                    (
                        format!("{}{sep}environment_id={encoded}&x={encoded}", c.path),
                        body,
                    )
                }
            };
            let path = if route.mutation {
                let sep = if path.contains('?') { '&' } else { '?' };
                format!("{path}{sep}dry_run=true")
            } else {
                path
            };
            let method = reqwest::Method::from_bytes(route.method.to_uppercase().as_bytes())
                .expect("method");
            let reply =
                runtime.block_on(send(&f.app, Some(&f.app.admin_token), method, &path, &body));
            prop_assert!(
                reply.status < 500,
                "{} {} -> {} {}",
                route.method,
                path.chars().take(200).collect::<String>(),
                reply.status,
                reply.body
            );
            if reply.status >= 400 {
                prop_assert_eq!(
                    reply.header("content-type"),
                    Some("application/problem+json")
                );
            }
            prop_assert_eq!(
                &tenant_rows(&f.app),
                &before,
                "{} {} changed something",
                route.method,
                route.path
            );
            // The login and session endpoints take the same strings.
            let tenant = f.app.tenant_id;
            for url in [
                format!(
                    "{}/oidc/{tenant}/nobody/login?environment={encoded}&return_to={encoded}",
                    f.app.address
                ),
                format!(
                    "{}/oidc/{tenant}/corp/callback?state={encoded}&code={encoded}&iss={encoded}",
                    f.app.address
                ),
                format!(
                    "{}/oidc/{tenant}/corp/callback?error={encoded}&error_description={encoded}",
                    f.app.address
                ),
                format!("{}/oidc/{encoded}/corp/login", f.app.address),
                format!("{}/oidc/{tenant}/{encoded}/login", f.app.address),
                format!("{}/oidc/{encoded}/.well-known/jwks.json", f.app.address),
            ] {
                let reply = runtime
                    .block_on(f.app.client.get(&url).send())
                    .expect("answered");
                prop_assert!(
                    reply.status().as_u16() < 500,
                    "{} -> {}",
                    url.chars().take(200).collect::<String>(),
                    reply.status()
                );
            }
            let me = runtime.block_on(
                f.app
                    .client
                    .get(format!("{}/api/v1/me", f.app.address))
                    .header(
                        "authorization",
                        format!(
                            "Bearer {}",
                            hostile
                                .chars()
                                .filter(|c| !c.is_control())
                                .take(4000)
                                .collect::<String>()
                        ),
                    )
                    .send(),
            );
            if let Ok(me) = me {
                prop_assert!(me.status().as_u16() < 500);
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
