//! HTTP handlers, one file per resource; each module registers its routes in `configure`.

pub mod health;
pub mod middleware;
pub mod scim;
pub mod scim_bulk;
pub mod scim_discovery;
pub mod scim_groups;
pub mod scim_search;
pub mod scim_users;

use actix_web::web;

/// Every route of the server.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
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
