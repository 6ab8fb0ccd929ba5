use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::access::assignments::{self, CreateInput, UpdateInput};
use crate::db::assignments::{Assignment, AssignmentFilter};
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assignments")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/assignments/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    );
}

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
