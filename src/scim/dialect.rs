//! Every deliberate deviation from RFC 7643/7644 that Rolegate accepts, in one place, so
//! that the leniency is explicit. Strict RFC input is always accepted too.
//!
//! The accepted deviations (the README's compatibility section lists the same):
//! 1. PATCH `op` in any case (`Add`, `Replace`, `Remove`) — Entra ID: [`patch_op_name`].
//! 2. Booleans sent as strings (`"True"`, `"False"`) — Entra ID: [`boolean_from_string`].
//! 3. Path-less `add`/`replace` whose keys are attribute paths (`"name.givenName"`) or
//!    extension-qualified names (`"urn:…:enterprise:2.0:User:employeeNumber"`) — Entra ID:
//!    each key is applied as a path (`patch::apply_without_path`).
//! 4. `add`/`replace` on `attr[filter].sub` with no matching value creates the value the
//!    filter's equalities describe (`emails[type eq "work"].value`) — Entra ID
//!    (`patch::apply_filtered`, [`CREATE_ON_FILTERED_ADD`]).
//! 5. `remove` on a multi-valued attribute with a `value` list removes just those values
//!    (`{"op":"Remove","path":"members","value":[{"value":"…"}]}`) — Entra ID.
//! 6. A single value for a multi-valued attribute is a one-element list:
//!    [`WRAP_SINGLE_VALUE_IN_ARRAY`].
//! 7. A bare value for a single-valued complex attribute with a `value` sub-attribute is
//!    that `value` (Entra ID's `manager`): [`WRAP_BARE_VALUE_IN_COMPLEX`].
//! 8. `schemas` lists that omit the core schema or add others (Microsoft's group schema
//!    URIs): [`ALLOW_MISSING_CORE_SCHEMA`].
//! 9. Empty strings clear an attribute, like `null` (`resource::normalize_value`).
//! 10. `password` is accepted and discarded — Okta: [`is_discarded_attribute`].
//! 11. Group members' `display` (Okta) is accepted and not stored (a read-only
//!     sub-attribute in the schema).
//! 12. A filter value written as a bare word (`externalId eq jyoung`, as Entra ID's
//!     documentation shows) is a string, unless it is `true`, `false`, `null`, a number or
//!     `and`/`or`/`not`: [`is_bare_string_value`].

/// Whether a bare word where a filter value belongs is taken as a string (deviation 12).
pub fn is_bare_string_value(word: &str) -> bool {
    !["and", "or", "not"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

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

/// `add`/`replace` on a filtered path with no match creates the value (deviation 4).
pub const CREATE_ON_FILTERED_ADD: bool = true;
