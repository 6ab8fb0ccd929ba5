//! The login flow: authorization code with PKCE (S256), state and nonce. The login in
//! flight is kept in the database, so any node can take the callback; its state is good
//! for one callback only. The ID token is checked by openidconnect (signature with an
//! asymmetric algorithm, issuer, audience, expiry with a minute's leeway, nonce) and its
//! `at_hash` when present; only then do the claims reach the claim mapper and the directory.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use diesel::Connection;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, TokenResponse,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::claims;
use super::linking::{self, SignedIn};
use super::providers;
use super::session::{self, Session};
use crate::db::oidc::{self as rows, LoginAttempt, ProviderRow};
use crate::db::{environments, run_blocking};
use crate::error::OidcError;
use crate::state::AppState;

/// How long a user has to come back from the provider.
pub const LOGIN_TTL_MINUTES: i64 = 10;
/// Clock difference tolerated on the ID token's expiry.
const EXPIRY_LEEWAY_SECONDS: i64 = 60;

#[derive(Debug, Default, Deserialize)]
pub struct LoginParams {
    /// Environment id or name; default: the provider's first environment.
    pub environment: Option<String>,
    /// Passed to the provider to preselect the account.
    pub login_hint: Option<String>,
    /// One of the provider's `redirect_uris`: the session token is delivered there.
    pub return_to: Option<String>,
    /// Set (never by a client) when the login starts from an invitation's link.
    #[serde(skip)]
    pub invitation_id: Option<Uuid>,
    /// Set (never by a client) when the login starts from the console's sign-in page.
    #[serde(skip)]
    pub for_console: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the provider names itself in the response, against mix-up attacks.
    pub iss: Option<String>,
}

/// A finished login.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub expires_in: i64,
    pub session: Session,
    pub signed_in: SignedIn,
    pub return_to: Option<String>,
    /// The console session a login from the console's sign-in page opened.
    pub console: Option<crate::console::OpenedSession>,
}

fn callback_url(base_url: &str, tenant_id: Uuid, provider: &str) -> String {
    format!(
        "{}/oidc/{tenant_id}/{provider}/callback",
        base_url.trim_end_matches('/')
    )
}

/// The enabled provider a login URL names.
fn enabled_provider(
    conn: &mut diesel::PgConnection,
    tenant_id: Uuid,
    name: &str,
) -> Result<ProviderRow, OidcError> {
    let provider = rows::find_provider_by_name(conn, tenant_id, name).map_err(|e| match e {
        diesel::result::Error::NotFound => {
            OidcError::refused(404, "unknown_provider", "no such login provider")
        }
        e => e.into(),
    })?;
    if !provider.enabled {
        return Err(OidcError::refused(
            403,
            "provider_disabled",
            "logins with this provider are turned off",
        ));
    }
    Ok(provider)
}

/// Starts a login: records it and answers the provider's authorization URL.
pub async fn begin(
    state: &AppState,
    tenant_id: Uuid,
    provider_name: String,
    base_url: &str,
    params: LoginParams,
) -> Result<String, OidcError> {
    let wanted = params.environment.clone();
    let (provider, environment_id) = run_blocking(&state.pool, move |conn| {
        let provider = enabled_provider(conn, tenant_id, &provider_name)?;
        let allowed = rows::environments_of(conn, tenant_id, &[provider.id])?;
        let chosen = match &wanted {
            None => allowed.first(),
            Some(w) => allowed
                .iter()
                .find(|(_, id, name)| id.to_string() == *w || crate::casefold::eq(name, w)),
        };
        let environment_id = chosen.map(|(_, id, _)| *id).ok_or_else(|| {
            OidcError::bad_request("this provider's logins do not apply to that environment")
        })?;
        Ok::<_, OidcError>((provider, environment_id))
    })
    .await?;
    if let Some(return_to) = &params.return_to {
        if !providers::redirect_uris(&provider).contains(return_to) {
            return Err(OidcError::bad_request(
                "return_to is not one of this provider's redirect URIs",
            ));
        }
    }
    let provider_id = provider.id;

    let metadata = state.providers.metadata(&provider.issuer).await?;
    let redirect_uri = callback_url(base_url, tenant_id, &provider.name);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        None,
    )
    .set_redirect_uri(
        RedirectUrl::new(redirect_uri.clone())
            .map_err(|e| OidcError::bad_request(e.to_string()))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in providers::scopes(&provider)
        .into_iter()
        .filter(|s| s != "openid")
    {
        request = request.add_scope(Scope::new(scope));
    }
    if let Some(hint) = params
        .login_hint
        .filter(|h| !h.is_empty() && h.len() <= 500)
    {
        request = request.add_extra_param("login_hint", hint);
    }
    let (url, csrf, nonce) = request.url();
    let now = Utc::now();
    let attempt = LoginAttempt {
        tenant_id,
        state: csrf.secret().clone(),
        provider_id,
        environment_id,
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        redirect_uri,
        return_to: params.return_to,
        created_at: now,
        expires_at: now + Duration::minutes(LOGIN_TTL_MINUTES),
        invitation_id: params.invitation_id,
        for_console: params.for_console,
    };
    run_blocking(&state.pool, move |conn| {
        rows::insert_attempt(conn, &attempt).map_err(OidcError::from)
    })
    .await?;
    Ok(url.to_string())
}

/// The key id in a JWT's header, if any (read before verification to pick the key set).
fn header_kid(jwt: &str) -> Option<String> {
    let header = jwt.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("kid")?.as_str().map(str::to_string)
}

/// The ID token's claims as JSON, for the claim mapper. Called only after verification.
fn payload(jwt: &str) -> Result<Value, OidcError> {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OidcError::invalid_id_token("the ID token's claims are not JSON"))
}

/// Signature algorithms accepted on ID tokens: asymmetric ones only, so a token "signed"
/// with a provider's public key as an HMAC secret, or unsigned, never passes.
fn asymmetric_algorithms() -> Vec<CoreJwsSigningAlgorithm> {
    use CoreJwsSigningAlgorithm::*;
    vec![
        RsaSsaPkcs1V15Sha256,
        RsaSsaPkcs1V15Sha384,
        RsaSsaPkcs1V15Sha512,
        RsaSsaPssSha256,
        RsaSsaPssSha384,
        RsaSsaPssSha512,
        EcdsaP256Sha256,
        EcdsaP384Sha384,
        EdDsa,
    ]
}

fn verify_id_token(
    metadata: &CoreProviderMetadata,
    provider: &ProviderRow,
    id_token: &CoreIdToken,
    nonce: &str,
    access_token: &openidconnect::AccessToken,
) -> Result<(), OidcError> {
    let issuer =
        IssuerUrl::new(provider.issuer.clone()).map_err(|e| OidcError::Provider(e.to_string()))?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(provider.client_id.clone()),
        issuer,
        metadata.jwks().clone(),
    )
    .set_allowed_algs(asymmetric_algorithms())
    .set_time_fn(|| Utc::now() - Duration::seconds(EXPIRY_LEEWAY_SECONDS));
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .map_err(|e| OidcError::invalid_id_token(format!("the ID token was refused: {e}")))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token
            .signing_alg()
            .map_err(|e| OidcError::invalid_id_token(e.to_string()))?;
        let key = id_token
            .signing_key(&verifier)
            .map_err(|e| OidcError::invalid_id_token(e.to_string()))?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|e| OidcError::invalid_id_token(e.to_string()))?;
        if actual != *expected {
            return Err(OidcError::invalid_id_token(
                "the ID token's at_hash does not match the access token",
            ));
        }
    }
    Ok(())
}

/// Finishes a login from the provider's callback.
pub async fn finish(
    state: &AppState,
    tenant_id: Uuid,
    provider_name: String,
    base_url: &str,
    params: CallbackParams,
) -> Result<LoggedIn, OidcError> {
    let state_param = params
        .state
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or_else(|| OidcError::bad_request("the callback has no state"))?;
    // Taken out of the table first: whatever happens next, this state cannot be replayed.
    let (attempt, provider) = run_blocking(&state.pool, move |conn| {
        let attempt = rows::consume_attempt(conn, tenant_id, &state_param)?;
        let provider = enabled_provider(conn, tenant_id, &provider_name);
        Ok::<_, OidcError>((attempt, provider))
    })
    .await?;
    let attempt = attempt.ok_or_else(|| {
        OidcError::refused(
            400,
            "invalid_state",
            "this login is unknown or was already used; start again",
        )
    })?;
    if attempt.expires_at < Utc::now() {
        return Err(OidcError::refused(
            400,
            "login_expired",
            "this login took too long; start again",
        ));
    }
    if let Some(error) = params.error {
        let description = params.error_description.unwrap_or_default();
        return Err(OidcError::refused(
            401,
            "login_refused_by_provider",
            format!("the identity provider refused the login: {error} {description}")
                .trim()
                .to_string(),
        ));
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OidcError::bad_request("the callback has no authorization code"))?;
    let provider = provider?;
    if provider.id != attempt.provider_id {
        return Err(OidcError::refused(
            400,
            "invalid_state",
            "this login was started with another provider",
        ));
    }
    if params
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.issuer)
    {
        return Err(OidcError::refused(
            400,
            "issuer_mismatch",
            "the authorization response comes from another issuer",
        ));
    }
    let secret = providers::client_secret(&provider, &state.secrets)?;

    let metadata = state.providers.metadata(&provider.issuer).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(
        RedirectUrl::new(attempt.redirect_uri.clone())
            .map_err(|e| OidcError::bad_request(e.to_string()))?,
    );
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
        .request_async(state.providers.http())
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => OidcError::refused(
                401,
                "token_exchange_failed",
                format!(
                    "the identity provider refused the authorization code: {}",
                    r.error()
                ),
            ),
            RequestTokenError::Parse(e, _) => {
                OidcError::invalid_id_token(format!("the token response could not be read: {e}"))
            }
            other => OidcError::Provider(format!("token request: {other}")),
        })?;
    let id_token = response
        .id_token()
        .ok_or_else(|| OidcError::invalid_id_token("the provider returned no ID token"))?;
    let raw = id_token.to_string();
    let metadata = state
        .providers
        .metadata_with_key(&provider.issuer, header_kid(&raw).as_deref())
        .await?;
    verify_id_token(
        &metadata,
        &provider,
        id_token,
        &attempt.nonce,
        response.access_token(),
    )?;

    let claims_json = payload(&raw)?;
    let identity =
        claims::map(&claims_json, &providers::mapping(&provider)).map_err(|e| match e {
            claims::ClaimError::GroupOverage(_) => {
                OidcError::refused(422, "group_overage", e.to_string())
            }
            other => OidcError::refused(422, "unusable_claims", other.to_string()),
        })?;

    let issuer = session::issuer(base_url, tenant_id);
    let ttl = state.settings.session_ttl_seconds;
    let secrets = state.secrets.clone();
    let environment_id = attempt.environment_id;
    let invitation = attempt.invitation_id;
    let for_console = attempt.for_console;
    let (signed_in, session, token, console) = run_blocking(&state.pool, move |conn| {
        // One transaction: a login refused for the environment changes nothing either.
        conn.transaction(|conn| {
            environments::find(conn, tenant_id, environment_id)?;
            let signed_in = match linking::sign_in(conn, &provider, &identity, invitation) {
                // Two first logins of one person at once: the second sees the first's user.
                Err(e) if e.is_conflict() => {
                    linking::sign_in(conn, &provider, &identity, invitation)?
                }
                other => other?,
            };
            let session = session::load(conn, tenant_id, signed_in.user_id, environment_id)?;
            let token = session::sign(conn, &secrets, &issuer, &session, ttl)?;
            let console = if for_console {
                Some(crate::console::open(
                    conn,
                    tenant_id,
                    crate::console::SignedInAs::Person(signed_in.user_id),
                )?)
            } else {
                None
            };
            Ok::<_, OidcError>((signed_in, session, token, console))
        })
    })
    .await?;
    Ok(LoggedIn {
        token,
        expires_in: ttl,
        session,
        signed_in,
        return_to: attempt.return_to,
        console,
    })
}
