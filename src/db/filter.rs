//! Translation of a SCIM filter AST into a SQL condition with bound parameters. Attribute
//! names and operators come from the AST's closed vocabulary; every value is a parameter.
//! Attributes kept in columns use them (and their indexes); the rest are read from the
//! `attributes` JSONB document.

use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{ResourceType, GROUP_RESOURCE, USER_RESOURCE};
use crate::scim::{ScimError, ScimResult};

/// A bound parameter, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Bool(bool),
}

/// Collects bound parameters while SQL text is generated; `push` returns the placeholder.
#[derive(Debug, Default, Clone)]
pub struct SqlBuilder {
    pub binds: Vec<Bind>,
}

impl SqlBuilder {
    pub fn push(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text compared case-insensitively (the column has a `rolegate_fold()` index where it
    /// matters).
    CaseInsensitiveText,
    ExactText,
    Bool,
    Uuid,
    Timestamp,
}

/// How one resource type's attributes map to SQL.
#[derive(Debug)]
pub struct ColumnMap {
    pub table: &'static str,
    /// (SCIM attribute path in lower case, column, kind, nullable).
    pub columns: &'static [(&'static str, &'static str, ColumnKind, bool)],
    /// Multi-valued attributes kept in a membership table rather than the document:
    /// (attribute, SQL that selects the member id for the current row).
    pub member_table: Option<(&'static str, &'static str)>,
    /// A condition every row SCIM sees satisfies (groups from OIDC claims are not SCIM's).
    pub visible: Option<&'static str>,
    /// The resource type: its schemas say which attributes compare case-exactly and which
    /// extensions the document holds.
    pub resource: &'static ResourceType,
}

pub const USER_COLUMNS: ColumnMap = ColumnMap {
    table: "users",
    columns: &[
        ("id", "users.id", ColumnKind::Uuid, false),
        (
            "username",
            "users.user_name",
            ColumnKind::CaseInsensitiveText,
            false,
        ),
        (
            "externalid",
            "users.external_id",
            ColumnKind::ExactText,
            true,
        ),
        (
            "displayname",
            "users.display_name",
            ColumnKind::CaseInsensitiveText,
            true,
        ),
        ("active", "users.active", ColumnKind::Bool, true),
        (
            "meta.created",
            "users.created_at",
            ColumnKind::Timestamp,
            false,
        ),
        (
            "meta.lastmodified",
            "users.updated_at",
            ColumnKind::Timestamp,
            false,
        ),
    ],
    member_table: None,
    visible: None,
    resource: &USER_RESOURCE,
};

pub const GROUP_COLUMNS: ColumnMap = ColumnMap {
    table: "groups",
    columns: &[
        ("id", "groups.id", ColumnKind::Uuid, false),
        ("externalid", "groups.external_id", ColumnKind::ExactText, true),
        ("displayname", "groups.display_name", ColumnKind::CaseInsensitiveText, false),
        ("meta.created", "groups.created_at", ColumnKind::Timestamp, false),
        ("meta.lastmodified", "groups.updated_at", ColumnKind::Timestamp, false),
    ],
    visible: Some("groups.oidc_provider_id IS NULL"),
    member_table: Some((
        "members",
        "SELECT m.user_id FROM group_members m WHERE m.tenant_id = groups.tenant_id AND m.group_id = groups.id",
    )),
    resource: &GROUP_RESOURCE,
};

/// Translates a filter into a SQL condition, its parameters appended to `out`.
pub fn translate(filter: &Filter, map: &ColumnMap, out: &mut SqlBuilder) -> ScimResult<String> {
    condition(filter, map, out)
}

fn condition(filter: &Filter, map: &ColumnMap, out: &mut SqlBuilder) -> ScimResult<String> {
    Ok(match filter {
        Filter::And(a, b) => format!(
            "({} AND {})",
            condition(a, map, out)?,
            condition(b, map, out)?
        ),
        Filter::Or(a, b) => format!(
            "({} OR {})",
            condition(a, map, out)?,
            condition(b, map, out)?
        ),
        Filter::Not(inner) => format!("(NOT COALESCE({}, FALSE))", condition(inner, map, out)?),
        Filter::Present(path) => present(path, map, out)?,
        Filter::Compare(path, op, value) => compare(path, *op, value, map, out)?,
        Filter::ValuePath(path, inner) => value_path(path, inner, map, out)?,
    })
}

pub(crate) fn column_for<'m>(
    path: &AttrPath,
    map: &'m ColumnMap,
) -> Option<(&'m str, ColumnKind, bool)> {
    if path.urn.as_deref().is_some_and(|u| !is_core_urn(u)) {
        return None;
    }
    let key = match &path.sub {
        Some(sub) => format!("{}.{}", path.name, sub).to_ascii_lowercase(),
        None => path.name.to_ascii_lowercase(),
    };
    map.columns
        .iter()
        .find(|(name, _, _, _)| *name == key)
        .map(|(_, col, kind, nullable)| (*col, *kind, *nullable))
}

fn is_core_urn(urn: &str) -> bool {
    urn.to_ascii_lowercase()
        .starts_with("urn:ietf:params:scim:schemas:core:2.0:")
}

fn is_member_path<'m>(path: &AttrPath, map: &'m ColumnMap) -> Option<&'m str> {
    let (name, select) = map.member_table?;
    (path.name.eq_ignore_ascii_case(name) && path.urn.as_deref().is_none_or(is_core_urn))
        .then_some(select)
}

/// A jsonpath (lax, so arrays are unwrapped) reaching the attribute itself, ignoring any
/// sub-attribute of the path.
pub(crate) fn json_path_to(path: &AttrPath, map: &ColumnMap) -> ScimResult<String> {
    let mut p = String::from("lax $");
    if let Some(urn) = &path.urn {
        if !is_core_urn(urn) {
            let ext = map
                .resource
                .extension(urn)
                .map(|e| e.id)
                .ok_or_else(|| ScimError::invalid_filter(format!("unknown schema '{urn}'")))?;
            p.push_str(&format!(".\"{ext}\""));
        }
    }
    p.push_str(&format!(".\"{}\"", canonical_name(&path.name)));
    Ok(p)
}

/// A jsonpath reaching the values a filter on `path` compares.
fn json_path(path: &AttrPath, map: &ColumnMap) -> ScimResult<String> {
    let mut p = json_path_to(path, map)?;
    if let Some(sub) = &path.sub {
        p.push_str(&format!(".\"{}\"", canonical_name(sub)));
    } else if is_complex(path) {
        // A complex attribute compared as a whole compares its `value` (RFC 7644 §3.4.2.2).
        p.push_str(".\"value\"");
    }
    Ok(p)
}

fn is_complex(path: &AttrPath) -> bool {
    use crate::scim::schema::{AttrType, ALL_SCHEMAS};
    ALL_SCHEMAS.iter().any(|s| {
        path.urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(s.id))
            && s.attribute(&path.name)
                .is_some_and(|a| a.kind == AttrType::Complex)
    })
}

/// Attribute names in the AST keep the client's case; documents store the schema's.
pub(crate) fn canonical_name(name: &str) -> String {
    use crate::scim::schema::{find, ALL_SCHEMAS};
    for schema in ALL_SCHEMAS {
        if let Some(a) = find(schema.attributes, name) {
            return a.name.to_string();
        }
        for a in schema.attributes {
            if let Some(s) = find(a.sub_attributes, name) {
                return s.name.to_string();
            }
        }
    }
    name.to_string()
}

fn is_case_exact(path: &AttrPath, map: &ColumnMap) -> bool {
    map.resource
        .case_exact(path.urn.as_deref(), &path.name, path.sub.as_deref())
}

fn present(path: &AttrPath, map: &ColumnMap, out: &mut SqlBuilder) -> ScimResult<String> {
    if let Some(select) = is_member_path(path, map) {
        return Ok(format!("EXISTS ({select})"));
    }
    if let Some((col, kind, _)) = column_for(path, map) {
        return Ok(match kind {
            ColumnKind::CaseInsensitiveText | ColumnKind::ExactText => {
                format!("({col} IS NOT NULL AND {col} <> '')")
            }
            _ => format!("({col} IS NOT NULL)"),
        });
    }
    // Presence looks at the attribute itself (a complex value is present when it has any
    // sub-attribute), not at its `value`.
    let mut reach = json_path_to(path, map)?;
    if let Some(sub) = &path.sub {
        reach.push_str(&format!(".\"{}\"", canonical_name(sub)));
    }
    let p = out.push(Bind::Text(reach));
    Ok(format!(
        "EXISTS (SELECT 1 FROM jsonb_path_query({}.attributes, {p}::jsonpath) v \
         WHERE v <> 'null'::jsonb AND v <> '\"\"'::jsonb AND v <> '[]'::jsonb AND v <> '{{}}'::jsonb)",
        map.table
    ))
}

fn like_pattern(op: CompareOp, s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        CompareOp::Ew => format!("%{escaped}"),
        _ => escaped,
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "LIKE",
    }
}

/// Compares a text expression with a string value, both case-folded when `fold` is set
/// (the value here, with the same folding as the database's `rolegate_fold`).
fn text_compare(expr: &str, op: CompareOp, s: &str, fold: bool, out: &mut SqlBuilder) -> String {
    let s = if fold {
        crate::casefold::fold(s)
    } else {
        s.into()
    };
    let value = match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => like_pattern(op, &s),
        _ => s.into_owned(),
    };
    let p = out.push(Bind::Text(value));
    let lhs = if fold {
        format!("rolegate_fold({expr})")
    } else {
        expr.to_string()
    };
    // Everything compares in the C collation: results do not depend on the database's
    // locale, and the expression indexes (declared COLLATE "C") apply.
    format!("({lhs} COLLATE \"C\" {} {p})", sql_op(op))
}

fn compare(
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    map: &ColumnMap,
    out: &mut SqlBuilder,
) -> ScimResult<String> {
    if let Some(select) = is_member_path(path, map) {
        if path
            .sub
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case("value"))
        {
            return Err(ScimError::invalid_filter(format!(
                "'{path}' cannot be filtered on"
            )));
        }
        return member_compare(select, op, value, out);
    }
    if let Some((col, kind, _)) = column_for(path, map) {
        return column_compare(col, kind, path, op, value, out);
    }
    let p = out.push(Bind::Text(json_path(path, map)?));
    let element = "v";
    let test = match value {
        CompValue::Null => {
            return Ok(match op {
                CompareOp::Eq => format!("(NOT {})", present(path, map, out)?),
                CompareOp::Ne => present(path, map, out)?,
                _ => return Err(invalid_operator(path, op, "null")),
            })
        }
        CompValue::Bool(b) => match op {
            CompareOp::Eq | CompareOp::Ne => {
                let b = out.push(Bind::Bool(*b));
                format!("{element} = to_jsonb({b}::boolean)")
            }
            _ => return Err(invalid_operator(path, op, "a boolean")),
        },
        CompValue::Number(n) => {
            if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                return Err(invalid_operator(path, op, "a number"));
            }
            let n = out.push(Bind::Text(n.to_string()));
            let cmp = if op == CompareOp::Ne { "=" } else { sql_op(op) };
            format!("(jsonb_typeof({element}) = 'number' AND ({element} #>> '{{}}')::numeric {cmp} {n}::numeric)")
        }
        CompValue::String(s) => {
            let inner_op = if op == CompareOp::Ne {
                CompareOp::Eq
            } else {
                op
            };
            let fold = !is_case_exact(path, map);
            format!(
                "(jsonb_typeof({element}) = 'string' AND {})",
                text_compare(&format!("({element} #>> '{{}}')"), inner_op, s, fold, out)
            )
        }
    };
    let mut exists = format!(
        "EXISTS (SELECT 1 FROM jsonb_path_query({}.attributes, {p}::jsonpath) {element} WHERE {test})",
        map.table
    );
    if let (
        CompValue::String(literal),
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew,
    ) = (value, op)
    {
        if let Some(pre) = prefilter(literal, map, out) {
            exists = format!("({pre} AND {exists})");
        }
    }
    // `ne` holds when no value equals (so it also holds when the attribute is absent).
    Ok(if op == CompareOp::Ne {
        format!("(NOT {exists})")
    } else {
        exists
    })
}

fn invalid_operator(path: &AttrPath, op: CompareOp, what: &str) -> ScimError {
    ScimError::invalid_filter(format!(
        "'{}' cannot compare '{path}' with {what}",
        op.as_str()
    ))
}

fn column_compare(
    col: &str,
    kind: ColumnKind,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    out: &mut SqlBuilder,
) -> ScimResult<String> {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match (kind, value) {
        (_, CompValue::Null) => match op {
            CompareOp::Eq => Ok(format!("({col} IS NULL)")),
            CompareOp::Ne => Ok(format!("({col} IS NOT NULL)")),
            _ => Err(invalid_operator(path, op, "null")),
        },
        (ColumnKind::CaseInsensitiveText | ColumnKind::ExactText, CompValue::String(s)) => {
            let fold = kind == ColumnKind::CaseInsensitiveText;
            let cond = text_compare(col, op, s, fold, out);
            Ok(if op == CompareOp::Ne {
                format!("({col} IS NULL OR {cond})")
            } else {
                cond
            })
        }
        (ColumnKind::Bool, CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let p = out.push(Bind::Bool(*b));
            // `ne` also holds where the value is absent.
            Ok(if op == CompareOp::Ne {
                format!("({col} IS DISTINCT FROM {p})")
            } else {
                format!("({col} = {p})")
            })
        }
        (ColumnKind::Uuid, CompValue::String(s)) if !ordering && !substring => {
            // Ids are compared as text so that a malformed id simply matches nothing.
            let p = out.push(Bind::Text(s.clone()));
            Ok(format!("({col}::text {} {p})", sql_op(op)))
        }
        (ColumnKind::Uuid, CompValue::String(s)) => {
            Ok(text_compare(&format!("{col}::text"), op, s, true, out))
        }
        (ColumnKind::Timestamp, CompValue::String(s)) if !substring => {
            let at = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| {
                ScimError::invalid_filter(format!("'{s}' is not an RFC 3339 dateTime"))
            })?;
            let p = out.push(Bind::Text(at.to_rfc3339()));
            Ok(format!("({col} {} {p}::timestamptz)", sql_op(op)))
        }
        _ => Err(invalid_operator(
            path,
            op,
            match value {
                CompValue::Bool(_) => "a boolean",
                CompValue::Number(_) => "a number",
                _ => "a string",
            },
        )),
    }
}

fn member_compare(
    select: &str,
    op: CompareOp,
    value: &CompValue,
    out: &mut SqlBuilder,
) -> ScimResult<String> {
    let CompValue::String(s) = value else {
        return Err(ScimError::invalid_filter(
            "members are compared with a string id",
        ));
    };
    let positive = if op == CompareOp::Ne {
        CompareOp::Eq
    } else {
        op
    };
    let cond = match (positive, uuid::Uuid::parse_str(s)) {
        // Equality on a well-formed id uses the membership primary key.
        (CompareOp::Eq, Ok(id)) => {
            let p = out.push(Bind::Text(id.to_string()));
            format!("m.user_id = {p}::uuid")
        }
        _ => text_compare(
            "m.user_id::text",
            positive,
            &s.to_ascii_lowercase(),
            false,
            out,
        ),
    };
    let exists = format!("EXISTS ({select} AND {cond})");
    Ok(if op == CompareOp::Ne {
        format!("(NOT {exists})")
    } else {
        exists
    })
}

fn value_path(
    path: &AttrPath,
    inner: &Filter,
    map: &ColumnMap,
    out: &mut SqlBuilder,
) -> ScimResult<String> {
    if let Some(select) = is_member_path(path, map) {
        // Members have only `value` (and `type`, always "User").
        let _ = select;
        return condition(&rewrite_member_filter(inner)?, map, out);
    }
    if column_for(path, map).is_some() {
        return Err(ScimError::invalid_filter(format!(
            "'{path}' is not multi-valued"
        )));
    }
    // Each element of the array is tested with the inner filter, its attributes being the
    // element's sub-attributes.
    let mut element_path = path.clone();
    element_path.sub = None;
    // `[*]` unwraps the array (and wraps a single complex value) so each element is tested.
    let array_path = format!("{}[*]", json_path_to(&element_path, map)?);
    let p = out.push(Bind::Text(array_path));
    let inner_sql = element_condition(inner, map, path, out)?;
    let exists = format!(
        "EXISTS (SELECT 1 FROM jsonb_path_query({}.attributes, {p}::jsonpath) e WHERE jsonb_typeof(e) = 'object' AND {inner_sql})",
        map.table
    );
    let mut literals = Vec::new();
    required_literals(inner, &mut literals);
    let longest = literals.into_iter().max_by_key(|l| l.len());
    Ok(match longest.and_then(|l| prefilter(&l, map, out)) {
        Some(pre) => format!("({pre} AND {exists})"),
        None => exists,
    })
}

/// `members[value eq "x" or type eq "User"]` as a filter on `members.value` / constants.
fn rewrite_member_filter(filter: &Filter) -> ScimResult<Filter> {
    Ok(match filter {
        Filter::And(a, b) => Filter::And(
            Box::new(rewrite_member_filter(a)?),
            Box::new(rewrite_member_filter(b)?),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(rewrite_member_filter(a)?),
            Box::new(rewrite_member_filter(b)?),
        ),
        Filter::Not(a) => Filter::Not(Box::new(rewrite_member_filter(a)?)),
        Filter::Compare(p, op, v) if p.is("value") && p.sub.is_none() => Filter::Compare(
            AttrPath {
                urn: None,
                name: "members".into(),
                sub: Some("value".into()),
            },
            *op,
            v.clone(),
        ),
        Filter::Present(p) if p.is("value") => Filter::Present(AttrPath::simple("members")),
        _ => {
            return Err(ScimError::invalid_filter(
                "members can be filtered on 'value' only",
            ))
        }
    })
}

/// The inner filter of a value path, evaluated on one array element `e`.
fn element_condition(
    filter: &Filter,
    map: &ColumnMap,
    parent: &AttrPath,
    out: &mut SqlBuilder,
) -> ScimResult<String> {
    Ok(match filter {
        Filter::And(a, b) => format!(
            "({} AND {})",
            element_condition(a, map, parent, out)?,
            element_condition(b, map, parent, out)?
        ),
        Filter::Or(a, b) => format!(
            "({} OR {})",
            element_condition(a, map, parent, out)?,
            element_condition(b, map, parent, out)?
        ),
        Filter::Not(a) => format!(
            "(NOT COALESCE({}, FALSE))",
            element_condition(a, map, parent, out)?
        ),
        Filter::ValuePath(..) => {
            return Err(ScimError::invalid_filter("value paths cannot be nested"))
        }
        Filter::Present(p) => {
            let key = out.push(Bind::Text(canonical_name(&p.name)));
            format!("(e -> {key} IS NOT NULL AND e -> {key} NOT IN ('null'::jsonb, '\"\"'::jsonb))")
        }
        Filter::Compare(p, op, value) => {
            let key = out.push(Bind::Text(canonical_name(&p.name)));
            let v = format!("(e -> {key})");
            let full = AttrPath {
                urn: parent.urn.clone(),
                name: parent.name.clone(),
                sub: Some(p.name.clone()),
            };
            match value {
                CompValue::Null => match op {
                    CompareOp::Eq => format!("({v} IS NULL OR {v} = 'null'::jsonb)"),
                    CompareOp::Ne => format!("({v} IS NOT NULL AND {v} <> 'null'::jsonb)"),
                    _ => return Err(invalid_operator(p, *op, "null")),
                },
                CompValue::Bool(b) => {
                    if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                        return Err(invalid_operator(p, *op, "a boolean"));
                    }
                    let b = out.push(Bind::Bool(*b));
                    if *op == CompareOp::Eq {
                        format!("({v} = to_jsonb({b}::boolean))")
                    } else {
                        format!("({v} IS DISTINCT FROM to_jsonb({b}::boolean))")
                    }
                }
                CompValue::Number(n) => {
                    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                        return Err(invalid_operator(p, *op, "a number"));
                    }
                    let n = out.push(Bind::Text(n.to_string()));
                    format!("(jsonb_typeof({v}) = 'number' AND ({v} #>> '{{}}')::numeric {} {n}::numeric)", sql_op(*op))
                }
                CompValue::String(s) => {
                    let fold = !is_case_exact(&full, map);
                    let inner_op = if *op == CompareOp::Ne {
                        CompareOp::Eq
                    } else {
                        *op
                    };
                    let cond = format!(
                        "(jsonb_typeof({v}) = 'string' AND {})",
                        text_compare(&format!("({v} #>> '{{}}')"), inner_op, s, fold, out)
                    );
                    if *op == CompareOp::Ne {
                        format!("(NOT COALESCE({cond}, FALSE))")
                    } else {
                        cond
                    }
                }
            }
        }
    })
}

/// A cheap condition implied by "some string attribute of the document contains
/// `literal`", served by the trigram index on the document's text: the case-folded JSON
/// text then contains the case-folded literal verbatim (folding maps each code point on
/// its own). Only for literals that JSON writes unescaped and long enough for trigrams.
fn prefilter(literal: &str, map: &ColumnMap, out: &mut SqlBuilder) -> Option<String> {
    let plain = literal.chars().count() >= 3
        && literal
            .chars()
            .all(|c| !c.is_control() && c != '"' && c != '\\');
    if !plain {
        return None;
    }
    let p = out.push(Bind::Text(like_pattern(
        CompareOp::Co,
        &crate::casefold::fold(literal),
    )));
    Some(format!(
        "(rolegate_fold({}.attributes::text) COLLATE \"C\" LIKE {p})",
        map.table
    ))
}

/// String literals some value must contain for the filter to hold: those of `eq`, `co`,
/// `sw` and `ew` comparisons reached through `and` only.
fn required_literals(filter: &Filter, out: &mut Vec<String>) {
    match filter {
        Filter::And(a, b) => {
            required_literals(a, out);
            required_literals(b, out);
        }
        Filter::Compare(
            _,
            CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew,
            CompValue::String(s),
        ) => out.push(s.clone()),
        _ => {}
    }
}
