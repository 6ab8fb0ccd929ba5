//! List and search requests: filter, sort, and index or cursor paging, executed in
//! PostgreSQL for either resource type.

use chrono::Utc;
use diesel::pg::Pg;
use diesel::{PgConnection, QueryableByName};
use serde_json::{json, Value};

use super::cursor;
use super::ScimContext;
use crate::db::filter::ColumnMap;
use crate::db::query::{Positioned, QueryPlan, Window};
use crate::db::tenants;
use crate::error::ScimApiError;
use crate::scim::filter::{AttrPath, Filter};
use crate::scim::list_response;
use crate::scim::projection::Projection;
use crate::scim::schema::LIST_RESPONSE_SCHEMA;

#[derive(Debug, Clone)]
pub struct Sort {
    pub path: AttrPath,
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    /// `startIndex` (1-based).
    Index(i64),
    /// `cursor`: absent or empty for the first page.
    Cursor(Option<String>),
}

/// Query parameters of a list request, already validated.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<Sort>,
    pub paging: Paging,
    pub count: i64,
    pub projection: Projection,
}

impl ListQuery {
    pub fn plan(&self, map: &ColumnMap, ctx: &ScimContext) -> Result<QueryPlan, ScimApiError> {
        let sort = self.sort.as_ref().map(|s| (&s.path, s.descending));
        Ok(QueryPlan::new(
            map,
            ctx.tenant_id(),
            self.filter.as_ref(),
            sort,
        )?)
    }

    fn fingerprint(&self, resource: &str) -> String {
        let filter = self.filter.as_ref().map(|f| f.to_string());
        let sort = self.sort.as_ref().map(|s| {
            format!(
                "{} {}",
                s.path.to_string().to_ascii_lowercase(),
                s.descending
            )
        });
        cursor::fingerprint(resource, filter.as_deref(), sort.as_deref())
    }
}

/// Runs a list query for one resource type; `render` turns a page of rows into resources.
pub fn list<R, F>(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    map: &ColumnMap,
    resource: &str,
    query: &ListQuery,
    render: F,
) -> Result<Value, ScimApiError>
where
    R: QueryableByName<Pg> + Positioned + 'static,
    F: FnOnce(&mut PgConnection, &[R]) -> Result<Vec<Value>, ScimApiError>,
{
    let plan = query.plan(map, ctx)?;
    let cursor = match &query.paging {
        Paging::Index(start_index) => {
            let page = plan.page::<R>(conn, &Window::Offset(start_index - 1), query.count)?;
            let resources = render(conn, &page.rows)?;
            return Ok(list_response(page.total, *start_index, resources));
        }
        Paging::Cursor(cursor) => cursor.as_deref().filter(|c| !c.is_empty()),
    };
    let secret = tenants::cursor_secret(conn, ctx.tenant_id())?;
    let fingerprint = query.fingerprint(resource);
    let now = Utc::now().timestamp();
    let window = match cursor {
        None => Window::Offset(0),
        Some(c) => cursor::decode(&secret, &fingerprint, c, now)?,
    };
    let page = plan.page::<R>(conn, &window, query.count)?;
    let (has_next, has_previous) = match window {
        Window::Offset(_) => (page.more, false),
        Window::After(_) => (page.more, true),
        Window::Before(_) => (true, page.more),
    };
    let next = page
        .rows
        .last()
        .filter(|_| has_next)
        .map(|r| cursor::encode(&secret, &fingerprint, &r.position(), true, now));
    let previous = page
        .rows
        .first()
        .filter(|_| has_previous)
        .map(|r| cursor::encode(&secret, &fingerprint, &r.position(), false, now));
    let resources = render(conn, &page.rows)?;
    let mut body = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": page.total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let Some(next) = next {
        body["nextCursor"] = json!(next);
    }
    if let Some(previous) = previous {
        body["previousCursor"] = json!(previous);
    }
    Ok(body)
}
