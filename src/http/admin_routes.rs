//! The admin API's routes, each declared once beside its handler (`ROUTES` in every
//! `admin_*` module): method, path, handler, the privilege it requires and where, and its
//! OpenAPI description. The server registers exactly these routes and the OpenAPI document
//! describes exactly these, so the two cannot drift.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{
    admin_applications, admin_assignments, admin_audit, admin_collaborator_groups,
    admin_deployments, admin_end_user_groups, admin_environments, admin_events,
    admin_group_mappings, admin_oidc_providers, admin_openapi, admin_roles, admin_tokens,
    admin_users, admin_webhooks, admin_workspaces,
};
use crate::access::authorization::Requirement;
use crate::error::AdminError;

/// What an operation answers on success.
#[derive(Clone, Copy)]
pub enum Answer {
    /// 200/201 with a schema.
    Body(u16, &'static str),
    /// 200 with `{"<key>": [schema]}`.
    List(&'static str, &'static str),
    /// 204, no body.
    Empty,
}

/// One operation of the admin API.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Attaches the handler to a route of this method.
    pub handler: fn(actix_web::Route) -> actix_web::Route,
    pub requirement: Requirement,
    pub tag: &'static str,
    pub summary: &'static str,
    pub body: Option<&'static str>,
    pub answer: Answer,
    /// Query parameters besides the mutation flags: (name, type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    /// Takes `dry_run` and `confirm_self_lockout`.
    pub mutation: bool,
}

pub const ENVIRONMENT_FILTER: &[(&str, &str, &str)] =
    &[("environment_id", "uuid", "only those of this environment")];

impl Route {
    /// A GET.
    pub const fn read(
        path: &'static str,
        handler: fn(actix_web::Route) -> actix_web::Route,
        requirement: Requirement,
        tag: &'static str,
        summary: &'static str,
        answer: Answer,
        query: &'static [(&'static str, &'static str, &'static str)],
    ) -> Route {
        Route {
            method: "get",
            path,
            handler,
            requirement,
            tag,
            summary,
            body: None,
            answer,
            query,
            mutation: false,
        }
    }

    /// A mutation (takes `dry_run` and `confirm_self_lockout`).
    #[allow(clippy::too_many_arguments)]
    pub const fn write(
        method: &'static str,
        path: &'static str,
        handler: fn(actix_web::Route) -> actix_web::Route,
        requirement: Requirement,
        tag: &'static str,
        summary: &'static str,
        body: Option<&'static str>,
        answer: Answer,
    ) -> Route {
        Route {
            method,
            path,
            handler,
            requirement,
            tag,
            summary,
            body,
            answer,
            query: &[],
            mutation: true,
        }
    }

    fn http_method(&self) -> actix_web::http::Method {
        match self.method {
            "post" => actix_web::http::Method::POST,
            "put" => actix_web::http::Method::PUT,
            "patch" => actix_web::http::Method::PATCH,
            "delete" => actix_web::http::Method::DELETE,
            _ => actix_web::http::Method::GET,
        }
    }

    /// `GET /admin/v1/users/{id}`, as metrics and errors name it.
    pub fn operation(&self) -> String {
        format!("{} /admin/v1{}", self.method.to_uppercase(), self.path)
    }
}

/// Every admin route, in registration order (a literal path before a parameter at the
/// same place: `/users/import` before `/users/{id}`).
pub fn all() -> impl Iterator<Item = &'static Route> {
    [
        admin_environments::ROUTES,
        admin_roles::ROUTES,
        admin_applications::ROUTES,
        admin_deployments::ROUTES,
        admin_end_user_groups::ROUTES,
        admin_collaborator_groups::ROUTES,
        admin_group_mappings::ROUTES,
        admin_assignments::ROUTES,
        admin_users::ROUTES,
        admin_audit::ROUTES,
        admin_events::ROUTES,
        admin_webhooks::ROUTES,
        admin_workspaces::ROUTES,
        admin_oidc_providers::ROUTES,
        admin_tokens::ROUTES,
        admin_openapi::ROUTES,
    ]
    .into_iter()
    .flatten()
}

/// `METHOD /admin/v1/path` of every route, in the order of [`all`], made once per process.
static OPERATIONS: LazyLock<Vec<String>> = LazyLock::new(|| all().map(Route::operation).collect());

/// The declared routes of one path, found by the admin extractor to know what the
/// request requires.
pub struct PathRoutes {
    routes: Vec<(&'static Route, &'static str)>,
    allow: String,
}

impl PathRoutes {
    /// The route of this method, with its operation name.
    pub fn find(&self, method: &actix_web::http::Method) -> Option<(&'static Route, &'static str)> {
        self.routes
            .iter()
            .find(|(r, _)| r.http_method() == method)
            .copied()
    }
}

/// Registers every declared route; a method a path does not declare answers 405 with
/// `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&'static str> = Vec::new();
    let mut by_path: BTreeMap<&'static str, Vec<(&'static Route, &'static str)>> = BTreeMap::new();
    for (route, operation) in all().zip(OPERATIONS.iter()) {
        if !by_path.contains_key(route.path) {
            paths.push(route.path);
        }
        by_path
            .entry(route.path)
            .or_default()
            .push((route, operation.as_str()));
    }
    for path in paths {
        let routes = by_path.remove(path).unwrap_or_default();
        let allow = routes
            .iter()
            .map(|(r, _)| r.method.to_uppercase())
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = web::resource(path);
        for (route, _) in &routes {
            resource = resource.route((route.handler)(web::method(route.http_method())));
        }
        let declared = PathRoutes { routes, allow };
        cfg.service(
            resource
                .app_data(web::Data::new(declared))
                .default_service(web::to(method_not_allowed)),
        );
    }
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let allow = req
        .app_data::<web::Data<PathRoutes>>()
        .map(|d| d.allow.clone())
        .unwrap_or_default();
    let mut response = actix_web::ResponseError::error_response(&AdminError::MethodNotAllowed(
        format!("{} is not supported on {}", req.method(), req.path()),
    ));
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The declared route of this method (`get`, `post`, …) and path (`/users/{id}`), with its
/// operation name; the console acts through these.
pub fn declared(method: &str, path: &str) -> Option<(&'static Route, &'static str)> {
    all()
        .zip(OPERATIONS.iter())
        .find(|(r, _)| r.method == method && r.path == path)
        .map(|(r, op)| (r, op.as_str()))
}
