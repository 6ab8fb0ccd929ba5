//! End-user login and sessions: `/oidc/{tenant}/{provider}/login` and `/callback`, the
//! tenant's session-token keys at `/oidc/{tenant}/.well-known/jwks.json`, and
//! `GET /api/v1/me` for the holder of a session token.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;
use uuid::Uuid;

use super::{bearer_token, public_root};
use crate::db::run_blocking;
use crate::error::OidcError;
use crate::oidc::login::{self, CallbackParams, LoginParams};
use crate::oidc::{keys, session};
use crate::state::AppState;

type Response = Result<HttpResponse, OidcError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/oidc/{tenant}")
            .app_data(query_config())
            .app_data(path_config())
            .route("/.well-known/jwks.json", web::get().to(jwks))
            .route("/invitations/{secret}", web::get().to(invitation))
            .route("/{provider}/login", web::get().to(login))
            .route("/{provider}/callback", web::get().to(callback)),
    )
    .route("/api/v1/me", web::get().to(me));
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| OidcError::bad_request(format!("invalid query: {e}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| {
        OidcError::refused(404, "not_found", "no such tenant or provider").into()
    })
}

/// Keys stay published this long after rotation: the longest a token they signed can live.
fn key_grace(state: &AppState) -> i64 {
    state.settings.session_ttl_seconds + 60
}

/// Browsers (asking for HTML) get errors as a page; programs get JSON.
fn for_client(req: &HttpRequest, result: Response) -> HttpResponse {
    match result {
        Ok(response) => response,
        Err(error) => {
            let wants_html = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if wants_html {
                if error.status_code().is_server_error() {
                    tracing::error!(%error, "login failed");
                }
                error.page()
            } else {
                error.error_response()
            }
        }
    }
}

/// Addresses the login limiter remembers before it forgets the idle ones.
const LIMITER_PRUNE_AT: usize = 10_000;

/// A refusal when this client address started too many logins just now.
pub(crate) fn over_login_limit(req: &HttpRequest, state: &AppState) -> Option<OidcError> {
    let limiter = state.login_rate_limiter.as_ref()?;
    let address = req.peer_addr()?.ip();
    // One entry per client address ever seen: forget those whose allowance has refilled,
    // so that a scan from many addresses cannot grow the map without bound.
    if limiter.len() > LIMITER_PRUNE_AT {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    limiter.check_key(&address).err().map(|_| {
        OidcError::refused(
            429,
            "slow_down",
            "too many logins from this address; wait a moment and try again",
        )
    })
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    params: web::Query<LoginParams>,
) -> HttpResponse {
    if let Some(refused) = over_login_limit(&req, &state) {
        return for_client(&req, Err(refused));
    }
    let (tenant_id, provider) = path.into_inner();
    let root = public_root(&req);
    let result = login::begin(&state, tenant_id, provider, &root, params.into_inner()).await;
    to_provider(&req, tenant_id, &root, result)
}

/// Sends the browser to the provider's authorization URL, bound to this browser.
pub(crate) fn to_provider(
    req: &HttpRequest,
    tenant_id: Uuid,
    root: &str,
    authorize_url: Result<String, OidcError>,
) -> HttpResponse {
    let result = authorize_url.map(|url| {
        let mut response = HttpResponse::Found();
        response
            .insert_header((header::LOCATION, url.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(cookie) = browser_binding(&url, tenant_id, root.starts_with("https://")) {
            response.cookie(cookie);
        }
        response.finish()
    });
    for_client(req, result)
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InvitationParams {
    /// Which login provider, when the tenant has several.
    provider: Option<String>,
}

/// An invitation's link: a login with the tenant's provider that accepts the invitation.
async fn invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    params: web::Query<InvitationParams>,
) -> HttpResponse {
    if let Some(refused) = over_login_limit(&req, &state) {
        return for_client(&req, Err(refused));
    }
    let (tenant_id, secret) = path.into_inner();
    let root = public_root(&req);
    let chosen = params.into_inner().provider;
    let started = run_blocking(&state.pool, move |conn| {
        crate::oidc::invitations::start(conn, tenant_id, &secret, chosen)
    })
    .await;
    let result = match started {
        Ok((provider, params)) => login::begin(&state, tenant_id, provider, &root, params).await,
        Err(e) => Err(e),
    };
    to_provider(&req, tenant_id, &root, result)
}

/// The cookie that binds a login to the browser that started it: named after its state
/// (so that logins in several tabs do not overwrite each other) and holding it. The
/// callback requires it, so a callback URL opened in another browser — login CSRF — is
/// refused before anything happens.
fn browser_binding(
    authorize_url: &str,
    tenant_id: Uuid,
    https: bool,
) -> Option<actix_web::cookie::Cookie<'static>> {
    let url = reqwest::Url::parse(authorize_url).ok()?;
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())?;
    Some(
        actix_web::cookie::Cookie::build(binding_cookie_name(&state), state)
            .path(format!("/oidc/{tenant_id}/"))
            .http_only(true)
            .secure(https)
            .same_site(actix_web::cookie::SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::seconds(
                login::LOGIN_TTL_MINUTES * 60,
            ))
            .finish(),
    )
}

fn binding_cookie_name(state: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(state.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("rolegate_login_{hex}")
}

/// Whether the callback comes from the browser that started the login.
fn bound_to_this_browser(req: &HttpRequest, state: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    let Some(state) = state else { return false };
    req.cookie(&binding_cookie_name(state))
        .is_some_and(|c| bool::from(c.value().as_bytes().ct_eq(state.as_bytes())))
}

/// The provider's redirect back.
async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
    params: web::Query<CallbackParams>,
) -> HttpResponse {
    let (tenant_id, provider) = path.into_inner();
    let params = params.into_inner();
    let result = if bound_to_this_browser(&req, params.state.as_deref()) {
        finish(&req, &state, tenant_id, provider, params).await
    } else {
        Err(OidcError::refused(
            403,
            "login_not_bound",
            "this login was started in another browser (or its cookie is gone); start the login again here",
        ))
    };
    crate::metrics::observe_oidc_login(match &result {
        Ok(_) => "success",
        Err(e) => e.code(),
    });
    for_client(&req, result)
}

/// Finishes the login. Answers the session as JSON, or, when the login named a
/// `return_to`, redirects there with the token in the URL fragment (which browsers do not
/// send to servers).
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    tenant_id: Uuid,
    provider: String,
    params: CallbackParams,
) -> Response {
    let done = login::finish(state, tenant_id, provider, &public_root(req), params).await?;
    if let Some(opened) = &done.console {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(super::console::session_cookie(req, opened))
            .finish());
    }
    if let Some(return_to) = done.return_to {
        let fragment = serde_urlencoded::to_string([
            ("session_token", done.token.as_str()),
            ("token_type", "Bearer"),
            ("expires_in", &done.expires_in.to_string()),
        ])
        .unwrap_or_default();
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("{return_to}#{fragment}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "session_token": done.token,
            "token_type": "Bearer",
            "expires_in": done.expires_in,
            "linked_by": done.signed_in.linked_by,
            "session": done.session,
        })))
}

async fn jwks(state: web::Data<AppState>, tenant: web::Path<Uuid>) -> Response {
    let tenant_id = tenant.into_inner();
    let grace = key_grace(&state);
    let set = run_blocking(&state.pool, move |conn| {
        crate::db::tenants::find(conn, tenant_id)?;
        keys::jwks(conn, tenant_id, grace)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/jwk-set+json")
        .json(set))
}

/// The session a token stands for, read live: roles changed since the token was issued
/// show here at once, and a user archived since is refused.
async fn me(req: HttpRequest, state: web::Data<AppState>) -> Response {
    let token = bearer_token(&req)
        .ok_or_else(|| OidcError::refused(401, "invalid_token", "a session token is required"))?;
    let tenant_id = session::claimed_tenant(&token)?;
    let grace = key_grace(&state);
    let session = run_blocking(&state.pool, move |conn| {
        let presented = session::verify(conn, tenant_id, &token, grace)?;
        session::load(conn, tenant_id, presented.sub, presented.environment.id)
    })
    .await
    .map_err(|e| match e {
        // The user or environment was deleted since the token was issued.
        OidcError::Db(crate::db::DbError::Query(diesel::result::Error::NotFound))
        | OidcError::Refused { status: 404, .. } => OidcError::refused(
            401,
            "invalid_token",
            "the token's user or environment no longer exists",
        ),
        other => other,
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(session))
}
