//! Signing in to the console — by pasting an admin token, or with the tenant's OpenID
//! Connect provider (the person then acts with their own effective privileges) — and out.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::{html_response, layout, require_csrf, see_other, ConsoleError, Signed, COOKIE};
use crate::console::{self as sessions, OpenedSession, SignedInAs};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::http::{oidc, public_root};
use crate::oidc::login::{self, LoginParams};
use crate::provisioning::tokens::{self, TokenKind};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(form))
        .route("/sign-in", web::post().to(with_token))
        .route("/sign-in/{tenant}/{provider}", web::get().to(with_provider))
        .route("/sign-out", web::post().to(sign_out));
}

/// The session's cookie: only for the console's paths, never readable by scripts, never
/// sent with a request another site starts, and only over https when served over https.
pub fn session_cookie(req: &HttpRequest, opened: &OpenedSession) -> Cookie<'static> {
    let seconds = (opened.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    Cookie::build(COOKIE, opened.cookie.clone())
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(public_root(req).starts_with("https://"))
        .max_age(time::Duration::seconds(seconds))
        .finish()
}

fn cleared_cookie(req: &HttpRequest) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, "")
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(public_root(req).starts_with("https://"))
        .finish();
    cookie.make_removal();
    cookie
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormQuery {
    /// The tenant whose login providers to offer.
    tenant: Option<String>,
    /// The account to preselect at the provider (its `login_hint`), e.g. an e-mail address.
    login_hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderQuery {
    login_hint: Option<String>,
}

/// The hint as it is passed on: trimmed, at most 254 characters (an e-mail address's limit).
fn hint(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| h.chars().take(254).collect())
}

/// The enabled login providers of a tenant, by name.
async fn providers_of(state: &AppState, tenant: Uuid) -> Result<Vec<String>, ConsoleError> {
    let rows = run_blocking(&state.pool, move |conn| {
        crate::db::oidc::list_providers(conn, tenant).map_err(AdminError::from)
    })
    .await?;
    Ok(rows
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| p.name)
        .collect())
}

fn sign_in_page(
    tenant: Option<Uuid>,
    login_hint: Option<&str>,
    providers: &[String],
    problem: Option<&str>,
) -> Markup {
    let hint_query = login_hint
        .map(|h| {
            let query = serde_urlencoded::to_string([("login_hint", h)]).unwrap_or_default();
            format!("?{query}")
        })
        .unwrap_or_default();
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to the console" }
            @if let Some(problem) = problem {
                p.problem #sign-in-problem role="alert" { (problem) }
            }
            section aria-labelledby="with-provider" {
                h2 #with-provider { "With your organization's login" }
                @if let Some(tenant) = tenant {
                    @if providers.is_empty() {
                        p.muted { "This tenant has no login provider turned on." }
                    } @else {
                        ul.providers {
                            @for name in providers {
                                li { a.provider href={ "/console/sign-in/" (tenant) "/" (name) (hint_query) } {
                                    "Sign in with " (name) } }
                            }
                        }
                    }
                }
                form.stack method="get" action="/console/sign-in" {
                    label for="tenant" { "Tenant id"
                        input #tenant name="tenant" type="text" autocomplete="organization"
                            value=(tenant.map(|t| t.to_string()).unwrap_or_default()) required; }
                    label for="login_hint" { "Your e-mail or user name (optional)"
                        input #login_hint name="login_hint" type="text" autocomplete="username"
                            value=(login_hint.unwrap_or_default()); }
                    button type="submit" { "Show login providers" }
                }
            }
            section aria-labelledby="with-token" {
                h2 #with-token { "With an admin token" }
                form.stack method="post" action="/console/sign-in" {
                    label for="token" { "Admin token"
                        input #token name="token" type="password" autocomplete="off" required; }
                    button type="submit" #sign-in { "Sign in" }
                }
            }
        },
    )
}

async fn form(
    state: web::Data<AppState>,
    query: web::Query<FormQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = query
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let (tenant, problem) = match tenant.map(Uuid::parse_str) {
        None => (None, None),
        Some(Ok(id)) => (Some(id), None),
        Some(Err(_)) => (None, Some("That is not a tenant id.")),
    };
    let login_hint = hint(query.login_hint.as_deref());
    let providers = match tenant {
        Some(t) => providers_of(&state, t).await?,
        None => Vec::new(),
    };
    Ok(html_response(
        StatusCode::OK,
        sign_in_page(tenant, login_hint.as_deref(), &providers, problem),
    ))
}

/// A sign-in form must come from the console itself (the Origin a browser sends), so another
/// site cannot sign a visitor in to an account of its choosing.
fn from_this_origin(req: &HttpRequest) -> bool {
    match req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    {
        None => true,
        Some(origin) => origin.trim_end_matches('/') == public_root(req),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenForm {
    token: String,
}

async fn with_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    if !from_this_origin(&req) {
        return Err(ConsoleError::Csrf);
    }
    if oidc::over_login_limit(&req, &state).is_some() {
        return Ok(html_response(
            StatusCode::TOO_MANY_REQUESTS,
            sign_in_page(
                None,
                None,
                &[],
                Some("Too many sign-ins from this address; wait a moment."),
            ),
        ));
    }
    let presented = form.into_inner().token.trim().to_string();
    let opened = run_blocking(&state.pool, move |conn| {
        let Some(verified) = tokens::verify(conn, &presented, TokenKind::Admin)? else {
            return Ok::<_, AdminError>(None);
        };
        // Only admin tokens sign in: owner tokens and user-bound ones whose user may still act.
        crate::http::admin::principal_of(verified.holder)?;
        let token = verified.token;
        Ok(Some(sessions::open(
            conn,
            token.tenant_id,
            SignedInAs::Token(token.id),
        )?))
    })
    .await;
    match opened {
        Ok(Some(opened)) => {
            let mut response = see_other("/console");
            response
                .add_cookie(&session_cookie(&req, &opened))
                .map_err(|e| AdminError::Internal(e.to_string()))?;
            Ok(response)
        }
        Ok(None) | Err(AdminError::Unauthorized) => Ok(html_response(
            StatusCode::UNAUTHORIZED,
            sign_in_page(
                None,
                None,
                &[],
                Some("That token is not a valid admin token (revoked, expired, or its user may not act)."),
            ),
        )),
        Err(other) => Err(other.into()),
    }
}

/// Starts a login with the tenant's provider that ends in a console session.
async fn with_provider(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    query: web::Query<ProviderQuery>,
) -> HttpResponse {
    if let Some(refused) = oidc::over_login_limit(&req, &state) {
        return refused.page();
    }
    let (tenant_id, provider) = path.into_inner();
    let root = public_root(&req);
    let params = LoginParams {
        for_console: true,
        login_hint: hint(query.login_hint.as_deref()),
        ..LoginParams::default()
    };
    let result = login::begin(&state, tenant_id, provider, &root, params).await;
    oidc::to_provider(&req, tenant_id, &root, result)
}

#[derive(Debug, Deserialize)]
struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<SignOutForm>,
) -> Result<HttpResponse, ConsoleError> {
    require_csrf(&session, &form.csrf)?;
    run_blocking(&state.pool, move |conn| {
        sessions::end(conn, &session).map_err(AdminError::from)
    })
    .await?;
    let mut response = see_other("/console/sign-in");
    response
        .add_cookie(&cleared_cookie(&req))
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok(response)
}
