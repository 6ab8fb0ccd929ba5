//! PATCH (RFC 7644 §3.5.2) applied to a resource document: add, replace and remove on
//! simple, complex and multi-valued attributes, with value-filter paths. Operations are
//! applied to a copy; the caller stores the result only when every operation succeeded.

use super::filter::get_ci_field;
use serde_json::{Map, Value};

use super::dialect;
use super::error::{ScimError, ScimResult};
use super::filter::{
    parse_patch_path, AttrPath, AttributeInfo, CompValue, CompareOp, Filter, PatchPath,
};
use super::resource::{normalize_extension, normalize_single, normalize_value, Document};
use super::schema::{
    AttrType, Attribute, Mutability, ResourceType, Schema, EXTERNAL_ID, PATCH_OP_SCHEMA,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct PatchOperation {
    pub op: Op,
    pub path: Option<PatchPath>,
    /// The path as sent, for error messages.
    pub raw_path: Option<String>,
    pub value: Option<Value>,
}

/// Parses a PatchOp request body.
pub fn parse_patch_request(body: &Value) -> ScimResult<Vec<PatchOperation>> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let get = |name: &str| get_ci_field(fields, name);
    match get("schemas") {
        Some(Value::Array(s)) if s.iter().any(|u| u.as_str() == Some(PATCH_OP_SCHEMA)) => {}
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' must be [\"{PATCH_OP_SCHEMA}\"]"
            )))
        }
    }
    let Some(Value::Array(operations)) = get("Operations") else {
        return Err(ScimError::invalid_syntax("'Operations' must be an array"));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax("'Operations' must not be empty"));
    }
    operations.iter().map(parse_operation).collect()
}

fn parse_operation(value: &Value) -> ScimResult<PatchOperation> {
    let Value::Object(fields) = value else {
        return Err(ScimError::invalid_syntax(
            "each operation must be an object",
        ));
    };
    let mut op = None;
    let mut path = None;
    let mut raw_path = None;
    let mut op_value = None;
    for (key, v) in fields {
        match key.to_ascii_lowercase().as_str() {
            "op" => {
                let name = v
                    .as_str()
                    .ok_or_else(|| ScimError::invalid_syntax("'op' must be a string"))?;
                op = Some(match dialect::patch_op_name(name).as_str() {
                    "add" => Op::Add,
                    "replace" => Op::Replace,
                    "remove" => Op::Remove,
                    _ => {
                        return Err(ScimError::invalid_syntax(format!(
                            "'{name}' is not a PATCH operation (add, replace, remove)"
                        )))
                    }
                });
            }
            "path" => match v {
                Value::String(p) if !p.trim().is_empty() => {
                    path = Some(parse_patch_path(p.trim())?);
                    raw_path = Some(p.clone());
                }
                Value::String(_) | Value::Null => {}
                _ => return Err(ScimError::invalid_path("'path' must be a string")),
            },
            "value" => op_value = Some(v.clone()),
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "'{key}' is not a member of a PATCH operation"
                )))
            }
        }
    }
    let op = op.ok_or_else(|| ScimError::invalid_syntax("each operation needs an 'op'"))?;
    if op != Op::Remove && op_value.is_none() {
        return Err(ScimError::invalid_value(
            "'add' and 'replace' need a 'value'",
        ));
    }
    Ok(PatchOperation {
        op,
        path,
        raw_path,
        value: op_value,
    })
}

/// Case-exactness of sub-attributes inside a value filter.
struct SubAttributeInfo(&'static Attribute);

impl AttributeInfo for SubAttributeInfo {
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.0.sub(&path.name).is_some_and(|a| a.case_exact)
    }
}

/// Where an operation lands: which schema's attribute, or a whole extension.
enum Target {
    Attribute {
        extension: Option<&'static Schema>,
        attr: &'static Attribute,
    },
    Extension(&'static Schema),
}

fn resolve(resource_type: &ResourceType, path: &PatchPath, raw: &str) -> ScimResult<Target> {
    if let Some(extension) = resource_type.extension(raw) {
        return Ok(Target::Extension(extension));
    }
    let unknown = || {
        ScimError::invalid_path(format!(
            "'{raw}' does not name an attribute of {}",
            resource_type.name
        ))
    };
    let extension = match &path.attr.urn {
        None => None,
        Some(urn) if urn.eq_ignore_ascii_case(resource_type.schema.id) => None,
        Some(urn) => Some(resource_type.extension(urn).ok_or_else(unknown)?),
    };
    let attr = match extension {
        Some(ext) => ext.attribute(&path.attr.name),
        None if path.attr.is("externalId") => Some(&EXTERNAL_ID),
        None => resource_type.schema.attribute(&path.attr.name),
    }
    .ok_or_else(unknown)?;
    if let Some(sub) = &path.attr.sub {
        if attr.sub(sub).is_none() {
            return Err(unknown());
        }
    }
    if let Some(sub) = &path.sub {
        if attr.sub(sub).is_none() {
            return Err(unknown());
        }
    }
    if path.filter.is_some() && !(attr.multi_valued && attr.kind == AttrType::Complex) {
        return Err(ScimError::invalid_path(format!(
            "'{raw}': value filters apply only to multi-valued complex attributes"
        )));
    }
    Ok(Target::Attribute { extension, attr })
}

/// Applies one operation to the document.
pub fn apply(
    resource_type: &ResourceType,
    doc: &mut Document,
    op: &PatchOperation,
) -> ScimResult<()> {
    let (Some(path), Some(raw)) = (&op.path, &op.raw_path) else {
        return apply_without_path(resource_type, doc, op);
    };
    if path.attr.urn.is_none() && dialect::is_discarded_attribute(&path.attr.name) {
        return Ok(());
    }
    match resolve(resource_type, path, raw)? {
        Target::Extension(ext) => apply_extension(resource_type, doc, ext, op),
        Target::Attribute { extension, attr } => {
            if attr.mutability == Mutability::ReadOnly {
                return Err(ScimError::mutability(format!("'{raw}' is read-only")));
            }
            let container = match extension {
                None => &mut *doc,
                Some(ext) => {
                    let entry = doc
                        .entry(ext.id.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    match entry {
                        Value::Object(map) => map,
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "'{}' must be an object",
                                ext.id
                            )))
                        }
                    }
                }
            };
            apply_to_attribute(container, attr, path, raw, op)?;
            if let Some(ext) = extension {
                if doc
                    .get(ext.id)
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty)
                {
                    doc.remove(ext.id);
                }
            }
            Ok(())
        }
    }
}

fn apply_extension(
    resource_type: &ResourceType,
    doc: &mut Document,
    ext: &'static Schema,
    op: &PatchOperation,
) -> ScimResult<()> {
    match op.op {
        Op::Remove => {
            doc.remove(ext.id);
            Ok(())
        }
        Op::Add | Op::Replace => {
            let value = op.value.as_ref().unwrap_or(&Value::Null);
            let Some(Value::Object(fields)) = normalize_extension(ext, value)? else {
                return Ok(());
            };
            for (key, v) in fields {
                let sub_op = PatchOperation {
                    op: op.op,
                    path: Some(parse_patch_path(&format!("{}:{key}", ext.id))?),
                    raw_path: Some(format!("{}:{key}", ext.id)),
                    value: Some(v),
                };
                apply(resource_type, doc, &sub_op)?;
            }
            Ok(())
        }
    }
}

/// A path-less add or replace: every key of the value object is applied as if it were a
/// path. Keys may be dotted paths or extension URNs (as Entra ID sends them).
fn apply_without_path(
    resource_type: &ResourceType,
    doc: &mut Document,
    op: &PatchOperation,
) -> ScimResult<()> {
    if op.op == Op::Remove {
        return Err(ScimError::no_target("'remove' needs a 'path'"));
    }
    let Some(Value::Object(fields)) = &op.value else {
        return Err(ScimError::invalid_value(
            "without a 'path', the 'value' must be an object of attributes",
        ));
    };
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("schemas")
            || key.eq_ignore_ascii_case("id")
            || key.eq_ignore_ascii_case("meta")
        {
            continue;
        }
        let path = parse_patch_path(key)?;
        if let Some(attr) = resource_type.schema.attribute(&path.attr.name) {
            if path.attr.urn.is_none() && attr.mutability == Mutability::ReadOnly {
                continue;
            }
        }
        let sub_op = PatchOperation {
            op: op.op,
            path: Some(path),
            raw_path: Some(key.clone()),
            value: Some(value.clone()),
        };
        apply(resource_type, doc, &sub_op)?;
    }
    Ok(())
}

fn apply_to_attribute(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    path: &PatchPath,
    raw: &str,
    op: &PatchOperation,
) -> ScimResult<()> {
    let value = op.value.as_ref().unwrap_or(&Value::Null);
    if let Some(filter) = &path.filter {
        return apply_filtered(
            container,
            attr,
            filter,
            path.sub.as_deref(),
            raw,
            op.op,
            value,
        );
    }
    // `name.givenName`, or `emails.value` on every value of a multi-valued attribute.
    if let Some(sub_name) = &path.attr.sub {
        let sub = attr
            .sub(sub_name)
            .ok_or_else(|| ScimError::invalid_path(raw.to_string()))?;
        if sub.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!("'{raw}' is read-only")));
        }
        return apply_to_sub_attribute(container, attr, sub, op.op, value);
    }
    match op.op {
        Op::Remove => {
            if attr.required {
                return Err(ScimError::mutability(format!(
                    "'{}' is required and cannot be removed",
                    attr.name
                )));
            }
            match (attr.multi_valued, op.value.as_ref()) {
                // Remove the listed values only (Entra ID sends member removals this way).
                (true, Some(Value::Array(items))) if !items.is_empty() => {
                    let remove: Vec<Value> = items
                        .iter()
                        .filter_map(|i| normalize_single(attr, i).transpose())
                        .collect::<ScimResult<_>>()?;
                    if let Some(Value::Array(existing)) = container.get_mut(attr.name) {
                        existing.retain(|e| !remove.iter().any(|r| same_value(e, r)));
                        if existing.is_empty() {
                            container.remove(attr.name);
                        }
                    }
                }
                _ => {
                    container.remove(attr.name);
                }
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            let Some(new) = normalize_value(attr, value)? else {
                if op.op == Op::Replace {
                    container.remove(attr.name);
                }
                return Ok(());
            };
            if attr.mutability == Mutability::Immutable
                && container.get(attr.name).is_some_and(|old| *old != new)
            {
                return Err(ScimError::mutability(format!(
                    "'{}' is immutable",
                    attr.name
                )));
            }
            match (attr.multi_valued, attr.kind, op.op) {
                (true, _, Op::Add) => {
                    let Value::Array(new_items) = new else {
                        return unreachable_value();
                    };
                    let entry = container
                        .entry(attr.name.to_string())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    let Value::Array(existing) = entry else {
                        return unreachable_value();
                    };
                    for item in new_items {
                        if is_primary(&item) {
                            existing.iter_mut().for_each(clear_primary);
                        }
                        if !existing.contains(&item) {
                            existing.push(item);
                        }
                    }
                }
                (false, AttrType::Complex, _) => {
                    let Value::Object(new_fields) = new else {
                        return unreachable_value();
                    };
                    let entry = container
                        .entry(attr.name.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    match entry {
                        Value::Object(existing) => existing.extend(new_fields),
                        other => *other = Value::Object(new_fields),
                    }
                }
                _ => {
                    container.insert(attr.name.to_string(), new);
                }
            }
            Ok(())
        }
    }
}

fn unreachable_value<T>() -> ScimResult<T> {
    Err(ScimError::invalid_value("unexpected value shape"))
}

fn apply_to_sub_attribute(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    sub: &'static Attribute,
    op: Op,
    value: &Value,
) -> ScimResult<()> {
    let new = match op {
        Op::Remove => None,
        _ => normalize_single(sub, value)?,
    };
    if attr.multi_valued {
        match container.get_mut(attr.name) {
            Some(Value::Array(items)) => {
                for item in items.iter_mut() {
                    set_field(item, sub.name, new.clone());
                }
                items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
            }
            _ => {
                if let (Op::Add | Op::Replace, Some(v)) = (op, new) {
                    let mut element = Map::new();
                    element.insert(sub.name.to_string(), v);
                    container.insert(
                        attr.name.to_string(),
                        Value::Array(vec![Value::Object(element)]),
                    );
                }
            }
        }
    } else {
        let entry = container
            .entry(attr.name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        set_field(entry, sub.name, new);
    }
    drop_if_empty(container, attr.name);
    Ok(())
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    filter: &Filter,
    sub_name: Option<&str>,
    raw: &str,
    op: Op,
    value: &Value,
) -> ScimResult<()> {
    let info = SubAttributeInfo(attr);
    let sub = match sub_name {
        Some(name) => Some(
            attr.sub(name)
                .ok_or_else(|| ScimError::invalid_path(raw.to_string()))?,
        ),
        None => None,
    };
    if sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!("'{raw}' is read-only")));
    }
    let mut items = match container.remove(attr.name) {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| filter.matches(&items[i], &info))
        .collect();
    let result = (|| -> ScimResult<()> {
        match (op, sub) {
            (Op::Remove, None) => {
                let mut index = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&index);
                    index += 1;
                    keep
                });
            }
            (Op::Remove, Some(sub)) => {
                for &i in &matched {
                    set_field(&mut items[i], sub.name, None);
                }
            }
            (Op::Add | Op::Replace, Some(sub)) => {
                let new = normalize_single(sub, value)?;
                if matched.is_empty() && dialect::CREATE_ON_FILTERED_ADD {
                    // Entra ID's `emails[type eq "work"].value` creates the value it names.
                    let mut element = equality_terms(filter).ok_or_else(|| {
                        ScimError::no_target(format!("no value of '{}' matches '{raw}'", attr.name))
                    })?;
                    if let Some(v) = new {
                        element.insert(sub.name.to_string(), v);
                    }
                    let element = normalize_single(attr, &Value::Object(element))?;
                    items.extend(element);
                } else {
                    for &i in &matched {
                        set_field(&mut items[i], sub.name, new.clone());
                    }
                }
            }
            (Op::Add | Op::Replace, None) => {
                if matched.is_empty() {
                    return Err(ScimError::no_target(format!(
                        "no value of '{}' matches '{raw}'",
                        attr.name
                    )));
                }
                let Some(Value::Object(new)) = normalize_single(attr, value)? else {
                    return Err(ScimError::invalid_value(format!(
                        "'{raw}' needs an object value"
                    )));
                };
                for &i in &matched {
                    if op == Op::Replace {
                        items[i] = Value::Object(new.clone());
                    } else if let Value::Object(existing) = &mut items[i] {
                        existing.extend(new.clone());
                    }
                }
            }
        }
        Ok(())
    })();
    if sub.is_some_and(|s| s.name == "primary") && op != Op::Remove && value == &Value::Bool(true) {
        for (i, item) in items.iter_mut().enumerate() {
            if !matched.contains(&i) {
                clear_primary(item);
            }
        }
    }
    items.retain(|i| i.as_object().is_some_and(|o| !o.is_empty()));
    if !items.is_empty() {
        container.insert(attr.name.to_string(), Value::Array(items));
    }
    result
}

/// The attributes a filter pins by equality (`type eq "work" and primary eq true`), used
/// to build the value an add-with-filter creates. `None` when the filter is anything else.
fn equality_terms(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.sub.is_none() && path.urn.is_none() => {
            let v = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return None,
            };
            let mut map = Map::new();
            map.insert(path.name.clone(), v);
            Some(map)
        }
        Filter::And(a, b) => {
            let mut left = equality_terms(a)?;
            left.extend(equality_terms(b)?);
            Some(left)
        }
        _ => None,
    }
}

fn set_field(target: &mut Value, key: &str, value: Option<Value>) {
    if let Value::Object(map) = target {
        // Drop any differently-cased spelling before setting the canonical one.
        map.retain(|k, _| !k.eq_ignore_ascii_case(key));
        if let Some(v) = value {
            map.insert(key.to_string(), v);
        }
    }
}

fn drop_if_empty(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get(key) {
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.remove(key);
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn clear_primary(v: &mut Value) {
    if let Some(Value::Bool(p)) = v.get_mut("primary") {
        *p = false;
    }
}

/// Values of a multi-valued attribute are the same when their `value` sub-attributes are
/// equal, or, lacking one, when they are equal as a whole.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::resource::{normalize, renormalize};
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_RESOURCE};
    use serde_json::json;

    fn patch(doc: &Value, ops: Value) -> ScimResult<Value> {
        let mut doc = normalize(&USER_RESOURCE, doc)?;
        let ops = parse_patch_request(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?;
        for op in &ops {
            apply(&USER_RESOURCE, &mut doc, op)?;
        }
        Ok(Value::Object(renormalize(&USER_RESOURCE, &doc)?))
    }

    #[test]
    fn add_replace_remove_simple_and_complex() {
        let user = json!({"userName": "a", "name": {"givenName": "A"}});
        let out = patch(
            &user,
            json!([
                {"op": "add", "path": "title", "value": "Boss"},
                {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
                {"op": "remove", "path": "name.givenName"},
            ]),
        )
        .expect("applies");
        assert_eq!(out["title"], "Boss");
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    }

    #[test]
    fn value_filter_paths() {
        let user = json!({"userName": "a", "emails": [
            {"value": "a@home", "type": "home", "primary": true},
            {"value": "a@work", "type": "work"}
        ]});
        let out = patch(
            &user,
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"},
                {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": true},
            ]),
        )
        .expect("applies");
        assert_eq!(out["emails"][1]["value"], "new@work");
        assert_eq!(out["emails"][0]["primary"], false);
        let out = patch(
            &user,
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        )
        .expect("applies");
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(1));
        let err = patch(&user, json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x"}}]))
            .expect_err("no target");
        assert_eq!(err.scim_type, Some(crate::scim::error::ScimType::NoTarget));
    }

    #[test]
    fn add_with_filter_creates_missing_value() {
        let out = patch(
            &json!({"userName": "a"}),
            json!([
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@work"}
            ]),
        )
        .expect("applies");
        assert_eq!(out["emails"], json!([{"type": "work", "value": "a@work"}]));
    }

    #[test]
    fn pathless_replace_with_dotted_and_urn_keys() {
        let out = patch(
            &json!({"userName": "a", "active": true}),
            json!([
                {"op": "Replace", "value": {
                    "active": "False",
                    "name.givenName": "Given",
                    (format!("{ENTERPRISE_USER_SCHEMA}:employeeNumber")): "7"
                }}
            ]),
        )
        .expect("applies");
        assert_eq!(out["active"], false);
        assert_eq!(out["name"]["givenName"], "Given");
        assert_eq!(out[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "7");
    }

    #[test]
    fn errors() {
        let user = json!({"userName": "a"});
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "add", "path": "nosuch", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]),
                "mutability",
            ),
            (json!([{"op": "remove", "path": "userName"}]), "mutability"),
            (
                json!([{"op": "add", "path": "active", "value": 3}]),
                "invalidValue",
            ),
            (
                json!([{"op": "jump", "path": "title", "value": "x"}]),
                "invalidSyntax",
            ),
            (
                json!([{"op": "add", "path": "title[", "value": "x"}]),
                "invalidPath",
            ),
        ];
        for (ops, expected) in cases {
            let err = patch(&user, ops.clone()).expect_err(&ops.to_string());
            assert_eq!(err.scim_type.map(|t| t.as_str()), Some(expected), "{ops}");
        }
    }
}
