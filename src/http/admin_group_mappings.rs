use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{method_not_allowed, mutation, no_content, respond, Admin, Mutation};
use crate::access::group_mappings::{self, MappingInput, MappingQuery};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/group-mappings")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/group-mappings/{idp_group_id}/{end_user_group_id}")
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/end-user-groups")
            .route(web::get().to(memberships))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<MappingQuery>,
) -> Response {
    let mappings = run_blocking(&state.pool, move |conn| {
        group_mappings::list(conn, &ctx, &query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "group_mappings": mappings })))
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<MappingInput>,
) -> Response {
    let outcome = mutation(
        &state,
        ctx,
        m,
        "group_mapping",
        move |conn, ctx, pending| group_mappings::create(conn, ctx, pending, &input),
    )
    .await?;
    respond(outcome, |created| HttpResponse::Created().json(created))
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    let (idp_group_id, end_user_group_id) = path.into_inner();
    let input = MappingInput {
        idp_group_id,
        end_user_group_id,
    };
    let outcome = mutation(
        &state,
        ctx,
        m,
        "group_mapping",
        move |conn, ctx, pending| group_mappings::delete(conn, ctx, pending, &input),
    )
    .await?;
    respond(outcome, no_content)
}

/// "Why is this user in these groups?": every path, direct or through an IdP group.
async fn memberships(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let paths = run_blocking(&state.pool, move |conn| {
        group_mappings::memberships(conn, &ctx, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "memberships": paths })))
}
