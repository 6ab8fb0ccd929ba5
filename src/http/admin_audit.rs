use actix_web::{web, HttpResponse};

use super::admin::{read, Admin};
use crate::access::audit::{self, AuditQuery};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::List;
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[Route::read(
    "/audit",
    |r| r.to(search),
    Requirement::Tenant(Privilege::ActivityAudit),
    "audit",
    "The audit log, newest first",
    List("entries", "AuditEntry"),
    &[
        ("resource_type", "string", "e.g. User, Group, EndUserGroup"),
        ("resource_id", "string", "one resource"),
        ("operation", "string", "e.g. create, patch, delete"),
        ("actor", "string", "who made the change"),
        ("since", "string", "RFC 3339 time, inclusive"),
        ("until", "string", "RFC 3339 time, exclusive"),
        (
            "before_id",
            "integer",
            "entries older than this id (paging)",
        ),
        ("limit", "integer", "at most this many (≤ 1000)"),
    ],
)];

/// Audit entries, newest first; page with `before_id` (the last id seen).
async fn search(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "entries": audit::search(conn, ctx, &query)? }))
    })
    .await
}
