//! HTTP handlers, one file per resource; each module registers its routes in `configure`.

pub mod admin;
pub mod admin_applications;
pub mod admin_assignments;
pub mod admin_audit;
pub mod admin_collaborator_groups;
pub mod admin_deployments;
pub mod admin_end_user_groups;
pub mod admin_environments;
pub mod admin_events;
pub mod admin_group_mappings;
pub mod admin_oidc_providers;
pub mod admin_openapi;
pub mod admin_roles;
pub mod admin_routes;
pub mod admin_tokens;
pub mod admin_users;
pub mod admin_webhooks;
pub mod admin_workspaces;
pub mod check;
pub mod console;
pub mod health;
pub mod limits;
pub mod middleware;
pub mod oidc;
pub mod scim;
pub mod scim_bulk;
pub mod scim_discovery;
pub mod scim_resources;
pub mod scim_search;

use actix_web::http::header;
use actix_web::{web, HttpMessage, HttpRequest};

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Keeps the tenant's slot for the request. A request whose body is still to be read gives
/// its connection back first: a slow upload must not hold one.
pub fn hold_for_request(req: &HttpRequest, slot: crate::tenant_share::TenantSlot) {
    if let Some(slot) = crate::db::hold_tenant_slot(slot) {
        req.extensions_mut().insert(slot);
    }
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        crate::db::release_request_connection();
    }
}

/// The server's base URL as clients reach it, for redirect URIs, token issuers and SCIM
/// locations: the configured public URL; else, for a request through a trusted proxy, the
/// scheme and host it forwards; else the address the server listens on. Never a `Host` or
/// `X-Forwarded-Host` header an arbitrary client chose. No trailing slash.
pub fn public_root(req: &HttpRequest) -> String {
    let settings = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| &s.settings);
    if let Some(url) = settings.and_then(|s| s.public_url.as_deref()) {
        return url.trim_end_matches('/').to_string();
    }
    let through_trusted_proxy = settings
        .zip(req.peer_addr())
        .is_some_and(|(s, peer)| s.trusted_proxies.contains(peer.ip()));
    if through_trusted_proxy {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host())
            .trim_end_matches('/')
            .to_string();
    }
    format!("http://{}", req.app_config().local_addr())
}

/// Every route of the server.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    oidc::configure(cfg);
    check::configure(cfg);
    console::configure(cfg);
    cfg.service(
        web::scope("/admin/v1")
            .app_data(admin::json_config(limits::ADMIN_BODY_LIMIT))
            .app_data(admin::query_config())
            .app_data(admin::path_config())
            .configure(admin_routes::configure)
            .default_service(web::to(admin::not_found)),
    );
    cfg.service(
        web::scope("/scim/v2")
            .configure(scim_discovery::configure)
            .configure(scim_resources::configure)
            .configure(scim_search::configure)
            .configure(scim_bulk::configure)
            .default_service(web::to(scim::not_found)),
    );
}
