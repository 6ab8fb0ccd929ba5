use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::scim::{method_not_allowed, respond, Scim, ScimBody};
use crate::db::run_blocking;
use crate::error::ScimApiError;
use crate::provisioning::bulk;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Bulk")
            .route(web::post().to(process))
            .default_service(web::to(method_not_allowed)),
    );
}

/// The body limit is the advertised `maxPayloadSize`: a larger request gets 413 before
/// anything runs.
async fn process(
    state: web::Data<AppState>,
    Scim(ctx): Scim,
    ScimBody(body): ScimBody,
) -> Result<HttpResponse, ScimApiError> {
    let response = run_blocking(&state.pool, move |conn| bulk::process(conn, &ctx, &body)).await?;
    Ok(respond(StatusCode::OK, &response))
}
