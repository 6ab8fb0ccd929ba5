//! Queries across every resource type at the SCIM root (RFC 7644 §3.4.2.1 and §3.4.3):
//! `GET /scim/v2?filter=…` and `POST /scim/v2/.search`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::scim::{
    list_query_from_params, list_query_from_search, method_not_allowed, query_params, respond,
    Scim, ScimBody,
};
use crate::db::run_blocking;
use crate::error::ScimApiError;
use crate::provisioning::search_all;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.search")
            .route(web::post().to(search))
            .default_service(web::to(method_not_allowed)),
    );
    for root in ["", "/"] {
        cfg.service(
            web::resource(root)
                .route(web::get().to(root_query))
                .default_service(web::to(method_not_allowed)),
        );
    }
}

async fn root_query(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scim(ctx): Scim,
) -> Result<HttpResponse, ScimApiError> {
    let query = list_query_from_params(&query_params(&req)?, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| search_all(conn, &ctx, &query)).await?;
    Ok(respond(StatusCode::OK, &body))
}

async fn search(
    state: web::Data<AppState>,
    Scim(ctx): Scim,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let query = list_query_from_search(&body, state.settings.max_page_size)?;
    let body = run_blocking(&state.pool, move |conn| search_all(conn, &ctx, &query)).await?;
    Ok(respond(StatusCode::OK, &body))
}
