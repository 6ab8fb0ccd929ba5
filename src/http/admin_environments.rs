use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::access::environments::{self, EnvironmentInput};
use crate::db::environments::Environment;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/environments")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/environments/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    let all = run_blocking(&state.pool, move |conn| environments::list(conn, &ctx)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "environments": all })))
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<EnvironmentInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "environment", move |conn, ctx, _| {
        environments::create(conn, ctx, &input)
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
