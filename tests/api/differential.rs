//! Differential test: for random users and random filters, the users PostgreSQL selects
//! are exactly those the in-memory evaluator selects from the same rendered resources.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rolegate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use rolegate::scim::schema::USER_RESOURCE;
use serde_json::{json, Value};

use crate::filter_strategy::{any_op, path, tree, ENTERPRISE};
use crate::helpers::{spawn_app_with, Options, TestApp, USER_SCHEMA};

const WORDS: &[&str] = &[
    "alpha",
    "Beta",
    "gamma",
    "ALPHA",
    "delta",
    "Alp",
    "beta gamma",
    // Non-ASCII: SQL and the server must fold these alike (ß = ss, Σ = σ = ς, İ ≠ i).
    "Élodie",
    "élodie",
    "STRASSE",
    "straße",
    "Σίσυφος",
    "ΣΊΣΥΦΟΣ",
    "Ирина",
    "İstanbul",
    "ılık",
];
const PROBES: &[&str] = &[
    "alpha",
    "Beta",
    "al",
    "PH",
    "a",
    "",
    "alpha0",
    "gamma",
    "ext",
    "@example.com",
    "work",
    "A@X.EXAMPLE.COM",
    "0",
    "10",
    "zzz",
    "élo",
    "ÉLODIE",
    "ß",
    "ss",
    "Strass",
    "σίσυφοσ",
    "ИРИ",
    "i\u{307}",
    "ı",
    "\u{212A}",
];

fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 2 => s.prop_map(Some)].boxed()
}

fn word() -> impl Strategy<Value = String> {
    proptest::sample::select(WORDS).prop_map(str::to_string)
}

fn user_body(index: usize) -> BoxedStrategy<Value> {
    let email = (
        proptest::sample::select(
            &[
                "a@x.example.com",
                "B@y.example.com",
                "alpha@Example.COM",
                "other@z.org",
                "Élodie@Exämple.COM",
            ][..],
        ),
        proptest::sample::select(&["work", "home", "other"][..]),
        any::<bool>(),
    );
    (
        word(),
        maybe(word()),
        maybe(proptest::sample::select(&["ext-A", "ext-a", "EXT-b"][..])),
        maybe(any::<bool>()),
        maybe(word()),
        (maybe(word()), maybe(word())),
        proptest::collection::vec(email, 0..3),
        (
            maybe(word()),
            maybe(proptest::sample::select(&["001", "010", "100", "9"][..])),
        ),
    )
        .prop_map(
            move |(
                name,
                display,
                external,
                active,
                title,
                (given, family),
                emails,
                (department, number),
            )| {
                let mut user =
                    json!({"schemas": [USER_SCHEMA], "userName": format!("{name}{index}")});
                let mut set = |key: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        user[key] = v;
                    }
                };
                set("displayName", display.map(Value::from));
                set("externalId", external.map(Value::from));
                set("active", active.map(Value::from));
                set("title", title.map(Value::from));
                let mut name_obj = serde_json::Map::new();
                if let Some(g) = given {
                    name_obj.insert("givenName".into(), g.into());
                }
                if let Some(f) = family {
                    name_obj.insert("familyName".into(), f.into());
                }
                if !name_obj.is_empty() {
                    user["name"] = Value::Object(name_obj);
                }
                let mut seen_primary = false;
                let emails: Vec<Value> = emails
                    .into_iter()
                    .map(|(value, kind, primary)| {
                        let primary = primary && !seen_primary;
                        seen_primary |= primary;
                        json!({"value": value, "type": kind, "primary": primary})
                    })
                    .collect();
                if !emails.is_empty() {
                    user["emails"] = Value::Array(emails);
                }
                let mut ext = serde_json::Map::new();
                if let Some(d) = department {
                    ext.insert("department".into(), d.into());
                }
                if let Some(n) = number {
                    ext.insert("employeeNumber".into(), n.into());
                }
                if !ext.is_empty() {
                    user[ENTERPRISE] = Value::Object(ext);
                }
                user
            },
        )
        .boxed()
}

fn string_paths() -> Vec<AttrPath> {
    vec![
        path(None, "userName", None),
        path(None, "USERNAME", None),
        path(None, "displayName", None),
        path(None, "externalId", None),
        path(None, "title", None),
        path(None, "nickName", None),
        path(None, "name", Some("givenName")),
        path(None, "name", Some("familyname")),
        path(None, "emails", None),
        path(None, "emails", Some("value")),
        path(None, "emails", Some("type")),
        path(
            Some("urn:ietf:params:scim:schemas:core:2.0:User"),
            "userName",
            None,
        ),
        path(Some(ENTERPRISE), "department", None),
        path(Some(ENTERPRISE), "employeeNumber", None),
    ]
}

fn filters(times: Vec<String>) -> BoxedStrategy<Filter> {
    let strings = proptest::sample::select(string_paths());
    let probe = proptest::sample::select(PROBES).prop_map(|s| CompValue::String(s.to_string()));
    let string_compare =
        (strings.clone(), any_op(), probe.clone()).prop_map(|(p, op, v)| Filter::Compare(p, op, v));
    let present_paths = {
        let mut all = string_paths();
        all.extend([
            path(None, "name", None),
            path(None, "active", None),
            path(Some(ENTERPRISE), "manager", None),
        ]);
        proptest::sample::select(all)
    };
    let present = present_paths.clone().prop_map(Filter::Present);
    let null = (
        present_paths,
        prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)],
    )
        .prop_map(|(p, op)| Filter::Compare(p, op, CompValue::Null));
    let bools = (
        proptest::sample::select(vec![
            path(None, "active", None),
            path(None, "emails", Some("primary")),
        ]),
        prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)],
        any::<bool>(),
    )
        .prop_map(|(p, op, b)| Filter::Compare(p, op, CompValue::Bool(b)));
    let time_ops = prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le)
    ];
    let dates = (
        proptest::sample::select(vec![
            path(None, "meta", Some("created")),
            path(None, "meta", Some("lastModified")),
        ]),
        time_ops,
        proptest::sample::select(times),
    )
        .prop_map(|(p, op, t)| Filter::Compare(p, op, CompValue::String(t)));
    let element_leaf = prop_oneof![
        (
            proptest::sample::select(vec!["value", "type", "VALUE"]),
            any_op(),
            probe
        )
            .prop_map(|(n, op, v)| Filter::Compare(path(None, n, None), op, v)),
        (
            prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)],
            any::<bool>()
        )
            .prop_map(|(op, b)| Filter::Compare(
                path(None, "primary", None),
                op,
                CompValue::Bool(b)
            )),
        proptest::sample::select(vec!["value", "primary", "display"])
            .prop_map(|n| Filter::Present(path(None, n, None))),
    ]
    .boxed();
    let value_path = tree(element_leaf, 2)
        .prop_map(|inner| Filter::ValuePath(path(None, "emails", None), Box::new(inner)));
    let leaf = prop_oneof![4 => string_compare, 1 => present, 1 => null, 1 => bools, 1 => dates, 2 => value_path].boxed();
    tree(leaf, 3)
}

fn ids(list: &Value) -> BTreeSet<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn seeded_app(users: &[Value]) -> (TestApp, Vec<Value>) {
    let app = spawn_app_with(Options {
        max_page_size: 1000,
        ..Options::default()
    })
    .await;
    for body in users {
        let reply = app.post("/Users", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let all = app.get("/Users?count=1000").await.body["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (app, all)
}

#[test]
fn sql_filters_select_what_the_in_memory_evaluator_selects() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut data_runner = TestRunner::deterministic();
    for dataset in 0..3 {
        let users: Vec<Value> = (0..30)
            .map(|i| {
                user_body(dataset * 100 + i)
                    .new_tree(&mut data_runner)
                    .expect("user")
                    .current()
            })
            .collect();
        let (app, resources) = runtime.block_on(seeded_app(&users));
        let mut times: Vec<String> = resources
            .iter()
            .flat_map(|r| {
                [
                    r["meta"]["created"].clone(),
                    r["meta"]["lastModified"].clone(),
                ]
            })
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        times.extend([
            "2000-01-01T00:00:00Z".to_string(),
            "2999-01-01T00:00:00+02:00".to_string(),
        ]);
        let mut runner = TestRunner::new(Config {
            cases: 400,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&filters(times), |filter| {
            let text = filter.to_string();
            let reply =
                runtime.block_on(app.get(&format!("/Users?count=1000&filter={}", encode(&text))));
            prop_assert_eq!(reply.status, 200, "{} -> {}", text, reply.body);
            let from_sql = ids(&reply.body);
            let in_memory: BTreeSet<String> = resources
                .iter()
                .filter(|r| filter.matches(r, &&USER_RESOURCE))
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect();
            prop_assert_eq!(from_sql, in_memory, "filter: {}", text);
            Ok(())
        });
        if let Err(e) = result {
            panic!("dataset {dataset}: {e}");
        }
    }
}
