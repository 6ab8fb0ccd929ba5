use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::access::end_user_groups::{
    self, CreateInput, DuplicateInput, GroupView, MembersInput, UpdateInput,
};
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/end-user-groups")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/end-user-groups/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/end-user-groups/{id}/members")
            .route(web::post().to(add_members))
            .route(web::delete().to(remove_members))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/end-user-groups/{id}/duplicate")
            .route(web::post().to(duplicate))
            .default_service(web::to(method_not_allowed)),
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    environment_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

fn group_id(g: &GroupView) -> Uuid {
    g.group.id
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ListQuery>,
) -> Response {
    let environment = query.environment_id;
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "end_user_groups": end_user_groups::list(conn, ctx, environment)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "end_user_group", move |conn, ctx, _| {
        end_user_groups::create(conn, ctx, &input)
    })
    .await?;
    respond(outcome, created_at("end-user-groups", group_id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        end_user_groups::get(conn, ctx, id)
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
    let outcome = mutation(&state, ctx, m, "end_user_group", move |conn, ctx, _| {
        end_user_groups::update(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, ok)
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
) -> Response {
    let (id, force) = (id.into_inner(), query.force);
    let outcome = mutation(
        &state,
        ctx,
        m,
        "end_user_group",
        move |conn, ctx, pending| end_user_groups::delete(conn, ctx, pending, id, force),
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
        "end_user_group_members",
        move |conn, ctx, pending| end_user_groups::add_members(conn, ctx, pending, id, &input),
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
        "end_user_group_members",
        move |conn, ctx, pending| end_user_groups::remove_members(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, ok)
}

async fn duplicate(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<DuplicateInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "end_user_group",
        move |conn, ctx, pending| end_user_groups::duplicate(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, created_at("end-user-groups", group_id))
}
