//! The admin console at `/console`: server-rendered pages over the admin API's own
//! operations. Every page and form acts through the admin route it mirrors — the same
//! requirement, the same checks, the same mutation pipeline with its dry run — so the
//! console can never do more than the signed-in person's admin API could, and every change
//! is shown as its dry run before it applies.
//!
//! No inline script or style: the policy allows only the console's own embedded assets,
//! and every form carries the session's CSRF token.

mod applications;
mod assets;
mod audit;
mod connections;
mod environments;
mod events;
mod group_members;
mod idp_groups;
mod layout;
mod roles;
mod sign_in;
mod users;

pub use sign_in::session_cookie;

use crate::access::Rule;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use diesel::PgConnection;
use maud::html;

use super::admin_routes;
use super::middleware::RequestTenant;
use crate::access::authorization::Target;
use crate::access::effective::Pending;
use crate::access::{self, AdminContext, MutationOptions, Outcome, Preview};
use crate::console::{self as sessions, ConsoleSession};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

pub const COOKIE: &str = "rolegate_console";

/// What the console's pages may load: their own stylesheet, script and images; forms post
/// only here; nothing frames them.
pub const POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .app_data(
                web::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| {
                        ConsoleError::Admin(AdminError::BadRequest(e.to_string())).into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ConsoleError::Admin(AdminError::BadRequest(e.to_string())).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, req| {
                ConsoleError::Admin(AdminError::NotFound(format!("nothing at {}", req.path())))
                    .into()
            }))
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .configure(assets::configure)
            .configure(sign_in::configure)
            .configure(users::configure)
            .configure(environments::configure)
            .configure(group_members::configure)
            .configure(idp_groups::configure)
            .configure(applications::configure)
            .configure(events::configure)
            .configure(roles::configure)
            .configure(audit::configure)
            .configure(connections::configure)
            .default_service(web::to(not_found)),
    );
}

/// The first section the person may read.
async fn home(Signed(session): Signed) -> HttpResponse {
    let first = layout::Section::ALL
        .into_iter()
        .find(|s| s.offered_to(&session))
        .unwrap_or(layout::Section::Connections);
    see_other(first.href())
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    ConsoleError::Admin(AdminError::NotFound(format!(
        "no console page at {}",
        req.path()
    )))
    .error_response()
}

/// A redirect after a form (303, so the browser follows with a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A console page's answer: HTML, never cached, under the console's policy.
pub fn html_response(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Not `no-referrer`: under it a browser sends `Origin: null` with the console's own
        // form posts, and the sign-in form is checked by its Origin.
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// Why a console request failed, shown as a page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, or it no longer stands: to the sign-in page.
    #[error("sign in first")]
    SignIn,
    /// A form without this session's CSRF token.
    #[error("this form is stale or was not sent from the console; reload the page and try again")]
    Csrf,
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl From<crate::db::DbError> for ConsoleError {
    fn from(e: crate::db::DbError) -> Self {
        ConsoleError::Admin(e.into())
    }
}

impl From<diesel::result::Error> for ConsoleError {
    fn from(e: diesel::result::Error) -> Self {
        ConsoleError::Admin(e.into())
    }
}

impl crate::db::FromDatabase for ConsoleError {
    fn database_error(&self) -> Option<&diesel::result::Error> {
        match self {
            ConsoleError::Admin(e) => e.database_error(),
            _ => None,
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::Admin(e) => e.problem().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title, detail) = match self {
            ConsoleError::SignIn => return see_other("/console/sign-in"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "csrf", "Refused", self.to_string()),
            ConsoleError::Admin(e) => {
                let problem = e.problem();
                if problem.0.is_server_error() {
                    tracing::error!(error = %e, "console request failed");
                }
                problem
            }
        };
        html_response(
            status,
            layout::bare(
                title,
                html! {
                    h1 { (title) }
                    p.problem { (detail) }
                    p { small { "Error code: " code { (slug) } } }
                    p { a href="/console" { "Back to the console" } }
                },
            ),
        )
    }
}

/// The signed-in session of a console request.
pub struct Signed(pub ConsoleSession);

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = req.cookie(COOKIE).map(|c| c.value().to_string());
        let req = req.clone();
        Box::pin(async move {
            let (Some(state), Some(cookie)) = (state, cookie) else {
                return Err(ConsoleError::SignIn);
            };
            let session = run_blocking(&state.pool, move |conn| {
                let Some(mut session) = sessions::verify(conn, &cookie)? else {
                    return Ok(None);
                };
                session.may_read = readable_lists(conn, &session)?;
                Ok::<_, AdminError>(Some(session))
            })
            .await?
            .ok_or(ConsoleError::SignIn)?;
            req.extensions_mut()
                .insert(RequestTenant(session.tenant_id));
            let slot = state
                .tenant_shares
                .enter(session.tenant_id)
                .await
                .map_err(|busy| AdminError::TenantBusy(busy.retry_after_seconds))?;
            super::hold_for_request(&req, slot);
            Ok(Signed(session))
        })
    }
}

/// The sections' list routes that answer the session anything now.
fn readable_lists(
    conn: &mut PgConnection,
    session: &ConsoleSession,
) -> Result<Vec<&'static str>, AdminError> {
    let mut readable = Vec::new();
    for route in layout::Section::ALL.iter().filter_map(|s| s.list_route()) {
        if context(session, "get", route)?.answers_somewhere(conn)? {
            readable.push(route);
        }
    }
    Ok(readable)
}

/// The admin context of the admin route a console page or form stands for.
pub fn context(
    session: &ConsoleSession,
    method: &str,
    path: &str,
) -> Result<AdminContext, AdminError> {
    let (route, operation) = admin_routes::declared(method, path).ok_or_else(|| {
        AdminError::Internal(format!("the console names {method} {path}, no admin route"))
    })?;
    Ok(AdminContext::for_route(
        session.tenant_id,
        session.actor.clone(),
        session.principal,
        route.requirement,
        operation,
    ))
}

/// Runs a read as the admin route it mirrors would: its requirement checked before
/// anything is answered.
pub fn checked<T>(
    conn: &mut PgConnection,
    session: &ConsoleSession,
    method: &str,
    path: &str,
    read: impl FnOnce(&mut PgConnection, &AdminContext) -> Result<T, AdminError>,
) -> Result<T, AdminError> {
    let ctx = context(session, method, path)?;
    if ctx.requirement_is_tenant_wide() {
        ctx.authorize(conn, Target::Tenant)?;
    }
    let value = read(conn, &ctx)?;
    ctx.ensure_authorized()?;
    Ok(value)
}

/// Whether the session may call this admin route on this target: the console offers only
/// what would be allowed.
pub fn may(
    conn: &mut PgConnection,
    session: &ConsoleSession,
    method: &str,
    path: &str,
    target: Target,
) -> Result<bool, AdminError> {
    let ctx = context(session, method, path)?;
    match ctx.authorize(conn, target) {
        Ok(()) => Ok(true),
        Err(AdminError::Forbidden(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The fields every console form carries: the CSRF token and, once the person has seen the
/// dry run, the confirmation.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Confirmation {
    #[serde(default)]
    pub csrf: String,
    /// Set by the confirmation page's button.
    #[serde(default)]
    pub confirmed: Option<String>,
    /// Set when the person confirmed losing their own admin access.
    #[serde(default)]
    pub confirm_self_lockout: Option<String>,
}

/// Refuses a form that does not carry the session's CSRF token.
pub fn require_csrf(session: &ConsoleSession, presented: &str) -> Result<(), ConsoleError> {
    if session.csrf_matches(presented) {
        Ok(())
    } else {
        Err(ConsoleError::Csrf)
    }
}

/// A change made from the console.
pub struct Change {
    /// The section the change belongs to, for the navigation.
    pub section: layout::Section,
    /// The admin route it is (`post`, `/users/{id}/archive`).
    pub method: &'static str,
    pub path: &'static str,
    /// The audit cause (as the admin API's handler names it).
    pub cause: &'static str,
    /// What the confirmation page asks: "Archive ada@example.com?"
    pub question: String,
    /// Where the form posts (this handler), and the fields it resends.
    pub action: String,
    pub fields: Vec<(String, String)>,
    /// Where to go once it applied.
    pub done: String,
}

/// A change with its preview: the first post runs it as a dry run and shows who gains and
/// loses what (and, if it would end the person's own admin access, says so); the
/// confirmation's post applies it and redirects.
pub async fn previewed<T, F>(
    state: &AppState,
    session: ConsoleSession,
    form: &Confirmation,
    change: Change,
    apply: F,
) -> Result<HttpResponse, ConsoleError>
where
    F: Fn(&mut PgConnection, &AdminContext, &mut Pending) -> Result<T, AdminError>
        + Send
        + Clone
        + 'static,
    T: Send + 'static,
{
    let done = change.done.clone();
    previewed_then(state, session, form, change, apply, move |_, _| {
        see_other(&done)
    })
    .await
}

/// [`previewed`], answering the applied change with `applied` (a page that shows what it
/// made, such as a new token's secret) instead of a redirect.
pub async fn previewed_then<T, F>(
    state: &AppState,
    session: ConsoleSession,
    form: &Confirmation,
    change: Change,
    apply: F,
    applied: impl FnOnce(&ConsoleSession, T) -> HttpResponse,
) -> Result<HttpResponse, ConsoleError>
where
    F: Fn(&mut PgConnection, &AdminContext, &mut Pending) -> Result<T, AdminError>
        + Send
        + Clone
        + 'static,
    T: Send + 'static,
{
    require_csrf(&session, &form.csrf)?;
    let ctx = context(&session, change.method, change.path)?;
    let run = |options: MutationOptions, ctx: AdminContext| {
        let apply = apply.clone();
        run_blocking(&state.pool, move |conn| {
            access::mutate(conn, &ctx, options, change.cause, |conn, pending| {
                apply(conn, &ctx, pending)
            })
        })
    };
    if form.confirmed.is_some() {
        let options = MutationOptions {
            dry_run: false,
            confirm_self_lockout: form.confirm_self_lockout.is_some(),
        };
        return match run(options, ctx).await? {
            Outcome::Applied(value) => Ok(applied(&session, value)),
            Outcome::Preview(_) => {
                Err(AdminError::Internal("a confirmed change was only previewed".into()).into())
            }
        };
    }
    let dry = MutationOptions {
        dry_run: true,
        confirm_self_lockout: false,
    };
    let (outcome, lockout) = match run(dry, ctx.clone()).await {
        Err(AdminError::Rule(Rule::SelfLockout, detail)) => {
            let dry = MutationOptions {
                dry_run: true,
                confirm_self_lockout: true,
            };
            (run(dry, ctx).await?, Some(detail))
        }
        other => (other?, None),
    };
    let preview = match outcome {
        Outcome::Preview(preview) => preview,
        Outcome::Applied(_) => {
            return Err(AdminError::Internal("a dry run applied its change".into()).into())
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::confirm(&session, &change, &preview, lockout.as_deref()),
    ))
}

/// What a preview says, for tests and the confirmation page alike.
pub fn preview_is_empty(preview: &Preview) -> bool {
    preview.gains.is_empty()
        && preview.losses.is_empty()
        && preview.privileges.is_empty()
        && preview.workspaces.is_empty()
}
