use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::scim::{base_url, method_not_allowed, respond, Scim};
use crate::error::ScimApiError;
use crate::scim::discovery::{self, Limits};
use crate::scim::{list_response, ScimError};
use crate::state::AppState;

type Response = Result<HttpResponse, ScimApiError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, handler) in [
        (
            "/ServiceProviderConfig",
            web::get().to(service_provider_config),
        ),
        ("/Schemas", web::get().to(schemas)),
        ("/Schemas/{id}", web::get().to(schema)),
        ("/ResourceTypes", web::get().to(resource_types)),
        ("/ResourceTypes/{id}", web::get().to(resource_type)),
    ] {
        cfg.service(
            web::resource(path)
                .route(handler)
                .default_service(web::to(method_not_allowed)),
        );
    }
}

async fn service_provider_config(
    state: web::Data<AppState>,
    req: HttpRequest,
    _: Scim,
) -> Response {
    let limits = Limits {
        max_results: state.settings.max_page_size,
        default_page_size: super::scim::DEFAULT_PAGE_SIZE.min(state.settings.max_page_size),
        cursor_timeout_seconds: crate::provisioning::cursor::CURSOR_TIMEOUT_SECONDS,
        bulk_max_operations: crate::provisioning::bulk::MAX_OPERATIONS,
        bulk_max_payload_size: state.settings.body_limit,
    };
    Ok(respond(
        StatusCode::OK,
        &discovery::service_provider_config(&base_url(&req), limits),
    ))
}

async fn schemas(req: HttpRequest, _: Scim) -> Response {
    let all = discovery::schemas(&base_url(&req));
    Ok(respond(
        StatusCode::OK,
        &list_response(all.len() as i64, 1, all),
    ))
}

async fn schema(req: HttpRequest, _: Scim, id: web::Path<String>) -> Response {
    let found = discovery::schema(&base_url(&req), &id)
        .ok_or_else(|| ScimError::not_found(format!("no schema '{id}'")))?;
    Ok(respond(StatusCode::OK, &found))
}

async fn resource_types(req: HttpRequest, _: Scim) -> Response {
    let all = discovery::resource_types(&base_url(&req));
    Ok(respond(
        StatusCode::OK,
        &list_response(all.len() as i64, 1, all),
    ))
}

async fn resource_type(req: HttpRequest, _: Scim, id: web::Path<String>) -> Response {
    let found = discovery::resource_type(&base_url(&req), &id)
        .ok_or_else(|| ScimError::not_found(format!("no resource type '{id}'")))?;
    Ok(respond(StatusCode::OK, &found))
}
