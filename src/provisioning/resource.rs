//! One SCIM resource type behind one trait. The HTTP handlers, listing and search, Bulk and
//! the query at the SCIM root are written once against [`ScimResource`]; a resource type
//! supplies only what differs (its table, its document, what a change maintains). Adding a
//! type is an implementation of the trait and a line in [`RESOURCES`] (its schema joins
//! `ALL_RESOURCE_TYPES` for discovery; a test keeps the two lists equal).

use diesel::pg::Pg;
use diesel::{PgConnection, QueryableByName};
use serde_json::Value;
use uuid::Uuid;

use super::{Rendered, ScimContext};
use crate::db::audit::NewAuditEntry;
use crate::db::filter::ColumnMap;
use crate::db::query::{Page, Position, Positioned, QueryPlan, Window};
use crate::error::ScimApiError;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceType;

type Result<T> = std::result::Result<T, ScimApiError>;

/// The operations of one SCIM resource type (RFC 7644 §3). Ids arrive as the URL gives
/// them: one that is not a UUID names nothing (404). Every write runs in one transaction
/// with its audit entry and events.
pub trait ScimResource: Sync {
    /// Its name, endpoint and schema.
    fn resource_type(&self) -> &'static ResourceType;
    /// How filters and sorting reach its table.
    fn columns(&self) -> &'static ColumnMap;
    fn create(&self, conn: &mut PgConnection, ctx: &ScimContext, body: &Value) -> Result<Rendered>;
    /// `projection` is what the answer will include: a part that costs a query of its own
    /// (a group's members) is read only when it is wanted.
    fn get(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        projection: &Projection,
    ) -> Result<Rendered>;
    /// PUT: the body replaces the resource.
    fn replace(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Rendered>;
    /// A PatchOp, all or nothing. `answer`: whether the response carries the resource, so
    /// a type whose document is costly to render may leave it out.
    fn patch(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        answer: bool,
    ) -> Result<Rendered>;
    fn delete(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<()>;
    /// The rows of `window` in the plan's order, rendered as `projection` asks.
    fn page(
        &self,
        conn: &mut PgConnection,
        ctx: &ScimContext,
        plan: &QueryPlan,
        window: &Window,
        count: i64,
        projection: &Projection,
    ) -> Result<ResourcePage>;
    /// Whether a PATCH that names no `attributes` answers 200 with the resource; when not,
    /// it answers 204 with the new ETag (a group's member list can be huge).
    fn patch_answers_resource(&self) -> bool;
}

/// Every resource type the server offers, in the order the root query lists them.
pub static RESOURCES: [&dyn ScimResource; 2] =
    [&super::users::ScimUsers, &super::groups::ScimGroups];

/// The resource type at an endpoint (`Users`, as the path spells it).
pub fn by_endpoint(endpoint: &str) -> Option<&'static dyn ScimResource> {
    RESOURCES
        .iter()
        .copied()
        .find(|r| r.resource_type().endpoint == endpoint)
}

/// One page of rendered resources, with the positions cursors are made from.
pub struct ResourcePage {
    pub resources: Vec<Value>,
    pub first: Option<Position>,
    pub last: Option<Position>,
    pub total: i64,
    /// More rows follow in the direction the window reads.
    pub more: bool,
}

impl ResourcePage {
    /// Reads one page of `R` rows and renders them (all at once, so a type can load what
    /// they share in one query).
    pub fn read<R, F>(
        conn: &mut PgConnection,
        plan: &QueryPlan,
        window: &Window,
        count: i64,
        render: F,
    ) -> Result<ResourcePage>
    where
        R: QueryableByName<Pg> + Positioned + 'static,
        F: FnOnce(&mut PgConnection, &[R]) -> Result<Vec<Value>>,
    {
        let Page { rows, total, more } = plan.page::<R>(conn, window, count)?;
        Ok(ResourcePage {
            first: rows.first().map(Positioned::position),
            last: rows.last().map(Positioned::position),
            resources: render(conn, &rows)?,
            total,
            more,
        })
    }
}

/// Where a resource lives: `{base}/Users/{id}`.
pub(super) fn location(ctx: &ScimContext, resource: &ResourceType, id: Uuid) -> String {
    format!("{}/{}/{id}", ctx.base_url, resource.endpoint)
}

/// The audit entry of a SCIM change to one resource.
pub(super) fn audit_entry<'a>(
    ctx: &'a ScimContext,
    resource: &ResourceType,
    id: Uuid,
    operation: &'a str,
    before: Option<Value>,
    after: Option<Value>,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        tenant_id: ctx.tenant_id(),
        actor: &ctx.actor.name,
        resource_type: resource.name,
        resource_id: id.to_string(),
        operation,
        before,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ALL_RESOURCE_TYPES;

    #[test]
    fn every_resource_type_discovery_lists_is_served_and_none_else() {
        let served: Vec<&str> = RESOURCES.iter().map(|r| r.resource_type().name).collect();
        let discovered: Vec<&str> = ALL_RESOURCE_TYPES.iter().map(|r| r.name).collect();
        assert_eq!(served, discovered);
    }

    #[test]
    fn a_resource_type_is_found_by_its_endpoint_only() {
        assert_eq!(
            by_endpoint("Users").map(|r| r.resource_type().name),
            Some("User")
        );
        assert_eq!(
            by_endpoint("Groups").map(|r| r.resource_type().name),
            Some("Group")
        );
        assert!(by_endpoint("User").is_none());
        assert!(by_endpoint("users").is_none());
        assert!(by_endpoint("").is_none());
    }
}
