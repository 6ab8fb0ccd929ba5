//! SCIM 2.0 wire types and rules (RFC 7643, RFC 7644): schemas, errors, filters, PATCH,
//! projection and the accepted vendor dialects. Free of HTTP and database concerns.

pub mod dialect;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimResult, ScimType};

use serde_json::{json, Value};

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The weak ETag for a resource version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match` / `If-None-Match` header names this version (weak comparison:
/// `W/"3"` and `"3"` match; `*` matches anything).
pub fn etag_matches(header: &str, version: i64) -> bool {
    let current = etag(version);
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|t| t.trim() == "*" || strip(t) == strip(&current))
}
