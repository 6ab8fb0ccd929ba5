//! Every deliberate deviation from RFC 7643/7644 that Rolegate accepts, in one place, so
//! that the leniency is explicit. Strict RFC input is always accepted too.

/// Booleans sent as strings (`"True"`, `"false"`), as Microsoft Entra ID does.
pub fn boolean_from_string(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A single value sent for a multi-valued attribute is taken as a one-element array.
pub const WRAP_SINGLE_VALUE_IN_ARRAY: bool = true;

/// Bodies whose `schemas` list omits the core schema URN (or lists extra URNs, such as
/// Microsoft's) are accepted: the endpoint already determines the resource type.
pub const ALLOW_MISSING_CORE_SCHEMA: bool = true;

/// PATCH `op` values compare case-insensitively (`Add`, `Replace`, `Remove`).
pub fn patch_op_name(op: &str) -> String {
    op.to_ascii_lowercase()
}

/// A bare value for a single-valued complex attribute that has a `value` sub-attribute is taken as
/// `{"value": …}`: Entra ID sends the enterprise `manager` as a plain id.
pub const WRAP_BARE_VALUE_IN_COMPLEX: bool = true;

/// Attributes accepted and discarded: Okta may push `password`; Rolegate never stores
/// passwords (users authenticate at their identity provider).
pub fn is_discarded_attribute(name: &str) -> bool {
    name.eq_ignore_ascii_case("password")
}
