//! What every admin API handler shares: authentication by admin token, JSON bodies and
//! problem-details errors.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use diesel::PgConnection;
use serde::Serialize;
use uuid::Uuid;

use super::admin_routes::PathRoutes;
use super::middleware::RequestTenant;
use crate::access::authorization::AdminPrincipal;
use crate::access::authorization::Target;
use crate::access::effective::Pending;
use crate::access::{self, AdminContext, MutationOptions, Outcome};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::provisioning::tokens::{self, TokenHolder, TokenKind};
use crate::state::AppState;

/// An authenticated admin request, carrying what its route requires.
pub struct Admin(pub AdminContext);

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let declared = req
            .app_data::<web::Data<PathRoutes>>()
            .and_then(|routes| routes.find(req.method()));
        let presented = super::bearer_token(req);
        let req = req.clone();
        Box::pin(async move {
            // Only declared routes take an admin principal; anything else is a bug.
            let Some((route, operation)) = declared else {
                return Err(AdminError::Internal(format!(
                    "{} {} is not a declared admin route",
                    req.method(),
                    req.path()
                )));
            };
            let (Some(state), Some(presented)) = (state, presented) else {
                return Err(AdminError::Unauthorized);
            };
            let verified = run_blocking(&state.pool, move |conn| {
                tokens::verify(conn, &presented, TokenKind::Admin).map_err(AdminError::from)
            })
            .await?;
            let verified = verified.ok_or(AdminError::Unauthorized)?;
            let token = &verified.token;
            req.extensions_mut().insert(RequestTenant(token.tenant_id));
            let slot = state
                .tenant_shares
                .enter(token.tenant_id)
                .await
                .map_err(|busy| AdminError::TenantBusy(busy.retry_after_seconds))?;
            super::hold_for_request(&req, slot);
            let principal = principal_of(verified.holder)?;
            Ok(Admin(AdminContext::for_route(
                token.tenant_id,
                format!("admin-token:{}", token.id),
                principal,
                route.requirement,
                operation,
            )))
        })
    }
}

/// Whom an admin token lets act: only admin tokens (owner or user-bound) qualify.
pub fn principal_of(holder: TokenHolder) -> Result<AdminPrincipal, AdminError> {
    match holder {
        TokenHolder::User(user) => Ok(AdminPrincipal::User(user)),
        TokenHolder::Owner => Ok(AdminPrincipal::Owner),
        TokenHolder::Connector | TokenHolder::Application => Err(AdminError::Unauthorized),
    }
}

/// JSON bodies of the admin API: malformed or unexpected ones are 400 problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _| match err {
            actix_web::error::JsonPayloadError::Overflow { .. }
            | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                AdminError::TooLarge {
                    status: 413,
                    slug: "payload-too-large",
                    detail: format!("the request body is larger than {limit} bytes"),
                }
                .into()
            }
            other => AdminError::BadRequest(other.to_string()).into(),
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| AdminError::BadRequest(err.to_string()).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_, req| AdminError::NotFound(format!("nothing at {}", req.path())).into())
}

pub async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, AdminError> {
    Err(AdminError::NotFound(format!(
        "no admin endpoint at {}",
        req.path()
    )))
}

/// The flags every admin mutation accepts in its query string (`dry_run`,
/// `confirm_self_lockout`); other parameters are left to the handler.
pub struct Mutation(pub MutationOptions);

impl FromRequest for Mutation {
    type Error = AdminError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_urlencoded::from_str::<MutationOptions>(req.query_string())
                .map(Mutation)
                .map_err(|e| AdminError::BadRequest(format!("invalid query: {e}"))),
        )
    }
}

/// Runs an admin mutation (see `access::mutate`) on the blocking pool.
pub async fn mutation<T, F>(
    state: &AppState,
    ctx: AdminContext,
    Mutation(options): Mutation,
    cause: &'static str,
    change: F,
) -> Result<Outcome<T>, AdminError>
where
    F: FnOnce(&mut PgConnection, &AdminContext, &mut Pending) -> Result<T, AdminError>
        + Send
        + 'static,
    T: Send + 'static,
{
    run_blocking(&state.pool, move |conn| {
        access::mutate(conn, &ctx, options, cause, |conn, pending| {
            change(conn, &ctx, pending)
        })
    })
    .await
}

/// Answers an applied mutation with `applied`, a dry run with its preview (200).
pub fn respond<T>(
    outcome: Outcome<T>,
    applied: impl FnOnce(T) -> HttpResponse,
) -> Result<HttpResponse, AdminError> {
    Ok(match outcome {
        Outcome::Applied(value) => applied(value),
        Outcome::Preview(preview) => HttpResponse::Ok().json(preview),
    })
}

pub fn ok<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

pub fn no_content<T>(_: T) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// 201 with the new resource's location.
pub fn created_at<T: Serialize>(
    collection: &'static str,
    id: impl Fn(&T) -> Uuid,
) -> impl FnOnce(T) -> HttpResponse {
    move |value| {
        HttpResponse::Created()
            .insert_header(("Location", format!("/admin/v1/{collection}/{}", id(&value))))
            .json(value)
    }
}

/// Runs a read-only admin query on the blocking pool and answers 200 with its JSON.
pub async fn read<T, F>(
    state: &AppState,
    ctx: AdminContext,
    query: F,
) -> Result<HttpResponse, AdminError>
where
    F: FnOnce(&mut PgConnection, &AdminContext) -> Result<T, AdminError> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let value = run_blocking(&state.pool, move |conn| -> Result<T, AdminError> {
        if ctx.requirement_is_tenant_wide() {
            ctx.authorize(conn, Target::Tenant)?;
        }
        let value = query(conn, &ctx)?;
        ctx.ensure_authorized()?;
        Ok(value)
    })
    .await?;
    Ok(HttpResponse::Ok().json(value))
}
