use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::environments::{self, EnvironmentInput};
use crate::db::environments::Environment;
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/environments",
        |r| r.to(list),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "environments",
        "The tenant's environments, in order",
        List("environments", "Environment"),
        &[],
    ),
    Route::write(
        "post",
        "/environments",
        |r| r.to(create),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "environments",
        "Create an environment",
        Some("EnvironmentInput"),
        Body(201, "Environment"),
    ),
    Route::read(
        "/environments/{id}",
        |r| r.to(get),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "environments",
        "Read an environment",
        Body(200, "Environment"),
        &[],
    ),
    Route::write(
        "patch",
        "/environments/{id}",
        |r| r.to(update),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "environments",
        "Rename or reorder an environment",
        Some("EnvironmentInput"),
        Body(200, "Environment"),
    ),
    Route::write(
        "delete",
        "/environments/{id}",
        |r| r.to(delete),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "environments",
        "Delete an environment and everything in it (not the last one)",
        None,
        Empty,
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "environments": environments::list(conn, ctx)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<EnvironmentInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "environment", move |conn, ctx, pending| {
        environments::create(conn, ctx, pending, &input)
    })
    .await?;
    respond(outcome, created_at("environments", |e: &Environment| e.id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        environments::get(conn, ctx, id)
    })
    .await
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<EnvironmentInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "environment", move |conn, ctx, _| {
        environments::update(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, ok)
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "environment", move |conn, ctx, pending| {
        environments::delete(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, no_content)
}
