//! List and search requests: filter, sort, and index or cursor paging, executed in
//! PostgreSQL for either resource type.

use chrono::Utc;
use diesel::PgConnection;
use serde_json::{json, Value};

use super::cursor;
use super::resource::ScimResource;
use super::ScimContext;
use crate::db::filter::ColumnMap;
use crate::db::query::{QueryPlan, Window};
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

/// Runs a list query for one resource type.
pub fn list(
    conn: &mut PgConnection,
    ctx: &ScimContext,
    resource: &dyn ScimResource,
    query: &ListQuery,
) -> Result<Value, ScimApiError> {
    let plan = query.plan(resource.columns(), ctx)?;
    let projection = &query.projection;
    let cursor = match &query.paging {
        Paging::Index(start_index) => {
            let window = Window::Offset(start_index - 1);
            let page = resource.page(conn, ctx, &plan, &window, query.count, projection)?;
            return Ok(list_response(page.total, *start_index, page.resources));
        }
        Paging::Cursor(cursor) => cursor.as_deref().filter(|c| !c.is_empty()),
    };
    let secret = tenants::cursor_secret(conn, ctx.tenant_id())?;
    let fingerprint = query.fingerprint(resource.resource_type().name);
    let now = Utc::now().timestamp();
    let window = match cursor {
        None => Window::Offset(0),
        Some(c) => cursor::decode(&secret, &fingerprint, c, now)?,
    };
    let page = resource.page(conn, ctx, &plan, &window, query.count, projection)?;
    let (has_next, has_previous) = match window {
        Window::Offset(_) => (page.more, false),
        Window::After(_) => (page.more, true),
        Window::Before(_) => (true, page.more),
    };
    let next = page
        .last
        .filter(|_| has_next)
        .map(|p| cursor::encode(&secret, &fingerprint, &p, true, now));
    let previous = page
        .first
        .filter(|_| has_previous)
        .map(|p| cursor::encode(&secret, &fingerprint, &p, false, now));
    let resources = page.resources;
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
