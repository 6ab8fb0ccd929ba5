//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a rendered resource.

use serde_json::{Map, Value};

use super::error::ScimResult;
use super::filter::{parse_attr_path, AttrPath};
use super::schema::{Attribute, ResourceType, Returned};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Parses the comma-separated query parameters. Unknown names are allowed (they select
    /// nothing), as the RFC does not make them an error.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> ScimResult<Self> {
        let list = |s: Option<&str>| -> ScimResult<Vec<AttrPath>> {
            s.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_attr_path)
                .collect()
        };
        Ok(Projection {
            attributes: list(attributes)?,
            excluded: list(excluded)?,
        })
    }

    /// Whether the response needs attribute `name` (of the core schema) at all; lets the
    /// caller skip loading data nobody asked for.
    pub fn wants(&self, resource_type: &ResourceType, name: &str) -> bool {
        let attr = resource_type.schema.attribute(name);
        if attr.is_some_and(|a| a.returned == Returned::Always) {
            return true;
        }
        if !self.attributes.is_empty() {
            return self
                .attributes
                .iter()
                .any(|p| p.urn_matches(resource_type.schema.id) && p.is(name));
        }
        if attr.is_some_and(|a| a.returned == Returned::Request) {
            return false;
        }
        !self
            .excluded
            .iter()
            .any(|p| p.urn_matches(resource_type.schema.id) && p.is(name) && p.sub.is_none())
    }

    pub fn apply(&self, resource_type: &ResourceType, resource: Value) -> Value {
        let Value::Object(fields) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (key, value) in fields {
            if matches!(key.as_str(), "schemas" | "id") {
                out.insert(key, value);
                continue;
            }
            if let Some(extension) = resource_type.extension(&key) {
                if let Value::Object(ext_fields) = value {
                    let kept = self.filter_object(extension.id, extension.attributes, ext_fields);
                    if !kept.is_empty() {
                        out.insert(key, Value::Object(kept));
                    }
                }
                continue;
            }
            let attr = resource_type.schema.attribute(&key);
            if let Some(v) = self.project_attribute(resource_type.schema.id, &key, attr, value) {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }

    fn filter_object(
        &self,
        urn: &str,
        attributes: &'static [Attribute],
        fields: Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, value) in fields {
            let attr = super::schema::find(attributes, &key);
            if let Some(v) = self.project_attribute(urn, &key, attr, value) {
                out.insert(key, v);
            }
        }
        out
    }

    fn project_attribute(
        &self,
        urn: &str,
        name: &str,
        attr: Option<&'static Attribute>,
        value: Value,
    ) -> Option<Value> {
        if attr.is_some_and(|a| a.returned == Returned::Always) {
            return Some(value);
        }
        let selects = |p: &AttrPath| p.urn_matches(urn) && p.is(name);
        if !self.attributes.is_empty() {
            let chosen: Vec<&AttrPath> = self.attributes.iter().filter(|p| selects(p)).collect();
            if chosen.is_empty() {
                return None;
            }
            if chosen.iter().any(|p| p.sub.is_none()) {
                return Some(value);
            }
            let subs: Vec<&str> = chosen.iter().filter_map(|p| p.sub.as_deref()).collect();
            return keep_subs(value, |k| subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
        }
        if attr.is_some_and(|a| a.returned == Returned::Request) {
            return None;
        }
        let excluded: Vec<&AttrPath> = self.excluded.iter().filter(|p| selects(p)).collect();
        if excluded.iter().any(|p| p.sub.is_none()) {
            return None;
        }
        if excluded.is_empty() {
            return Some(value);
        }
        let subs: Vec<&str> = excluded.iter().filter_map(|p| p.sub.as_deref()).collect();
        keep_subs(value, |k| !subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
    }
}

fn keep_subs(value: Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    let filter = |v: Value| match v {
        Value::Object(o) => {
            let kept: Map<String, Value> = o.into_iter().filter(|(k, _)| keep(k)).collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other),
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.into_iter().filter_map(filter).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => filter(other),
    }
}

impl AttrPath {
    /// A path without a URN belongs to the core schema; with one, it must name `urn`.
    pub fn urn_matches(&self, urn: &str) -> bool {
        self.urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(urn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_RESOURCE};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["x"], "id": "1", "userName": "a", "title": "t",
            "name": {"givenName": "g", "familyName": "f"},
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "7", "department": "d"},
            "meta": {"resourceType": "User"}
        })
    }

    #[test]
    fn attributes_keep_only_requested_plus_always() {
        let p = Projection::parse(Some("name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).expect("parses");
        let out = p.apply(&USER_RESOURCE, user());
        assert_eq!(
            out,
            json!({"schemas": ["x"], "id": "1", "name": {"givenName": "g"},
            ENTERPRISE_USER_SCHEMA: {"department": "d"}})
        );
    }

    #[test]
    fn excluded_attributes_drop_them() {
        let p = Projection::parse(None, Some("title,name.familyName,meta")).expect("parses");
        let out = p.apply(&USER_RESOURCE, user());
        assert!(out.get("title").is_none() && out.get("meta").is_none());
        assert_eq!(out["name"], json!({"givenName": "g"}));
        assert!(!p.wants(&USER_RESOURCE, "title"));
        assert!(p.wants(&USER_RESOURCE, "groups"));
    }
}
