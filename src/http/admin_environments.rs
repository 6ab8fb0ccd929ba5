use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{method_not_allowed, Admin};
use crate::access::environments::{self, EnvironmentInput};
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
    input: web::Json<EnvironmentInput>,
) -> Response {
    let created = run_blocking(&state.pool, move |conn| {
        environments::create(conn, &ctx, &input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/v1/environments/{}", created.id)))
        .json(created))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    let found = run_blocking(&state.pool, move |conn| environments::get(conn, &ctx, id)).await?;
    Ok(HttpResponse::Ok().json(found))
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    input: web::Json<EnvironmentInput>,
) -> Response {
    let id = id.into_inner();
    let updated = run_blocking(&state.pool, move |conn| {
        environments::update(conn, &ctx, id, &input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(updated))
}

async fn delete(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    run_blocking(&state.pool, move |conn| {
        environments::delete(conn, &ctx, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
