use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::access::roles::{self, CreateInput, RoleView, ScopeQuery, UpdateInput};
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/privileges")
            .route(web::get().to(catalogue))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/roles")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/roles/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    );
}

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
