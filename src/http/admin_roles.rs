use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::roles::{self, CreateInput, RoleView, ScopeQuery, UpdateInput};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/privileges",
        |r| r.to(catalogue),
        Requirement::Principal,
        "roles",
        "The privilege catalogue",
        List("privileges", "Privilege"),
        &[("scope", "string", "environment or application")],
    ),
    Route::read(
        "/roles",
        |r| r.to(list),
        Requirement::Principal,
        "roles",
        "System and custom roles with their privileges",
        List("roles", "RoleView"),
        &[("scope", "string", "environment or application")],
    ),
    Route::write(
        "post",
        "/roles",
        |r| r.to(create),
        Requirement::Tenant(Privilege::CollaboratorRoles),
        "roles",
        "Create a custom role from the catalogue",
        Some("RoleCreate"),
        Body(201, "RoleView"),
    ),
    Route::read(
        "/roles/{id}",
        |r| r.to(get),
        Requirement::Principal,
        "roles",
        "Read a role",
        Body(200, "RoleView"),
        &[],
    ),
    Route::write(
        "patch",
        "/roles/{id}",
        |r| r.to(update),
        Requirement::Tenant(Privilege::CollaboratorRoles),
        "roles",
        "Change a custom role (holders are affected at once)",
        Some("RoleUpdate"),
        Body(200, "RoleView"),
    ),
    Route::write(
        "delete",
        "/roles/{id}",
        |r| r.to(delete),
        Requirement::Tenant(Privilege::CollaboratorRoles),
        "roles",
        "Delete a custom role and its assignments",
        None,
        Empty,
    ),
];

async fn catalogue(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ScopeQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, _| {
        Ok(serde_json::json!({ "privileges": roles::catalogue(conn, &query)? }))
    })
    .await
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ScopeQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "roles": roles::list(conn, ctx, &query)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "role", move |conn, ctx, pending| {
        roles::create(conn, ctx, pending, &input)
    })
    .await?;
    respond(outcome, created_at("roles", |r: &RoleView| r.role.id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| roles::get(conn, ctx, id)).await
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<UpdateInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "role", move |conn, ctx, pending| {
        roles::update(conn, ctx, pending, id, &input)
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
    let outcome = mutation(&state, ctx, m, "role", move |conn, ctx, pending| {
        roles::delete(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, no_content)
}
