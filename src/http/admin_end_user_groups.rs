use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{method_not_allowed, Admin};
use crate::access::end_user_groups::{
    self, CreateInput, DuplicateInput, MembersInput, UpdateInput,
};
use crate::db::run_blocking;
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
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ListQuery>,
) -> Response {
    let environment = query.environment_id;
    let groups = run_blocking(&state.pool, move |conn| {
        end_user_groups::list(conn, &ctx, environment)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "end_user_groups": groups })))
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    input: web::Json<CreateInput>,
) -> Response {
    let created = run_blocking(&state.pool, move |conn| {
        end_user_groups::create(conn, &ctx, &input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/admin/v1/end-user-groups/{}", created.group.id),
        ))
        .json(created))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        run_blocking(&state.pool, move |conn| {
            end_user_groups::get(conn, &ctx, id)
        })
        .await?,
    ))
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    input: web::Json<UpdateInput>,
) -> Response {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        run_blocking(&state.pool, move |conn| {
            end_user_groups::update(conn, &ctx, id, &input)
        })
        .await?,
    ))
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
) -> Response {
    let (id, force) = (id.into_inner(), query.force);
    run_blocking(&state.pool, move |conn| {
        end_user_groups::delete(conn, &ctx, id, force)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn add_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        run_blocking(&state.pool, move |conn| {
            end_user_groups::add_members(conn, &ctx, id, &input)
        })
        .await?,
    ))
}

async fn remove_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(
        run_blocking(&state.pool, move |conn| {
            end_user_groups::remove_members(conn, &ctx, id, &input)
        })
        .await?,
    ))
}

async fn duplicate(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    input: web::Json<DuplicateInput>,
) -> Response {
    let id = id.into_inner();
    let created = run_blocking(&state.pool, move |conn| {
        end_user_groups::duplicate(conn, &ctx, id, &input)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/admin/v1/end-user-groups/{}", created.group.id),
        ))
        .json(created))
}
