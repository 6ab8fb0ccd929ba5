//! HTTP handlers, one file per resource; each module registers its routes in `configure`.

pub mod admin;
pub mod admin_applications;
pub mod admin_assignments;
pub mod admin_audit;
pub mod admin_collaborator_groups;
pub mod admin_end_user_groups;
pub mod admin_environments;
pub mod admin_group_mappings;
pub mod admin_oidc_providers;
pub mod admin_openapi;
pub mod admin_roles;
pub mod admin_routes;
pub mod admin_tokens;
pub mod admin_users;
pub mod health;
pub mod middleware;
pub mod oidc;
pub mod scim;
pub mod scim_bulk;
pub mod scim_discovery;
pub mod scim_groups;
pub mod scim_search;
pub mod scim_users;

use actix_web::http::header;
use actix_web::{web, HttpRequest};

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The server's base URL as clients reach it: the configured public URL, or the scheme and
/// host of the request. No trailing slash.
pub fn public_root(req: &HttpRequest) -> String {
    let configured = req
        .app_data::<web::Data<crate::state::AppState>>()
        .and_then(|s| s.settings.public_url.clone());
    let root = configured.unwrap_or_else(|| {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    });
    root.trim_end_matches('/').to_string()
}

/// Every route of the server.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    oidc::configure(cfg);
    cfg.service(
        web::scope("/admin/v1")
            .app_data(admin::json_config(1024 * 1024))
            .app_data(admin::query_config())
            .app_data(admin::path_config())
            .configure(admin_routes::configure)
            .default_service(web::to(admin::not_found)),
    );
    cfg.service(
        web::scope("/scim/v2")
            .configure(scim_discovery::configure)
            .configure(scim_users::configure)
            .configure(scim_groups::configure)
            .configure(scim_search::configure)
            .configure(scim_bulk::configure)
            .default_service(web::to(scim::not_found)),
    );
}
