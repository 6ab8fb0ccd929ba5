use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::scim::{list_query_from_search, method_not_allowed, respond, Scim, ScimBody};
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
