use actix_web::{web, HttpResponse};
use diesel_migrations::MigrationHarness;

use crate::db::{run_blocking, server_role, DbError, ServerRole, MIGRATIONS};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// The process is up.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

enum Readiness {
    Ready,
    MigrationsPending,
    ReadOnly,
}

/// The database answers, takes writes, and its schema is the one this build expects. A node
/// connected to a standby (no promotion yet, or a host that is not the primary) is not
/// ready: its writes would fail.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let result = run_blocking(&state.pool, |conn| {
        if server_role(conn).map_err(DbError::from)? == ServerRole::ReadOnly {
            return Ok(Readiness::ReadOnly);
        }
        let pending = conn
            .has_pending_migration(MIGRATIONS)
            .map_err(|e| DbError::Blocking(e.to_string()))?;
        Ok::<_, DbError>(if pending {
            Readiness::MigrationsPending
        } else {
            Readiness::Ready
        })
    })
    .await;
    match result {
        Ok(Readiness::Ready) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(Readiness::MigrationsPending) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "migrations pending"})),
        Ok(Readiness::ReadOnly) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database read-only"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "database unavailable"}))
        }
    }
}

/// Prometheus text exposition format.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::render(&state.pool))
}
