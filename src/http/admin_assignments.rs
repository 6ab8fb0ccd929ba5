use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::assignments::{self, CreateInput, UpdateInput};
use crate::db::assignments::{Assignment, AssignmentFilter};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::Requirement;
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/assignments",
        |r| r.to(list),
        Requirement::Assignment,
        "assignments",
        "Role assignments",
        List("assignments", "Assignment"),
        &[
            ("environment_id", "uuid", "in this environment"),
            ("application_id", "uuid", "on this application"),
            ("role_id", "uuid", "of this role"),
            ("user_id", "uuid", "to this user"),
            ("end_user_group_id", "uuid", "to this end-user group"),
            (
                "collaborator_group_id",
                "uuid",
                "to this collaborator group",
            ),
            (
                "environment_scope",
                "boolean",
                "only environment (true) or application (false) roles",
            ),
        ],
    ),
    Route::write(
        "post",
        "/assignments",
        |r| r.to(create),
        Requirement::Assignment,
        "assignments",
        "Assign a role to a principal in an environment or on an application",
        Some("AssignmentCreate"),
        Body(201, "Assignment"),
    ),
    Route::read(
        "/assignments/{id}",
        |r| r.to(get),
        Requirement::Assignment,
        "assignments",
        "Read an assignment",
        Body(200, "Assignment"),
        &[],
    ),
    Route::write(
        "patch",
        "/assignments/{id}",
        |r| r.to(update),
        Requirement::Assignment,
        "assignments",
        "Change an assignment's role",
        Some("AssignmentUpdate"),
        Body(200, "Assignment"),
    ),
    Route::write(
        "delete",
        "/assignments/{id}",
        |r| r.to(delete),
        Requirement::Assignment,
        "assignments",
        "Revoke an assignment",
        None,
        Empty,
    ),
];

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<AssignmentFilter>,
) -> Response {
    let filter = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "assignments": assignments::list(conn, ctx, &filter)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, pending| {
        assignments::create(conn, ctx, pending, &input)
    })
    .await?;
    respond(outcome, created_at("assignments", |a: &Assignment| a.id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        assignments::get(conn, ctx, id)
    })
    .await
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<UpdateInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, pending| {
        assignments::update(conn, ctx, pending, id, &input)
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
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, pending| {
        assignments::delete(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, no_content)
}
