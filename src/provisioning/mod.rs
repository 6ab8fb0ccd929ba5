//! Provisioning operations: tenants, connector tokens, and SCIM operations on users and
//! groups. Each operation validates its input and runs in one transaction, audit entry
//! included.

pub mod bulk;
pub mod cursor;
pub mod groups;
pub mod listing;
pub mod resource;
pub mod tenants;
pub mod tokens;
pub mod users;

use uuid::Uuid;

/// Who is acting, for the audit log: a connector token, or the command line.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: Uuid,
    pub name: String,
}

impl Actor {
    pub fn token(tenant_id: Uuid, token_id: Uuid) -> Self {
        Actor {
            tenant_id,
            name: format!("token:{token_id}"),
        }
    }
}

/// A SCIM request's context: who asks, and the base URL resource locations start with.
#[derive(Debug, Clone)]
pub struct ScimContext {
    pub actor: Actor,
    pub base_url: String,
}

impl ScimContext {
    pub fn tenant_id(&self) -> Uuid {
        self.actor.tenant_id
    }
}

/// A resource as rendered for a response, with what the HTTP layer needs for headers.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: serde_json::Value,
    pub location: String,
    pub version: i64,
}

pub use listing::{ListQuery, Paging, Sort};

/// `If-Match` (RFC 7644 §3.14): the request applies only to the version the client saw.
pub fn check_version(
    if_match: Option<&str>,
    version: i64,
) -> Result<(), crate::error::ScimApiError> {
    match if_match {
        Some(header) if !crate::scim::etag_matches(header, version) => {
            Err(crate::scim::ScimError::precondition_failed(
                "the resource was modified since the given version (If-Match)",
            )
            .into())
        }
        _ => Ok(()),
    }
}

/// Ids in URLs that are not UUIDs name nothing: 404, like any unknown id.
pub fn parse_id(id: &str) -> Result<Uuid, crate::scim::ScimError> {
    Uuid::parse_str(id)
        .map_err(|_| crate::scim::ScimError::not_found(format!("no resource with id '{id}'")))
}

pub(crate) fn meta(
    resource_type: &str,
    location: &str,
    row_created: chrono::DateTime<chrono::Utc>,
    row_updated: chrono::DateTime<chrono::Utc>,
    version: i64,
) -> serde_json::Value {
    serde_json::json!({
        "resourceType": resource_type,
        "created": row_created.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "lastModified": row_updated.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "location": location,
        "version": crate::scim::etag(version),
    })
}

/// A search at the service provider's root (RFC 7644 §3.4.2.1, §3.4.3): every resource
/// type in turn, paged by index as one list.
pub fn search_all(
    conn: &mut diesel::PgConnection,
    ctx: &ScimContext,
    query: &ListQuery,
) -> Result<serde_json::Value, crate::error::ScimApiError> {
    use crate::db::query::Window;
    use crate::scim::ScimError;
    let Paging::Index(start_index) = query.paging else {
        return Err(ScimError::invalid_value(
            "cursor paging is offered on each resource type's endpoint, not across resource types",
        )
        .into());
    };
    if query.sort.is_some() {
        return Err(ScimError::invalid_value(
            "sorting is offered on each resource type's endpoint, not across resource types",
        )
        .into());
    }
    // Rows to skip before this type's first, and how many the page still has room for.
    let mut skip = start_index - 1;
    let mut room = query.count;
    let mut total = 0;
    let mut resources = Vec::new();
    for resource in resource::RESOURCES {
        let plan = query.plan(resource.columns(), ctx)?;
        let window = Window::Offset(skip);
        let page = resource.page(conn, ctx, &plan, &window, room, &query.projection)?;
        skip = (skip - page.total).max(0);
        room -= page.resources.len() as i64;
        total += page.total;
        resources.extend(page.resources);
    }
    Ok(crate::scim::list_response(total, start_index, resources))
}
