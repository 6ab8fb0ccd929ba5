use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::authorization::{Requirement, PROJECT_ACCESS};
use crate::access::deployments::{self, AcceptInput, DeployInput, Deployment};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::write(
        "post",
        "/applications/{id}/deploy",
        |r| r.to(deploy),
        Requirement::Deploy,
        "applications",
        "Deploy a project to another environment: creates it there (201) or reuses the \
         project of the same name (200), and suggests the source's assignments for it",
        Some("DeployInput"),
        Body(201, "Deployment"),
    ),
    Route::read(
        "/applications/{id}/role-suggestions",
        |r| r.to(list),
        PROJECT_ACCESS,
        "applications",
        "Role suggestions waiting for a deployed project",
        List("suggestions", "Suggestion"),
        &[],
    ),
    Route::write(
        "post",
        "/applications/{id}/role-suggestions/accept",
        |r| r.to(accept),
        PROJECT_ACCESS,
        "applications",
        "Accept suggestions: each becomes an assignment (all or none)",
        Some("AcceptInput"),
        List("assignments", "Assignment"),
    ),
    Route::write(
        "delete",
        "/applications/{id}/role-suggestions/{suggestion_id}",
        |r| r.to(reject),
        PROJECT_ACCESS,
        "applications",
        "Reject a suggestion",
        None,
        Empty,
    ),
];

async fn deploy(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<DeployInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "deployment", move |conn, ctx, pending| {
        deployments::deploy(conn, ctx, pending, id, &input)
    })
    .await?;
    respond(outcome, |d: Deployment| {
        if d.created {
            HttpResponse::Created()
                .insert_header((
                    "Location",
                    format!("/admin/v1/applications/{}", d.application.id),
                ))
                .json(d)
        } else {
            HttpResponse::Ok().json(d)
        }
    })
}

async fn list(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "suggestions": deployments::list(conn, ctx, id)? }))
    })
    .await
}

async fn accept(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<AcceptInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, pending| {
        deployments::accept(conn, ctx, pending, id, &input)
    })
    .await?;
    respond(outcome, |assignments| {
        ok(serde_json::json!({ "assignments": assignments }))
    })
}

async fn reject(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    let (id, suggestion) = path.into_inner();
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, _pending| {
        deployments::reject(conn, ctx, id, suggestion)
    })
    .await?;
    respond(outcome, no_content)
}
