//! The application API: `/api/v1/check` (may this user do this?) and a user's effective
//! roles, with a token of kind `check` that can do nothing else. Errors are OAuth-style JSON
//! like the rest of `/api/v1`. Its OpenAPI document (`/api/v1/openapi.json`) is written on
//! the handlers.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::access::check::{self, Check, CheckAnswer, CheckBatch, CheckRequest, CheckResults};
use crate::access::users::{self, EffectiveAccess};
use crate::access::AdminContext;
use crate::db::run_blocking;
use crate::error::{AdminError, OidcError};
use crate::provisioning::tokens::{self, TokenKind};
use crate::state::AppState;

type Response = Result<HttpResponse, OidcError>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rolegate application API",
        description = "Permission checks and effective roles for applications. Every call needs \
                       a token of kind `check` (`rolegate token create --kind check`) as a bearer \
                       token; answers are exactly as fresh as the last committed change."
    ),
    paths(check_one, check_many, effective_roles, document),
    modifiers(&CheckToken)
)]
struct ApplicationApi;

struct CheckToken;

impl utoipa::Modify for CheckToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "check_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The application API's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApplicationApi::openapi()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/check")
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| {
                    OidcError::bad_request(format!("invalid check: {e}")).into()
                }),
            )
            .app_data(
                web::JsonConfig::default()
                    .limit(super::limits::CHECK_BODY_LIMIT)
                    .error_handler(|e, _| {
                        OidcError::bad_request(format!("invalid checks: {e}")).into()
                    }),
            )
            .route(web::get().to(check_one))
            .route(web::post().to(check_many)),
    )
    .service(
        web::resource("/api/v1/users/{id}/effective-roles")
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                OidcError::bad_request(format!("invalid user id: {e}")).into()
            }))
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| {
                    OidcError::bad_request(format!("invalid query: {e}")).into()
                }),
            )
            .route(web::get().to(effective_roles)),
    )
    .service(web::resource("/api/v1/openapi.json").route(web::get().to(document)));
}

/// The tenant of a valid check token, once it is that tenant's turn in the pool.
async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Uuid, OidcError> {
    let unauthorized = || OidcError::refused(401, "invalid_token", "a check token is required");
    let presented = super::bearer_token(req).ok_or_else(unauthorized)?;
    let verified = run_blocking(&state.pool, move |conn| {
        tokens::verify(conn, &presented, TokenKind::Check).map_err(OidcError::from)
    })
    .await?
    .ok_or_else(unauthorized)?;
    let tenant_id = verified.token.tenant_id;
    let slot = state.tenant_shares.enter(tenant_id).await.map_err(|_| {
        OidcError::refused(
            429,
            "temporarily_unavailable",
            "this tenant has too many requests in progress; retry later",
        )
    })?;
    super::hold_for_request(req, slot);
    Ok(tenant_id)
}

async fn answer(
    state: &AppState,
    tenant_id: Uuid,
    checks: Vec<Check>,
) -> Result<Vec<bool>, OidcError> {
    run_blocking(&state.pool, move |conn| {
        check::run(conn, tenant_id, &checks).map_err(OidcError::from)
    })
    .await
}

/// `GET /api/v1/check?user_id=…&privilege=…&application_id=…` → `{"allowed": bool}`.
#[utoipa::path(
    get,
    path = "/api/v1/check",
    tag = "check",
    description = "Whether one user (by `user_id`, `user_name` or `external_id`) holds a \
                   privilege on an application (`application_id`) or in an environment \
                   (`environment_id`). An unknown user, or a name matching several, is not allowed.",
    params(CheckRequest),
    responses(
        (status = 200, body = CheckAnswer),
        (status = 400, description = "a malformed check"),
        (status = 401, description = "no valid check token"),
    ),
    security(("check_token" = []))
)]
async fn check_one(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CheckRequest>,
) -> Response {
    let tenant_id = authenticate(&req, &state).await?;
    let one = Check::try_from(query.into_inner()).map_err(OidcError::bad_request)?;
    let allowed = answer(&state, tenant_id, vec![one]).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CheckAnswer {
            allowed: allowed.first().copied().unwrap_or(false),
        }))
}

/// `POST /api/v1/check` with `{"checks": [...]}` (up to 100) → `{"results": [...]}`, in
/// order.
#[utoipa::path(
    post,
    path = "/api/v1/check",
    tag = "check",
    description = "Up to 100 checks in one request; the results are in the order asked.",
    request_body = CheckBatch,
    responses(
        (status = 200, body = CheckResults),
        (status = 400, description = "a malformed check, or more than 100"),
        (status = 401, description = "no valid check token"),
    ),
    security(("check_token" = []))
)]
async fn check_many(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CheckBatch>,
) -> Response {
    let tenant_id = authenticate(&req, &state).await?;
    let checks = check::parse_batch(body.into_inner()).map_err(OidcError::bad_request)?;
    let allowed = answer(&state, tenant_id, checks).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CheckResults {
            results: allowed
                .into_iter()
                .map(|allowed| CheckAnswer { allowed })
                .collect(),
        }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EffectiveQuery {
    /// Only this environment.
    environment_id: Option<Uuid>,
}

/// A user's effective roles and privileges per environment and application, with every path
/// that grants each (the same document as the admin API's).
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/effective-roles",
    tag = "effective roles",
    params(("id" = Uuid, Path, description = "the user"), EffectiveQuery),
    responses(
        (status = 200, body = EffectiveAccess),
        (status = 401, description = "no valid check token"),
        (status = 404, description = "no such user in the token's tenant"),
    ),
    security(("check_token" = []))
)]
async fn effective_roles(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<EffectiveQuery>,
) -> Response {
    let tenant_id = authenticate(&req, &state).await?;
    let (id, environment) = (id.into_inner(), query.into_inner().environment_id);
    let access = run_blocking(&state.pool, move |conn| {
        // A check token reads, as Rolegate itself does; it can change nothing.
        let reader = AdminContext::internal(tenant_id, "check token");
        users::effective_access(conn, &reader, id, environment).map_err(|e| match e {
            AdminError::Db(e) => OidcError::Db(e),
            AdminError::NotFound(m) => OidcError::refused(404, "not_found", m),
            other => OidcError::Internal(other.to_string()),
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(access))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
               responses((status = 200, description = "the OpenAPI document")))]
async fn document() -> HttpResponse {
    HttpResponse::Ok().json(openapi())
}
