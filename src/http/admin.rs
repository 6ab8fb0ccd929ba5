//! What every admin API handler shares: authentication by admin token, JSON bodies and
//! problem-details errors.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::middleware::RequestTenant;
use crate::access::AdminContext;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::provisioning::tokens::{self, TokenKind};
use crate::state::AppState;

/// An authenticated admin request.
pub struct Admin(pub AdminContext);

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = super::bearer_token(req);
        let req = req.clone();
        Box::pin(async move {
            let (Some(state), Some(presented)) = (state, presented) else {
                return Err(AdminError::Unauthorized);
            };
            let verified = run_blocking(&state.pool, move |conn| {
                tokens::verify(conn, &presented, TokenKind::Admin).map_err(AdminError::from)
            })
            .await?;
            let (tenant_id, token_id) = verified.ok_or(AdminError::Unauthorized)?;
            req.extensions_mut().insert(RequestTenant(tenant_id));
            Ok(Admin(AdminContext {
                tenant_id,
                actor: format!("admin-token:{token_id}"),
            }))
        })
    }
}

/// JSON bodies of the admin API: malformed or unexpected ones are 400 problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| AdminError::BadRequest(err.to_string()).into())
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

pub async fn method_not_allowed(req: HttpRequest) -> Result<actix_web::HttpResponse, AdminError> {
    Err(AdminError::MethodNotAllowed(format!(
        "{} is not supported on {}",
        req.method(),
        req.path()
    )))
}
