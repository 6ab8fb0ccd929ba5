//! The endpoints of every SCIM resource type (RFC 7644 §3.3–§3.6), written once: each
//! type registered in `provisioning::resource::RESOURCES` gets `/{endpoint}`,
//! `/{endpoint}/.search` and `/{endpoint}/{id}`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::scim::{
    if_match, list_query_from_params, list_query_from_search, method_not_allowed, not_modified,
    projection, query_params, respond, respond_resource, Scim, ScimBody,
};
use crate::db::run_blocking;
use crate::error::ScimApiError;
use crate::provisioning::resource::{ScimResource, RESOURCES};
use crate::provisioning::{listing, ListQuery, ScimContext};
use crate::state::AppState;

type Response = Result<HttpResponse, ScimApiError>;
type Resource = &'static dyn ScimResource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for &resource in &RESOURCES {
        let endpoint = resource.resource_type().endpoint;
        cfg.service(
            web::resource(format!("/{endpoint}"))
                .route(web::get().to(move |s, r, c| list(resource, s, r, c)))
                .route(web::post().to(move |s, r, c, b| create(resource, s, r, c, b)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(format!("/{endpoint}/.search"))
                .route(web::post().to(move |s, c, b| search(resource, s, c, b)))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(format!("/{endpoint}/{{id}}"))
                .route(web::get().to(move |s, r, c, i| get(resource, s, r, c, i)))
                .route(web::put().to(move |s, r, c, i, b| replace(resource, s, r, c, i, b)))
                .route(web::patch().to(move |s, r, c, i, b| patch(resource, s, r, c, i, b)))
                .route(web::delete().to(move |s, r, c, i| delete(resource, s, r, c, i)))
                .default_service(web::to(method_not_allowed)),
        );
    }
}

async fn create(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    ScimBody(body): ScimBody,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let rendered =
        run_blocking(&state.pool, move |conn| resource.create(conn, &ctx, &body)).await?;
    Ok(respond_resource(
        StatusCode::CREATED,
        &rendered,
        &projection,
        resource.resource_type(),
    ))
}

async fn get(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let wanted = projection.clone();
    let rendered = run_blocking(&state.pool, move |conn| {
        resource.get(conn, &ctx, &id, &wanted)
    })
    .await?;
    if let Some(response) = not_modified(&req, rendered.version) {
        return Ok(response);
    }
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        resource.resource_type(),
    ))
}

async fn list(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
) -> Response {
    let query = list_query_from_params(&query_params(&req)?, state.settings.max_page_size)?;
    answer_list(resource, &state, ctx, query).await
}

async fn search(
    resource: Resource,
    state: web::Data<AppState>,
    Scim(ctx): Scim,
    ScimBody(body): ScimBody,
) -> Response {
    let query = list_query_from_search(&body, state.settings.max_page_size)?;
    answer_list(resource, &state, ctx, query).await
}

/// A list request, from the query string or a `.search` body, answered.
async fn answer_list(
    resource: Resource,
    state: &AppState,
    ctx: ScimContext,
    query: ListQuery,
) -> Response {
    let body = run_blocking(&state.pool, move |conn| {
        listing::list(conn, &ctx, resource, &query)
    })
    .await?;
    Ok(respond(StatusCode::OK, &body))
}

async fn replace(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Response {
    let projection = projection(&query_params(&req)?)?;
    let if_match = if_match(&req);
    let rendered = run_blocking(&state.pool, move |conn| {
        resource.replace(conn, &ctx, &id, &body, if_match.as_deref())
    })
    .await?;
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        resource.resource_type(),
    ))
}

/// 200 with the resource, or 204 with its ETag for a type whose document is costly
/// (`patch_answers_resource`) unless the request asks for attributes back.
async fn patch(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
    ScimBody(body): ScimBody,
) -> Response {
    let params = query_params(&req)?;
    let projection = projection(&params)?;
    let answer = resource.patch_answers_resource() || params.attributes.is_some();
    let if_match = if_match(&req);
    let rendered = run_blocking(&state.pool, move |conn| {
        resource.patch(conn, &ctx, &id, &body, if_match.as_deref(), answer)
    })
    .await?;
    if !answer {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, crate::scim::etag(rendered.version)))
            .finish());
    }
    Ok(respond_resource(
        StatusCode::OK,
        &rendered,
        &projection,
        resource.resource_type(),
    ))
}

async fn delete(
    resource: Resource,
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
    id: web::Path<String>,
) -> Response {
    let if_match = if_match(&req);
    run_blocking(&state.pool, move |conn| {
        resource.delete(conn, &ctx, &id, if_match.as_deref())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
