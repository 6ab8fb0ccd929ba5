//! Validation of incoming resources against the schemas: attribute names are matched
//! case-insensitively and rewritten to their canonical spelling, values are type-checked,
//! read-only attributes are ignored (RFC 7643 §2.2), and unknown attributes are refused.
//! The result is the canonical document the server stores.

use serde_json::{Map, Value};

use super::dialect;
use super::error::{ScimError, ScimResult};
use super::schema::{AttrType, Attribute, Mutability, ResourceType, Schema};

/// The canonical form of a resource's writable attributes: core attributes at the top,
/// extension attributes under their schema URN. Never contains `id`, `meta` or `schemas`.
pub type Document = Map<String, Value>;

/// Validates a full resource body (POST or PUT).
pub fn normalize(resource_type: &ResourceType, input: &Value) -> ScimResult<Document> {
    let Value::Object(fields) = input else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut doc = Document::new();
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(resource_type, value)?;
            continue;
        }
        if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("meta") {
            continue;
        }
        set_top_level(resource_type, &mut doc, key, value)?;
    }
    check_required(resource_type, &doc)?;
    check_document_size(&doc)?;
    Ok(doc)
}

/// Re-validates a document after PATCH operations changed it.
pub fn renormalize(resource_type: &ResourceType, doc: &Document) -> ScimResult<Document> {
    let mut out = Document::new();
    for (key, value) in doc {
        set_top_level(resource_type, &mut out, key, value)?;
    }
    check_required(resource_type, &out)?;
    check_document_size(&out)?;
    Ok(out)
}

fn check_schemas(resource_type: &ResourceType, value: &Value) -> ScimResult<()> {
    let Value::Array(items) = value else {
        return Err(ScimError::invalid_syntax(
            "'schemas' must be an array of schema URNs",
        ));
    };
    let mut has_core = false;
    let mut names_own = false;
    for item in items {
        let Value::String(urn) = item else {
            return Err(ScimError::invalid_syntax(
                "'schemas' must be an array of schema URNs",
            ));
        };
        has_core |= urn.eq_ignore_ascii_case(resource_type.schema.id);
        names_own |= has_core
            || resource_type
                .extensions
                .iter()
                .any(|e| urn.eq_ignore_ascii_case(e.id));
    }
    // A list that names none of this resource type's schemas (a Group body sent to
    // /Users, an unknown URN) is a mistake, not a dialect.
    if !names_own {
        return Err(ScimError::invalid_syntax(format!(
            "'schemas' names no schema of the {} resource type",
            resource_type.name
        )));
    }
    if !has_core && !dialect::ALLOW_MISSING_CORE_SCHEMA {
        return Err(ScimError::invalid_syntax(format!(
            "'schemas' must contain {}",
            resource_type.schema.id
        )));
    }
    Ok(())
}

fn check_required(resource_type: &ResourceType, doc: &Document) -> ScimResult<()> {
    for attr in resource_type
        .schema
        .attributes
        .iter()
        .filter(|a| a.required)
    {
        if !doc.contains_key(attr.name) {
            return Err(ScimError::invalid_value(format!(
                "'{}' is required",
                attr.name
            )));
        }
    }
    Ok(())
}

/// Sets one top-level key of a document: a core attribute, `externalId`, or a whole
/// extension object. `None`-valued results remove the key.
fn set_top_level(
    resource_type: &ResourceType,
    doc: &mut Document,
    key: &str,
    value: &Value,
) -> ScimResult<()> {
    if key.eq_ignore_ascii_case("externalId") {
        return set_or_clear(doc, "externalId", string_value("externalId", value)?);
    }
    if dialect::is_discarded_attribute(key) {
        return Ok(());
    }
    if let Some(extension) = resource_type.extension(key) {
        let normalized = normalize_extension(extension, value)?;
        return set_or_clear(doc, extension.id, normalized);
    }
    if let Some(attr) = resource_type.schema.attribute(key) {
        if attr.mutability == Mutability::ReadOnly {
            return Ok(());
        }
        return set_or_clear(doc, attr.name, normalize_value(attr, value)?);
    }
    if key.contains(':') {
        return Err(ScimError::invalid_syntax(format!(
            "'{key}' is not a schema extension of {}",
            resource_type.name
        )));
    }
    Err(ScimError::invalid_syntax(format!(
        "'{key}' is not an attribute of {}",
        resource_type.name
    )))
}

fn set_or_clear(doc: &mut Document, key: &str, value: Option<Value>) -> ScimResult<()> {
    match value {
        Some(v) => doc.insert(key.to_string(), v),
        None => doc.remove(key),
    };
    Ok(())
}

pub fn normalize_extension(extension: &'static Schema, value: &Value) -> ScimResult<Option<Value>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, v) in fields {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let attr = extension.attribute(key).ok_or_else(|| {
                    ScimError::invalid_syntax(format!(
                        "'{key}' is not an attribute of {}",
                        extension.id
                    ))
                })?;
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_value(attr, v)? {
                    out.insert(attr.name.to_string(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        _ => Err(ScimError::invalid_value(format!(
            "'{}' must be an object",
            extension.id
        ))),
    }
}

/// Validates one attribute's value. `Ok(None)` means "no value" (null, empty string,
/// empty array or object), which clears the attribute.
pub fn normalize_value(attr: &'static Attribute, value: &Value) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single if dialect::WRAP_SINGLE_VALUE_IN_ARRAY => vec![single],
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "'{}' is multi-valued and must be an array",
                    attr.name
                )))
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item)? {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        let primaries = out
            .iter()
            .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!(
                "at most one value of '{}' may be primary",
                attr.name
            )));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    normalize_single(attr, value)
}

/// Validates one value of an attribute (for multi-valued attributes, one element).
pub fn normalize_single(attr: &'static Attribute, value: &Value) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.kind != AttrType::Complex {
        return normalize_simple(attr, value);
    }
    if dialect::WRAP_BARE_VALUE_IN_COMPLEX
        && !attr.multi_valued
        && !value.is_object()
        && attr.sub("value").is_some()
    {
        let mut wrapped = Map::new();
        wrapped.insert("value".to_string(), value.clone());
        return normalize_single(attr, &Value::Object(wrapped));
    }
    let Value::Object(fields) = value else {
        return Err(ScimError::invalid_value(format!(
            "'{}' must be an object",
            attr.name
        )));
    };
    let mut out = Map::new();
    for (key, v) in fields {
        let sub = attr.sub(key).ok_or_else(|| {
            ScimError::invalid_syntax(format!("'{key}' is not a sub-attribute of '{}'", attr.name))
        })?;
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = normalize_simple(sub, v)? {
            out.insert(sub.name.to_string(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn normalize_simple(attr: &Attribute, value: &Value) -> ScimResult<Option<Value>> {
    let wrong_type =
        |expected: &str| ScimError::invalid_value(format!("'{}' must be {expected}", attr.name));
    match attr.kind {
        AttrType::String | AttrType::Reference | AttrType::Binary => string_value(attr.name, value),
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(s) => dialect::boolean_from_string(s)
                .map(|b| Some(Value::Bool(b)))
                .ok_or_else(|| wrong_type("a boolean")),
            _ => Err(wrong_type("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() => Ok(Some(value.clone())),
            _ => Err(wrong_type("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(wrong_type("a number")),
        },
        AttrType::DateTime => match value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                Ok(Some(value.clone()))
            }
            _ => Err(wrong_type("an RFC 3339 dateTime string")),
        },
        AttrType::Complex => Err(wrong_type("a simple value")),
    }
}

/// The longest identifier-like string (`userName`, `externalId`, `displayName`), in
/// characters. Entra ID's and Okta's own limits are lower.
pub const MAX_IDENTIFIER_CHARS: usize = 256;
/// The longest value of any other string attribute, in characters.
pub const MAX_STRING_CHARS: usize = 2048;
/// The largest stored document (its attributes as JSON, group members aside), in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

fn max_chars(name: &str) -> usize {
    if ["userName", "externalId", "displayName"].contains(&name) {
        MAX_IDENTIFIER_CHARS
    } else {
        MAX_STRING_CHARS
    }
}

/// Refuses what no attribute can hold: control characters (NUL above all, which
/// PostgreSQL cannot store; tab, line feed and carriage return are text) and values past
/// the documented length.
pub fn check_text(name: &str, text: &str) -> ScimResult<()> {
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ScimError::invalid_value(format!(
            "'{name}' contains a control character"
        )));
    }
    let limit = max_chars(name);
    if text.chars().count() > limit {
        return Err(ScimError::invalid_value(format!(
            "'{name}' is longer than {limit} characters"
        )));
    }
    Ok(())
}

fn check_document_size(doc: &Document) -> ScimResult<()> {
    let size: usize = doc
        .iter()
        .filter(|(k, _)| k.as_str() != "members")
        .map(|(k, v)| k.len() + v.to_string().len())
        .sum();
    if size > MAX_DOCUMENT_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the resource is larger than {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    Ok(())
}

fn string_value(name: &str, value: &Value) -> ScimResult<Option<Value>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => {
            check_text(name, s)?;
            Ok(Some(value.clone()))
        }
        _ => Err(ScimError::invalid_value(format!(
            "'{name}' must be a string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_RESOURCE};
    use serde_json::json;

    #[test]
    fn canonicalises_names_and_checks_types() {
        let doc = normalize(
            &USER_RESOURCE,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "USERNAME": "bjensen",
                "id": "ignored",
                "Name": {"GivenName": "Barbara"},
                "active": "False",
                "emails": [{"value": "b@example.com", "primary": true}],
                ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42"}
            }),
        )
        .expect("valid");
        assert_eq!(doc["userName"], "bjensen");
        assert_eq!(doc["name"]["givenName"], "Barbara");
        assert_eq!(doc["active"], false);
        assert!(!doc.contains_key("id"));
        assert_eq!(doc[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "42");
    }

    #[test]
    fn refuses_unknown_attributes_and_wrong_types() {
        for body in [
            json!({"userName": "a", "favouriteColour": "blue"}),
            json!({"userName": "a", "name": {"nickname": "x"}}),
            json!({"userName": 7}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "emails": "not-a-list-of-objects"}),
            json!({"displayName": "no userName"}),
            json!(["not", "an", "object"]),
        ] {
            let err = normalize(&USER_RESOURCE, &body).expect_err(&body.to_string());
            assert_eq!(err.status, 400, "{body}");
        }
    }
}
