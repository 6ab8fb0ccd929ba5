use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::access::collaborator_groups::{self, CreateInput, GroupView, UpdateInput};
use crate::access::end_user_groups::MembersInput;
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/collaborator-groups")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/collaborator-groups/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/collaborator-groups/{id}/members")
            .route(web::post().to(add_members))
            .route(web::delete().to(remove_members))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "collaborator_groups": collaborator_groups::list(conn, ctx)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "collaborator_group", move |conn, ctx, _| {
        collaborator_groups::create(conn, ctx, &input)
    })
    .await?;
    respond(
        outcome,
        created_at("collaborator-groups", |g: &GroupView| g.group.id),
    )
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        collaborator_groups::get(conn, ctx, id)
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
    let outcome = mutation(&state, ctx, m, "collaborator_group", move |conn, ctx, _| {
        collaborator_groups::update(conn, ctx, id, &input)
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
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group",
        move |conn, ctx, pending| collaborator_groups::delete(conn, ctx, pending, id),
    )
    .await?;
    respond(outcome, no_content)
}

async fn add_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group_members",
        move |conn, ctx, pending| collaborator_groups::add_members(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, ok)
}

async fn remove_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group_members",
        move |conn, ctx, pending| {
            collaborator_groups::remove_members(conn, ctx, pending, id, &input)
        },
    )
    .await?;
    respond(outcome, ok)
}
