//! Bulk operations (RFC 7644 §3.7): many operations in one request, each applied in its own
//! transaction, with `bulkId` references between them resolved in dependency order, so a
//! group may name users created later in the same request.

use crate::scim::filter::get_ci_field;
use std::collections::{HashMap, HashSet};

use diesel::PgConnection;
use serde_json::{json, Map, Value};

use super::resource::{self, ScimResource};
use super::{Rendered, ScimContext};
use crate::error::ScimApiError;
use crate::scim::schema::{BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA};
use crate::scim::ScimError;

/// Largest number of operations one request may carry (advertised as `maxOperations`).
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    method_name: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

fn parse_request(body: &Value) -> Result<(Vec<Operation>, Option<usize>), ScimError> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax(
            "the bulk request must be a JSON object",
        ));
    };
    let get = |name: &str| get_ci_field(fields, name);
    match get("schemas") {
        Some(Value::Array(s)) if s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_SCHEMA)) => {}
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' must be [\"{BULK_REQUEST_SCHEMA}\"]"
            )))
        }
    }
    let fail_on_errors = match get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(n) if n >= 1 => Some(n as usize),
            _ => {
                return Err(ScimError::invalid_value(
                    "'failOnErrors' must be a positive integer",
                ))
            }
        },
        Some(_) => {
            return Err(ScimError::invalid_value(
                "'failOnErrors' must be a positive integer",
            ))
        }
    };
    let Some(Value::Array(items)) = get("Operations") else {
        return Err(ScimError::invalid_syntax("'Operations' must be an array"));
    };
    if items.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            413,
            None,
            format!("a bulk request may carry at most {MAX_OPERATIONS} operations"),
        ));
    }
    let mut seen = HashSet::new();
    let operations = items
        .iter()
        .map(|item| {
            let op = parse_operation(item)?;
            if let Some(id) = &op.bulk_id {
                if !seen.insert(id.clone()) {
                    return Err(ScimError::invalid_value(format!(
                        "bulkId '{id}' is used more than once"
                    )));
                }
            }
            Ok(op)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((operations, fail_on_errors))
}

fn parse_operation(item: &Value) -> Result<Operation, ScimError> {
    let Value::Object(fields) = item else {
        return Err(ScimError::invalid_syntax(
            "each bulk operation must be an object",
        ));
    };
    let get = |name: &str| get_ci_field(fields, name);
    let text = |name: &str| get(name).and_then(Value::as_str).map(str::to_string);
    let method_name = text("method")
        .ok_or_else(|| ScimError::invalid_syntax("each bulk operation needs a 'method'"))?;
    let method = match method_name.to_ascii_uppercase().as_str() {
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => {
            return Err(ScimError::invalid_syntax(format!(
                "'{other}' is not a bulk method"
            )))
        }
    };
    let path = text("path")
        .ok_or_else(|| ScimError::invalid_syntax("each bulk operation needs a 'path'"))?;
    let data = get("data").cloned();
    if method != Method::Delete && data.is_none() {
        return Err(ScimError::invalid_syntax(format!(
            "{method_name} {path} needs 'data'"
        )));
    }
    Ok(Operation {
        method,
        method_name: method_name.to_ascii_uppercase(),
        bulk_id: text("bulkId"),
        version: text("version"),
        path,
        data,
    })
}

/// Every `bulkId:X` reference in a value.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.push(id.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        Value::Object(map) => map.values().for_each(|v| references(v, out)),
        _ => {}
    }
}

fn substitute(value: &Value, ids: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix("bulkId:").and_then(|id| ids.get(id)) {
            Some(real) => Value::String(real.clone()),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, ids)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, ids)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

fn target(path: &str) -> Result<(&'static dyn ScimResource, Option<String>), ScimError> {
    let trimmed = path.trim_matches('/');
    let mut parts = trimmed.splitn(2, '/');
    let Some(resource) = parts.next().and_then(resource::by_endpoint) else {
        let endpoints: Vec<&str> = resource::RESOURCES
            .iter()
            .map(|r| r.resource_type().endpoint)
            .collect();
        return Err(ScimError::invalid_path(format!(
            "'{path}' is not the path of a resource type ({})",
            endpoints.join(", ")
        )));
    };
    Ok((
        resource,
        parts.next().map(str::to_string).filter(|s| !s.is_empty()),
    ))
}

/// The outcome of one operation, as the BulkResponse lists it.
fn outcome(op: &Operation, result: Result<(u16, Option<Rendered>), ScimError>) -> Value {
    let mut entry = json!({"method": op.method_name});
    if let Some(id) = &op.bulk_id {
        entry["bulkId"] = json!(id);
    }
    match result {
        Ok((status, rendered)) => {
            entry["status"] = json!(status.to_string());
            if let Some(r) = rendered {
                entry["location"] = json!(r.location);
                entry["version"] = json!(crate::scim::etag(r.version));
            }
        }
        Err(e) => {
            entry["status"] = json!(e.status.to_string());
            entry["response"] = e.to_json();
        }
    }
    entry
}

fn execute(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    op: &Operation,
    path: &str,
    data: Option<&Value>,
) -> Result<(u16, Option<Rendered>), ScimError> {
    let (resource, id) = target(path)?;
    let version = op.version.as_deref();
    let data = data.unwrap_or(&Value::Null);
    let need_id = || {
        id.clone().ok_or_else(|| {
            ScimError::invalid_path(format!(
                "{} needs a resource id in '{path}'",
                op.method_name
            ))
        })
    };
    let result = match op.method {
        Method::Post if id.is_some() => {
            return Err(ScimError::invalid_path(
                "POST takes a collection path such as /Users",
            ))
        }
        Method::Post => resource.create(conn, ctx, data).map(|r| (201, Some(r))),
        Method::Put => resource
            .replace(conn, ctx, &need_id()?, data, version)
            .map(|r| (200, Some(r))),
        // The BulkResponse names the location and version only: no document to render.
        Method::Patch => resource
            .patch(conn, ctx, &need_id()?, data, version, false)
            .map(|r| (200, Some(r))),
        Method::Delete => resource
            .delete(conn, ctx, &need_id()?, version)
            .map(|()| (204, None)),
    };
    result.map_err(|e: ScimApiError| e.to_scim())
}

/// Processes a BulkRequest. Operations run in request order, except that one referring to
/// a `bulkId` not created yet waits until it is; references that can never be resolved
/// (unknown, failed or circular) fail that operation.
pub fn process(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    body: &Value,
) -> Result<Value, ScimApiError> {
    let (operations, fail_on_errors) = parse_request(body)?;
    let declared: HashSet<String> = operations
        .iter()
        .filter_map(|o| o.bulk_id.clone())
        .collect();
    let mut created: HashMap<String, String> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    let mut results: Vec<Option<Value>> = vec![None; operations.len()];
    let mut errors = 0;
    let mut pending: Vec<usize> = (0..operations.len()).collect();
    'rounds: loop {
        let mut progressed = false;
        let mut still_pending = Vec::new();
        for &i in &pending {
            let op = &operations[i];
            let mut refs = Vec::new();
            let (prefix, last_segment) = op.path.rsplit_once('/').unwrap_or(("", op.path.as_str()));
            references(&Value::String(last_segment.to_string()), &mut refs);
            if let Some(data) = &op.data {
                references(data, &mut refs);
            }
            let broken = refs
                .iter()
                .find(|r| !declared.contains(*r) || failed.contains(*r));
            let result = if op.method == Method::Post && op.bulk_id.is_none() {
                Err(ScimError::invalid_value(
                    "a POST operation needs a bulkId (RFC 7644 section 3.7)",
                ))
            } else if let Some(r) = broken {
                Err(ScimError::new(
                    409,
                    Some(crate::scim::ScimType::InvalidValue),
                    format!("bulkId '{r}' does not name a resource created by this request"),
                ))
            } else if refs.iter().any(|r| !created.contains_key(r)) {
                still_pending.push(i);
                continue;
            } else {
                let segment = substitute(&Value::String(last_segment.to_string()), &created);
                let path = format!("{prefix}/{}", segment.as_str().unwrap_or_default());
                let data = op.data.as_ref().map(|d| substitute(d, &created));
                execute(conn, ctx, op, &path, data.as_ref())
            };
            progressed = true;
            match (&result, &op.bulk_id) {
                (Ok((_, Some(rendered))), Some(bulk_id)) if op.method == Method::Post => {
                    let id = rendered
                        .location
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    created.insert(bulk_id.clone(), id);
                }
                (Err(_), Some(bulk_id)) => {
                    failed.insert(bulk_id.clone());
                }
                _ => {}
            }
            if result.is_err() {
                errors += 1;
            }
            results[i] = Some(outcome(op, result));
            if fail_on_errors.is_some_and(|limit| errors >= limit) {
                break 'rounds;
            }
        }
        pending = still_pending;
        if pending.is_empty() {
            break;
        }
        if !progressed {
            // What is left waits on itself: circular references.
            for &i in &pending {
                let op = &operations[i];
                let error = ScimError::new(
                    409,
                    Some(crate::scim::ScimType::InvalidValue),
                    "circular bulkId references",
                );
                results[i] = Some(outcome(op, Err(error)));
            }
            break;
        }
    }
    Ok(json!({
        "schemas": [BULK_RESPONSE_SCHEMA],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    }))
}
