use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::scim::{
    if_match, list_query_from_params, list_query_from_search, method_not_allowed, not_modified,
    projection, query_params, respond, respond_resource, Scim, ScimBody,
};
use crate::db::run_blocking;
use crate::error::ScimApiError;
use crate::provisioning::groups;
use crate::scim::schema::GROUP_RESOURCE;
use crate::state::AppState;

type Response = Result<HttpResponse, ScimApiError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Groups")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Groups/.search")
            .route(web::post().to(search))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Groups/{id}")
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
    let rendered = run_blocking(&state.pool, move |conn| groups::create(conn, &ctx, &body)).await?;
    Ok(respond_resource(
        StatusCode::CREATED,
        &rendered,
        &projection,
        &GROUP_RESOURCE,
    ))
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let with_members = projection.wants(&GROUP_RESOURCE, "members");
    let rendered = run_blocking(&state.pool, move |conn| {
        groups::get(conn, &ctx, &id, with_members)
    })
    .await?;
    if let Some(response) = not_modified(&req, rendered.version) {
        return Ok(response);
    }
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &GROUP_RESOURCE,
    ))
}

async fn list(state: web::Data<AppState>, req: HttpRequest, Scim(ctx): Scim) -> Response {
    let query = list_query_from_params(&query_params(&req)?, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| groups::list(conn, &ctx, &query)).await?;
    Ok(respond(StatusCode::OK, &body))
}

async fn search(state: web::Data<AppState>, Scim(ctx): Scim, ScimBody(body): ScimBody) -> Response {
    let query = list_query_from_search(&body, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| groups::list(conn, &ctx, &query)).await?;
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
        groups::replace(conn, &ctx, &id, &body, if_match.as_deref())
    })
    .await?;
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &GROUP_RESOURCE,
    ))
}

/// Answers 204 unless the request asks for attributes back (`attributes=`): returning the
/// member list of a large group after changing one member would cost more than the change.
async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Response {
    let params = query_params(&req)?;
    let projection = projection(&params)?;
    let want_resource = params.attributes.is_some();
    let if_match = if_match(&req);
    let rendered = run_blocking(&state.pool, move |conn| {
        groups::patch(conn, &ctx, &id, &body, if_match.as_deref(), want_resource)
    })
    .await?;
    if !want_resource {
        return Ok(HttpResponse::NoContent()
            .insert_header((
                actix_web::http::header::ETAG,
                crate::scim::etag(rendered.version),
            ))
            .finish());
    }
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        &GROUP_RESOURCE,
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
        groups::delete(conn, &ctx, &id, if_match.as_deref())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
