//! List queries: a filter, an order and a window (an offset, or a keyset position for
//! cursors) turned into one SQL statement with bound parameters, plus the count.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Text};
use uuid::Uuid;

use super::filter::{
    canonical_name, column_for, json_path_to, translate, Bind, ColumnKind, ColumnMap, SqlBuilder,
};
use crate::scim::filter::{AttrPath, Filter};
use crate::scim::schema::ALL_SCHEMAS;
use crate::scim::{ScimError, ScimResult};

/// How a sort key's text form is cast back when it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Text,
    Timestamp,
    Bool,
    Uuid,
}

#[derive(Debug, Clone)]
struct OrderKey {
    expr: String,
    kind: KeyKind,
    nullable: bool,
}

/// A translated list query, ready to be run for any window.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    table: &'static str,
    where_sql: String,
    /// Parameters of `where_sql` ($1 is the tenant); the count query binds only these.
    where_binds: usize,
    builder: SqlBuilder,
    key: OrderKey,
    descending: bool,
}

/// Where a page starts: an offset (index paging), or just after / just before a row
/// (cursor paging).
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    Offset(i64),
    After(Position),
    Before(Position),
}

/// A row's place in the order: its sort key (as text) and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub key: Option<String>,
    pub id: Uuid,
}

/// A row together with its position in the order.
pub trait Positioned {
    fn position(&self) -> Position;
}

pub struct Page<R> {
    pub rows: Vec<R>,
    pub total: i64,
    /// More rows follow in the direction the window reads.
    pub more: bool,
}

impl QueryPlan {
    pub fn new(
        map: &ColumnMap,
        tenant_id: Uuid,
        filter: Option<&Filter>,
        sort: Option<(&AttrPath, bool)>,
    ) -> ScimResult<Self> {
        let mut builder = SqlBuilder::default();
        let tenant = builder.push(Bind::Text(tenant_id.to_string()));
        let mut where_sql = format!("{}.tenant_id = {tenant}::uuid", map.table);
        if let Some(visible) = map.visible {
            where_sql = format!("{where_sql} AND {visible}");
        }
        if let Some(filter) = filter {
            where_sql = format!("{where_sql} AND {}", translate(filter, map, &mut builder)?);
        }
        let where_binds = builder.binds.len();
        let (key, descending) = match sort {
            Some((path, descending)) => (sort_key(path, map, &mut builder)?, descending),
            None => (
                OrderKey {
                    expr: format!("{}.created_at", map.table),
                    kind: KeyKind::Timestamp,
                    nullable: false,
                },
                false,
            ),
        };
        Ok(QueryPlan {
            table: map.table,
            where_sql,
            where_binds,
            builder,
            key,
            descending,
        })
    }

    /// The text form of the key, selected with each row to build cursors from.
    fn key_text(&self) -> String {
        let e = &self.key.expr;
        match self.key.kind {
            KeyKind::Text => format!("({e})::text"),
            KeyKind::Timestamp => {
                format!("to_char({e} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            }
            KeyKind::Bool | KeyKind::Uuid => format!("({e})::text"),
        }
    }

    fn cast(&self, placeholder: &str) -> String {
        match self.key.kind {
            KeyKind::Text => format!("{placeholder}::text COLLATE \"C\""),
            KeyKind::Timestamp => format!("{placeholder}::timestamptz"),
            KeyKind::Bool => format!("{placeholder}::boolean"),
            KeyKind::Uuid => format!("{placeholder}::uuid"),
        }
    }

    /// ORDER BY terms; `reverse` reads the order backwards (for "previous page").
    fn order_by(&self, reverse: bool) -> String {
        let t = self.table;
        let dir = if self.descending != reverse {
            " DESC"
        } else {
            ""
        };
        let e = &self.key.expr;
        if self.key.nullable {
            // Rows without a value come last when ascending, first when descending.
            format!("({e} IS NULL){dir}, {e}{dir}, {t}.id{dir}")
        } else if self.key.kind == KeyKind::Uuid {
            format!("{t}.id{dir}")
        } else {
            format!("{e}{dir}, {t}.id{dir}")
        }
    }

    /// The condition selecting rows after (`forward`) or before a position.
    fn keyset(&self, position: &Position, forward: bool, builder: &mut SqlBuilder) -> String {
        let t = self.table;
        let greater = forward != self.descending;
        let cmp = if greater { ">" } else { "<" };
        let id = builder.push(Bind::Text(position.id.to_string()));
        if self.key.kind == KeyKind::Uuid {
            return format!("{t}.id {cmp} {id}::uuid");
        }
        let e = &self.key.expr;
        if !self.key.nullable {
            let key = builder.push(Bind::Text(position.key.clone().unwrap_or_default()));
            return format!("({e}, {t}.id) {cmp} ({}, {id}::uuid)", self.cast(&key));
        }
        // Order is (key IS NULL, key, id): compare that triple, with NULL keys made equal.
        let is_null = builder.push(Bind::Bool(position.key.is_none()));
        let filler = match self.key.kind {
            KeyKind::Text => "''".to_string(),
            KeyKind::Timestamp => "'-infinity'::timestamptz".to_string(),
            KeyKind::Bool => "false".to_string(),
            KeyKind::Uuid => "'00000000-0000-0000-0000-000000000000'::uuid".to_string(),
        };
        let placeholder_value = match &position.key {
            None => filler.clone(),
            Some(k) => {
                let key = builder.push(Bind::Text(k.clone()));
                self.cast(&key)
            }
        };
        format!(
            "(({e} IS NULL), COALESCE({e}, {filler}), {t}.id) {cmp} ({is_null}::boolean, {placeholder_value}, {id}::uuid)"
        )
    }

    /// The page query's SQL and parameters, and whether it reads backwards.
    fn page_sql(&self, window: &Window, limit: i64) -> (String, Vec<Bind>, bool) {
        let t = self.table;
        let mut builder = self.builder.clone();
        let (condition, reverse, offset) = match window {
            Window::Offset(offset) => (String::new(), false, *offset),
            Window::After(p) => (
                format!(" AND {}", self.keyset(p, true, &mut builder)),
                false,
                0,
            ),
            Window::Before(p) => (
                format!(" AND {}", self.keyset(p, false, &mut builder)),
                true,
                0,
            ),
        };
        let offset_placeholder = builder.push(Bind::Text(offset.to_string()));
        let limit_placeholder = builder.push(Bind::Text((limit + 1).to_string()));
        let sql = format!(
            "SELECT {t}.*, {} AS sort_key FROM {t} WHERE {}{condition} ORDER BY {} OFFSET {offset_placeholder}::bigint LIMIT {limit_placeholder}::bigint",
            self.key_text(),
            self.where_sql,
            self.order_by(reverse),
        );
        (sql, builder.binds, reverse)
    }

    /// `EXPLAIN ANALYZE` of the count and page queries, for benchmarks and diagnosis.
    pub fn explain(
        &self,
        conn: &mut PgConnection,
        window: &Window,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let count_sql = format!(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM {} WHERE {}",
            self.table, self.where_sql
        );
        let mut lines: Vec<String> = vec!["-- count".into()];
        lines.extend(
            bind_all(
                diesel::sql_query(count_sql).into_boxed(),
                &self.builder.binds[..self.where_binds],
            )
            .load::<Line>(conn)?
            .into_iter()
            .map(|l| l.line),
        );
        let (sql, binds, _) = self.page_sql(window, limit);
        lines.push("-- page".into());
        lines.extend(
            bind_all(
                diesel::sql_query(format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}")).into_boxed(),
                &binds,
            )
            .load::<Line>(conn)?
            .into_iter()
            .map(|l| l.line),
        );
        Ok(lines)
    }

    /// Runs the count and one page. Rows come back in the query's order whatever the
    /// window's direction.
    pub fn page<R>(
        &self,
        conn: &mut PgConnection,
        window: &Window,
        limit: i64,
    ) -> QueryResult<Page<R>>
    where
        R: QueryableByName<Pg> + 'static,
    {
        let count_sql = format!(
            "SELECT count(*) AS count FROM {} WHERE {}",
            self.table, self.where_sql
        );
        let total = bind_all(
            diesel::sql_query(count_sql).into_boxed(),
            &self.builder.binds[..self.where_binds],
        )
        .get_result::<Count>(conn)?
        .count;
        if limit == 0 || total == 0 {
            return Ok(Page {
                rows: Vec::new(),
                total,
                more: false,
            });
        }
        let (sql, binds, reverse) = self.page_sql(window, limit);
        let mut rows = bind_all(diesel::sql_query(sql).into_boxed(), &binds).load::<R>(conn)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if reverse {
            rows.reverse();
        }
        Ok(Page { rows, total, more })
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn bind_all<'a>(
    mut query: BoxedSqlQuery<'a, Pg, SqlQuery>,
    binds: &[Bind],
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind::<Text, _>(s.clone()),
            Bind::Bool(b) => query.bind::<Bool, _>(*b),
        };
    }
    query
}

/// The SQL expression a `sortBy` attribute orders by. Multi-valued attributes sort by
/// their primary value, or else their first (RFC 7644 §3.4.2.3).
fn sort_key(path: &AttrPath, map: &ColumnMap, builder: &mut SqlBuilder) -> ScimResult<OrderKey> {
    let cannot = || ScimError::invalid_value(format!("cannot sort by '{path}'"));
    if map.member_table.is_some_and(|(name, _)| path.is(name)) {
        return Err(cannot());
    }
    if let Some((column, kind, nullable)) = column_for(path, map) {
        let (expr, kind) = match kind {
            ColumnKind::CaseInsensitiveText => (
                format!("rolegate_fold({column}) COLLATE \"C\""),
                KeyKind::Text,
            ),
            ColumnKind::ExactText => (format!("{column} COLLATE \"C\""), KeyKind::Text),
            ColumnKind::Bool => (column.to_string(), KeyKind::Bool),
            ColumnKind::Uuid => (column.to_string(), KeyKind::Uuid),
            ColumnKind::Timestamp => (column.to_string(), KeyKind::Timestamp),
        };
        return Ok(OrderKey {
            expr,
            kind,
            nullable,
        });
    }
    // Attributes kept in the document: find the schema attribute to know its shape.
    let schema_attr = ALL_SCHEMAS.iter().find_map(|s| {
        let urn_ok = path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(s.id));
        if urn_ok {
            s.attribute(&path.name)
        } else {
            None
        }
    });
    let attr = schema_attr.ok_or_else(cannot)?;
    if attr.mutability == crate::scim::schema::Mutability::ReadOnly && attr.multi_valued {
        return Err(cannot());
    }
    let sub = match (&path.sub, attr.kind) {
        (Some(sub), _) => Some(attr.sub(sub).ok_or_else(cannot)?),
        (None, crate::scim::schema::AttrType::Complex) => {
            Some(attr.sub("value").ok_or_else(cannot)?)
        }
        (None, _) => None,
    };
    let case_exact = sub.map_or(attr.case_exact, |s| s.case_exact);
    let base = json_path_to(path, map)?;
    let value_name = sub.map(|s| canonical_name(s.name));
    let expr = if attr.multi_valued {
        let value = value_name.unwrap_or_else(|| "value".into());
        let primary = builder.push(Bind::Text(format!(
            "{base}[*] ? (@.\"primary\" == true).\"{value}\""
        )));
        let first = builder.push(Bind::Text(format!("{base}[0].\"{value}\"")));
        format!(
            "COALESCE(jsonb_path_query_first({t}.attributes, {primary}::jsonpath), jsonb_path_query_first({t}.attributes, {first}::jsonpath)) #>> '{{}}'",
            t = map.table
        )
    } else {
        let full = match value_name {
            Some(sub) => format!("{base}.\"{sub}\""),
            None => base,
        };
        let p = builder.push(Bind::Text(full));
        format!(
            "jsonb_path_query_first({}.attributes, {p}::jsonpath) #>> '{{}}'",
            map.table
        )
    };
    let expr = if case_exact {
        format!("({expr}) COLLATE \"C\"")
    } else {
        format!("rolegate_fold({expr}) COLLATE \"C\"")
    };
    Ok(OrderKey {
        expr,
        kind: KeyKind::Text,
        nullable: true,
    })
}
