//! The OpenAPI document describes exactly the admin API the server registers, each
//! operation with its privilege requirement.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

/// (method, path) of every admin route the server registers: the declarations themselves.
fn registered_routes() -> BTreeSet<(String, String)> {
    rolegate::http::admin_routes::all()
        .map(|r| (r.method.to_string(), format!("/admin/v1{}", r.path)))
        .collect()
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap_or_default().to_string());
                }
                refs(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_lists_every_admin_route_and_only_those() {
    let app = spawn_app().await;
    let reply = app.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("operations")
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let registered = registered_routes();
    assert!(registered.len() > 40, "{registered:?}");
    assert_eq!(
        documented.difference(&registered).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(
        registered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );

    // Every operation states what it requires.
    for (method, path) in &documented {
        let requirement = &doc["paths"][path][method]["x-rolegate-privilege"];
        assert!(
            requirement["scope"].is_string()
                || requirement["any_of"].is_array()
                || requirement["all_of"].is_array()
                || requirement["application_roles"].is_object(),
            "{method} {path} states no requirement: {requirement}"
        );
    }
    assert_eq!(
        doc["paths"]["/admin/v1/users/{id}/environments/{environment_id}/role"]["put"]
            ["x-rolegate-privilege"],
        serde_json::json!({"privilege": "workspace_access.collaborators.full_access", "scope": "tenant"})
    );

    // Every schema reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is not defined"
        );
    }

    // And every documented operation is answered by its handler, not the fallbacks.
    for (method, path) in &documented {
        let concrete = path
            .trim_start_matches("/admin/v1")
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    s.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let query = if method == Method::GET {
            ""
        } else {
            "?dry_run=true"
        };
        let reply = app
            .admin(method.clone(), &format!("{concrete}{query}"), None)
            .await;
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(
            reply.status != 405 && !detail.starts_with("no admin endpoint"),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
    }
}
