//! The claim mapper: turns the claims of a validated ID token (or userinfo response) into
//! the attributes of a user and the identity provider's groups they are in.
//!
//! Claim paths are dotted (`realm_access.roles`), but a key that itself contains dots —
//! namespaced claims such as `https://example.com/groups` — is matched whole first. A claim
//! holding one string and a claim holding an array of strings (or numbers) are the same to
//! the mapper. Entra ID's group overage (`_claim_names` / `_claim_sources`, `hasgroups`),
//! where the groups are left out of the token, is an error, never "no groups".

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one provider's claims map onto a user. Paths are tried in order; the first present
/// wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default = "default_user_name")]
    pub user_name: Vec<String>,
    #[serde(default = "default_display_name")]
    pub display_name: Vec<String>,
    #[serde(default = "default_given_name")]
    pub given_name: Vec<String>,
    #[serde(default = "default_family_name")]
    pub family_name: Vec<String>,
    #[serde(default = "default_email")]
    pub email: Vec<String>,
    #[serde(default = "default_email_verified")]
    pub email_verified: Vec<String>,
    #[serde(default)]
    pub external_id: Vec<String>,
    /// Where the IdP groups come from; `null` takes no groups from the claims.
    #[serde(default = "default_groups")]
    pub groups: Option<GroupRule>,
}

fn paths(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
fn default_user_name() -> Vec<String> {
    paths(&["preferred_username", "email", "sub"])
}
fn default_display_name() -> Vec<String> {
    paths(&["name"])
}
fn default_given_name() -> Vec<String> {
    paths(&["given_name"])
}
fn default_family_name() -> Vec<String> {
    paths(&["family_name"])
}
fn default_email() -> Vec<String> {
    paths(&["email"])
}
fn default_groups() -> Option<GroupRule> {
    Some(GroupRule::default())
}
fn default_email_verified() -> Vec<String> {
    paths(&["email_verified"])
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            user_name: default_user_name(),
            display_name: default_display_name(),
            given_name: default_given_name(),
            family_name: default_family_name(),
            email: default_email(),
            email_verified: default_email_verified(),
            external_id: Vec::new(),
            groups: Some(GroupRule::default()),
        }
    }
}

/// Which claim carries the IdP groups, and which of its values count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    #[serde(default = "default_groups_claim")]
    pub claim: String,
    /// Only values starting with this prefix count.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Remove the prefix from the values that have it.
    #[serde(default)]
    pub strip_prefix: bool,
    /// Only values matching this regular expression (whole value) count.
    #[serde(default)]
    pub pattern: Option<String>,
}

fn default_groups_claim() -> String {
    "groups".into()
}

impl Default for GroupRule {
    fn default() -> Self {
        GroupRule {
            claim: default_groups_claim(),
            prefix: None,
            strip_prefix: false,
            pattern: None,
        }
    }
}

/// A user as the claims describe them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedIdentity {
    pub subject: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    /// Only `true` when the provider says so: an absent or malformed claim is unverified.
    pub email_verified: bool,
    pub external_id: Option<String>,
    /// `None` when the mapping takes no groups; otherwise the (deduplicated, ordered) values.
    pub groups: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the token has no subject (`sub`)")]
    MissingSubject,
    #[error("none of the claims {0:?} holds a user name")]
    MissingUserName(Vec<String>),
    #[error(
        "the identity provider left the groups out of the token (group overage{}); \
         configure it to emit fewer groups (e.g. only groups assigned to the application) \
         or groups as application roles",
        .0.as_deref().map(|e| format!(", to be fetched from {e}")).unwrap_or_default()
    )]
    GroupOverage(Option<String>),
    #[error("the group pattern is not a valid regular expression: {0}")]
    InvalidPattern(String),
}

/// The value at a dotted path. At each level a key equal to the whole remaining path wins,
/// then keys equal to ever longer dotted prefixes of it.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(path) {
        return Some(found);
    }
    for (i, _) in path.match_indices('.') {
        if let Some(inner) = object.get(&path[..i]) {
            if let Some(found) = lookup(inner, &path[i + 1..]) {
                return Some(found);
            }
        }
    }
    None
}

/// A claim as a list of strings: a string is one value, an array gives its string and
/// number items; anything else gives nothing. Blank values are dropped.
pub fn strings(value: &Value) -> Vec<String> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

fn first_string(claims: &Value, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .filter_map(|p| lookup(claims, p))
        .find_map(|v| strings(v).into_iter().next())
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        // Some providers send booleans as strings.
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Whether the token says its groups were left out, and where they can be fetched.
fn overage(claims: &Value, claim: &str) -> Option<Option<String>> {
    let source = claims
        .get("_claim_names")
        .and_then(|names| names.get(claim))
        .and_then(Value::as_str);
    if let Some(source) = source {
        let endpoint = claims
            .get("_claim_sources")
            .and_then(|s| s.get(source))
            .and_then(|s| s.get("endpoint"))
            .and_then(Value::as_str)
            .map(str::to_string);
        return Some(endpoint);
    }
    claims.get("hasgroups").filter(|v| truthy(v)).map(|_| None)
}

impl GroupRule {
    /// Checks the rule once, when it is configured.
    pub fn compile(&self) -> Result<Option<Regex>, ClaimError> {
        self.pattern
            .as_deref()
            .map(|p| {
                Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| ClaimError::InvalidPattern(e.to_string()))
            })
            .transpose()
    }

    /// The IdP groups the claims name, filtered by the rule, deduplicated, sorted.
    pub fn apply(&self, claims: &Value) -> Result<Vec<String>, ClaimError> {
        let pattern = self.compile()?;
        let Some(value) = lookup(claims, &self.claim) else {
            return match overage(claims, &self.claim) {
                Some(endpoint) => Err(ClaimError::GroupOverage(endpoint)),
                None => Ok(Vec::new()),
            };
        };
        let mut groups: Vec<String> = strings(value)
            .into_iter()
            .filter_map(|g| match &self.prefix {
                Some(prefix) => g.strip_prefix(prefix.as_str()).map(|rest| {
                    if self.strip_prefix {
                        rest.to_string()
                    } else {
                        g.clone()
                    }
                }),
                None => Some(g),
            })
            .filter(|g| !g.is_empty())
            .filter(|g| pattern.as_ref().is_none_or(|p| p.is_match(g)))
            .collect();
        groups.sort();
        groups.dedup();
        Ok(groups)
    }
}

/// Maps validated claims onto a user and their IdP groups.
pub fn map(claims: &Value, mapping: &ClaimMapping) -> Result<MappedIdentity, ClaimError> {
    let subject = claims
        .get("sub")
        .and_then(|s| strings(s).into_iter().next())
        .ok_or(ClaimError::MissingSubject)?;
    let user_name = first_string(claims, &mapping.user_name)
        .ok_or_else(|| ClaimError::MissingUserName(mapping.user_name.clone()))?;
    let groups = mapping
        .groups
        .as_ref()
        .map(|rule| rule.apply(claims))
        .transpose()?;
    Ok(MappedIdentity {
        subject,
        user_name,
        display_name: first_string(claims, &mapping.display_name),
        given_name: first_string(claims, &mapping.given_name),
        family_name: first_string(claims, &mapping.family_name),
        email: first_string(claims, &mapping.email),
        email_verified: mapping
            .email_verified
            .iter()
            .filter_map(|p| lookup(claims, p))
            .next()
            .is_some_and(truthy),
        external_id: first_string(claims, &mapping.external_id),
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn dotted_paths_and_namespaced_keys() {
        let claims = json!({
            "realm_access": {"roles": ["admin", "user"]},
            "https://example.com/groups": ["a", "b"],
            "a": {"b.c": {"d": 1}},
        });
        assert_eq!(
            lookup(&claims, "realm_access.roles"),
            Some(&json!(["admin", "user"]))
        );
        assert_eq!(
            lookup(&claims, "https://example.com/groups"),
            Some(&json!(["a", "b"]))
        );
        assert_eq!(lookup(&claims, "a.b.c.d"), Some(&json!(1)));
        assert_eq!(lookup(&claims, "realm_access.missing"), None);
        assert_eq!(lookup(&claims, ""), None);
    }

    #[test]
    fn strings_and_arrays_are_normalised() {
        assert_eq!(strings(&json!("x")), vec!["x"]);
        assert_eq!(
            strings(&json!(["x", 7, null, {"a": 1}, " ", " y "])),
            vec!["x", "7", "y"]
        );
        assert!(strings(&json!({"a": 1})).is_empty());
        assert!(strings(&json!(true)).is_empty());
    }

    #[test]
    fn maps_a_typical_token() {
        let claims = json!({
            "sub": "248289761001", "preferred_username": "jane", "name": "Jane Doe",
            "email": "jane@example.com", "email_verified": true,
            "groups": ["rg-Marketing", "rg-Sales", "Other", "rg-Sales"], "oid": "00aa",
        });
        let mapping = ClaimMapping {
            external_id: vec!["oid".into()],
            groups: Some(GroupRule {
                claim: "groups".into(),
                prefix: Some("rg-".into()),
                strip_prefix: true,
                pattern: None,
            }),
            ..ClaimMapping::default()
        };
        let user = map(&claims, &mapping).expect("maps");
        assert_eq!(user.subject, "248289761001");
        assert_eq!(user.user_name, "jane");
        assert_eq!(user.display_name.as_deref(), Some("Jane Doe"));
        assert!(user.email_verified);
        assert_eq!(user.external_id.as_deref(), Some("00aa"));
        assert_eq!(
            user.groups,
            Some(vec!["Marketing".to_string(), "Sales".to_string()])
        );
    }

    #[test]
    fn email_is_verified_only_when_the_provider_says_so() {
        for (claim, verified) in [
            (json!(true), true),
            (json!("true"), true),
            (json!(false), false),
            (json!("yes"), false),
            (json!(1), false),
            (Value::Null, false),
        ] {
            let claims = json!({"sub": "s", "email": "a@b.c", "email_verified": claim});
            assert_eq!(
                map(&claims, &ClaimMapping::default())
                    .expect("maps")
                    .email_verified,
                verified
            );
        }
        let claims = json!({"sub": "s", "email": "a@b.c"});
        assert!(
            !map(&claims, &ClaimMapping::default())
                .expect("maps")
                .email_verified
        );
    }

    #[test]
    fn group_overage_is_reported_not_ignored() {
        let claims = json!({
            "sub": "s", "preferred_username": "u",
            "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}},
        });
        let err = map(&claims, &ClaimMapping::default()).expect_err("overage");
        assert_eq!(
            err,
            ClaimError::GroupOverage(Some(
                "https://graph.microsoft.com/v1.0/users/x/getMemberObjects".into()
            ))
        );
        assert!(err.to_string().contains("group overage"));
        let implicit = json!({"sub": "s", "preferred_username": "u", "hasgroups": true});
        assert_eq!(
            map(&implicit, &ClaimMapping::default()),
            Err(ClaimError::GroupOverage(None))
        );
        // No groups claim and no overage marker: the user is in no group.
        let none = json!({"sub": "s", "preferred_username": "u"});
        assert_eq!(
            map(&none, &ClaimMapping::default()).expect("maps").groups,
            Some(vec![])
        );
    }

    #[test]
    fn patterns_filter_whole_values() {
        let rule = GroupRule {
            pattern: Some("team-[a-z]+".into()),
            ..GroupRule::default()
        };
        let claims = json!({"groups": ["team-red", "team-red-x", "xteam-blue", "team-blue"]});
        assert_eq!(
            rule.apply(&claims).expect("applies"),
            vec!["team-blue", "team-red"]
        );
        let bad = GroupRule {
            pattern: Some("(".into()),
            ..GroupRule::default()
        };
        assert!(matches!(bad.compile(), Err(ClaimError::InvalidPattern(_))));
    }

    #[test]
    fn missing_subject_or_user_name_is_an_error() {
        assert_eq!(
            map(&json!({"email": "a@b.c"}), &ClaimMapping::default()),
            Err(ClaimError::MissingSubject)
        );
        let mapping = ClaimMapping {
            user_name: vec!["upn".into()],
            ..ClaimMapping::default()
        };
        assert_eq!(
            map(&json!({"sub": "s"}), &mapping),
            Err(ClaimError::MissingUserName(vec!["upn".into()]))
        );
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z.]{0,6}".prop_map(Value::String),
        ]
    }

    fn claims() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,3}(\\.[a-z]{1,2})?", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever the claims, mapping never panics, and groups come out sorted, unique,
        /// non-empty and matching the rule.
        #[test]
        fn mapping_is_total_and_groups_are_clean(claims in claims(), prefix in proptest::option::of("[a-z]{1,2}")) {
            let rule = GroupRule { claim: "g".into(), prefix: prefix.clone(), strip_prefix: false, pattern: None };
            let mut wrapped = serde_json::Map::new();
            wrapped.insert("sub".into(), json!("s"));
            wrapped.insert("g".into(), claims.clone());
            wrapped.insert("c".into(), claims);
            let wrapped = Value::Object(wrapped);
            let mapping = ClaimMapping { user_name: vec!["c".into(), "sub".into()], groups: Some(rule), ..ClaimMapping::default() };
            let user = map(&wrapped, &mapping).expect("sub is there");
            let groups = user.groups.expect("groups");
            let mut sorted = groups.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&groups, &sorted);
            for g in &groups {
                prop_assert!(!g.is_empty());
                if let Some(p) = &prefix { prop_assert!(g.starts_with(p.as_str())); }
            }
        }

        /// A key holding a value is found by its own path, dotted or not.
        #[test]
        fn a_path_finds_the_value_stored_under_it(key in "[a-z]{1,3}(\\.[a-z]{1,3}){0,2}", value in leaf()) {
            let mut object = serde_json::Map::new();
            object.insert(key.clone(), value.clone());
            let object = Value::Object(object);
            prop_assert_eq!(lookup(&object, &key), Some(&value));
        }
    }
}
