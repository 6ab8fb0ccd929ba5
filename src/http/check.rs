//! `/api/v1/check`: applications ask whether a user may do something, with a token of kind
//! `check` that can do nothing else. Errors are OAuth-style JSON like the rest of `/api/v1`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::access::check::{self, Check, CheckAnswer, CheckBatch, CheckRequest, CheckResults};
use crate::db::run_blocking;
use crate::error::OidcError;
use crate::provisioning::tokens::{self, TokenKind};
use crate::state::AppState;

type Response = Result<HttpResponse, OidcError>;

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
    );
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
