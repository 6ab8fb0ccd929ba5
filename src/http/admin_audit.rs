use actix_web::{web, HttpResponse};

use super::admin::{method_not_allowed, Admin};
use crate::access::audit::{self, AuditQuery};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/audit")
            .route(web::get().to(search))
            .default_service(web::to(method_not_allowed)),
    );
}

/// Audit entries, newest first; page with `before_id` (the last id seen).
async fn search(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AdminError> {
    let entries = run_blocking(&state.pool, move |conn| audit::search(conn, &ctx, &query)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "entries": entries })))
}
