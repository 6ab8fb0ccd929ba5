use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::applications::{self, CreateInput, ListQuery, UpdateInput};
use crate::db::applications::Application;
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::{Route, ENVIRONMENT_FILTER};
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/applications",
        |r| r.to(list),
        Requirement::ProjectVisible,
        "applications",
        "Applications",
        List("applications", "Application"),
        ENVIRONMENT_FILTER,
    ),
    Route::write(
        "post",
        "/applications",
        |r| r.to(create),
        Requirement::Environment(Privilege::CreateProjects),
        "applications",
        "Create an application; a user-bound token's user becomes Project admin",
        Some("ApplicationCreate"),
        Body(201, "Application"),
    ),
    Route::read(
        "/applications/{id}",
        |r| r.to(get),
        Requirement::ProjectVisible,
        "applications",
        "Read an application",
        Body(200, "Application"),
        &[],
    ),
    Route::write(
        "patch",
        "/applications/{id}",
        |r| r.to(update),
        Requirement::Application {
            application: Privilege::ApplicationSettings,
            environment: Privilege::ManageProjects,
        },
        "applications",
        "Rename or re-describe an application",
        Some("ApplicationUpdate"),
        Body(200, "Application"),
    ),
    Route::write(
        "delete",
        "/applications/{id}",
        |r| r.to(delete),
        Requirement::Application {
            application: Privilege::ApplicationDelete,
            environment: Privilege::ManageProjects,
        },
        "applications",
        "Delete an application and its assignments",
        None,
        Empty,
    ),
];

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ListQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "applications": applications::list(conn, ctx, &query)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "application", move |conn, ctx, pending| {
        applications::create(conn, ctx, pending, &input)
    })
    .await?;
    respond(outcome, created_at("applications", |a: &Application| a.id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        applications::get(conn, ctx, id)
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
    let outcome = mutation(&state, ctx, m, "application", move |conn, ctx, pending| {
        applications::update(conn, ctx, pending, id, &input)
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
    let outcome = mutation(&state, ctx, m, "application", move |conn, ctx, pending| {
        applications::delete(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, no_content)
}
