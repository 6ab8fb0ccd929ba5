//! The discovery documents (RFC 7644 §4): what this server supports, stated exactly.

use serde_json::{json, Value};

use super::schema::{ALL_RESOURCE_TYPES, ALL_SCHEMAS, SERVICE_PROVIDER_CONFIG_SCHEMA};

/// Limits advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_results: i64,
    pub default_page_size: i64,
    pub cursor_timeout_seconds: i64,
    pub bulk_max_operations: usize,
    pub bulk_max_payload_size: usize,
}

pub fn service_provider_config(base_url: &str, limits: Limits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/rolegate/rolegate#readme",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": limits.bulk_max_operations,
            "maxPayloadSize": limits.bulk_max_payload_size,
        },
        "filter": {"supported": true, "maxResults": limits.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_page_size,
            "maxPageSize": limits.max_results,
            "cursorTimeout": limits.cursor_timeout_seconds,
        },
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A connector token created with `rolegate token create`, sent as 'Authorization: Bearer <token>'.",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        }
    })
}

pub fn resource_types(base_url: &str) -> Vec<Value> {
    ALL_RESOURCE_TYPES
        .iter()
        .map(|r| r.to_json(base_url))
        .collect()
}

pub fn resource_type(base_url: &str, id: &str) -> Option<Value> {
    ALL_RESOURCE_TYPES
        .iter()
        .find(|r| r.name == id)
        .map(|r| r.to_json(base_url))
}

pub fn schemas(base_url: &str) -> Vec<Value> {
    ALL_SCHEMAS.iter().map(|s| s.to_json(base_url)).collect()
}

pub fn schema(base_url: &str, id: &str) -> Option<Value> {
    ALL_SCHEMAS
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.to_json(base_url))
}
