//! Rolegate: a SCIM 2.0 provisioning server and OIDC claim mapper whose effective roles
//! are computed in PostgreSQL.

pub mod access;
pub mod casefold;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod error;
pub mod events;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod provisioning;
pub mod scim;
pub mod state;
pub mod telemetry;
pub mod tenant_share;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};

use crate::state::AppState;

/// Starts the HTTP server on an already-bound listener (tests bind port 0).
pub fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let shutdown_timeout = state.settings.shutdown_timeout_seconds;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(http::middleware::observe))
            .app_data(data.clone())
            .configure(http::configure)
    })
    .listen(listener)?
    // On SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded).
    .shutdown_timeout(shutdown_timeout)
    .run();
    Ok(server)
}
