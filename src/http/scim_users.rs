use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::scim::{
    if_match, list_query_from_params, list_query_from_search, method_not_allowed, not_modified,
    projection, query_params, respond, respond_resource, Scim, ScimBody,
};
use crate::db::run_blocking;
use crate::error::ScimApiError;
use crate::provisioning::users;
use crate::scim::schema::USER_RESOURCE;
use crate::state::AppState;

type Response = Result<HttpResponse, ScimApiError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Users")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Users/.search")
            .route(web::post().to(search))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    ScimBody(body): ScimBody,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let rendered = run_blocking(&state.pool, move |conn| users::create(conn, &ctx, &body)).await?;
    Ok(respond_resource(
        StatusCode::CREATED,
        &rendered,
        &projection,
        &USER_RESOURCE,
    ))
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let rendered = run_blocking(&state.pool, move |conn| users::get(conn, &ctx, &id)).await?;
    if let Some(response) = not_modified(&req, rendered.version) {
        return Ok(response);
    }
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &USER_RESOURCE,
    ))
}

async fn list(state: web::Data<AppState>, req: HttpRequest, Scim(ctx): Scim) -> Response {
    let query = list_query_from_params(&query_params(&req)?, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| users::list(conn, &ctx, &query)).await?;
    Ok(respond(StatusCode::OK, &body))
}

async fn search(state: web::Data<AppState>, Scim(ctx): Scim, ScimBody(body): ScimBody) -> Response {
    let query = list_query_from_search(&body, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| users::list(conn, &ctx, &query)).await?;
    Ok(respond(StatusCode::OK, &body))
}

async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let if_match = if_match(&req);
    let rendered = run_blocking(&state.pool, move |conn| {
        users::replace(conn, &ctx, &id, &body, if_match.as_deref())
    })
    .await?;
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &USER_RESOURCE,
    ))
}

async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let if_match = if_match(&req);
    let rendered = run_blocking(&state.pool, move |conn| {
        users::patch(conn, &ctx, &id, &body, if_match.as_deref())
    })
    .await?;
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &USER_RESOURCE,
    ))
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
) -> Response {
    let if_match = if_match(&req);
    run_blocking(&state.pool, move |conn| {
        users::delete(conn, &ctx, &id, if_match.as_deref())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
