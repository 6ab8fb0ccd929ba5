//! Session tokens: what Rolegate tells an application about a logged-in user — tenant,
//! user, environment, and the effective roles and privileges there — as an ES256 JWT the
//! application verifies offline with the tenant's JWKS. `GET /api/v1/me` answers the same
//! document, computed live.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::PgConnection;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys;
use super::secrets::SecretBox;
use crate::access::users::{effective_access, NamedRef};
use crate::access::AdminContext;
use crate::error::{AdminError, OidcError};

/// The audience of every session token.
pub const AUDIENCE: &str = "rolegate";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionApplication {
    pub id: Uuid,
    pub name: String,
    pub roles: Vec<NamedRef>,
    pub privileges: Vec<String>,
}

/// A user's access in one environment, as a session token and `/api/v1/me` carry it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub tenant_id: Uuid,
    pub user: SessionUser,
    pub environment: NamedRef,
    /// Environment roles.
    pub roles: Vec<NamedRef>,
    /// Environment privileges (`resource:action` keys).
    pub privileges: Vec<String>,
    pub applications: Vec<SessionApplication>,
}

#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'static str,
    iat: i64,
    exp: i64,
    jti: String,
    #[serde(flatten)]
    session: &'a Session,
}

/// What `/api/v1/me` needs from a presented token once its signature holds.
#[derive(Debug, Deserialize)]
pub struct Presented {
    pub sub: Uuid,
    pub tenant_id: Uuid,
    pub environment: PresentedEnvironment,
    pub exp: i64,
}

#[derive(Debug, Deserialize)]
pub struct PresentedEnvironment {
    pub id: Uuid,
}

/// The issuer of a tenant's session tokens.
pub fn issuer(base_url: &str, tenant_id: Uuid) -> String {
    format!("{}/oidc/{tenant_id}", base_url.trim_end_matches('/'))
}

/// Reads the user's session in an environment. Refuses users who may not log in (archived,
/// deactivated, or with their access to the environment revoked).
pub fn load(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    environment_id: Uuid,
) -> Result<Session, OidcError> {
    let reader = AdminContext::internal(tenant_id, "session");
    let access =
        effective_access(conn, &reader, user_id, Some(environment_id)).map_err(|e| match e {
            AdminError::Db(db) => OidcError::Db(db),
            other => OidcError::refused(404, "not_found", other.to_string()),
        })?;
    if access.user.status == "archived" {
        return Err(OidcError::refused(
            403,
            "user_archived",
            "this account is archived; ask an administrator to restore it",
        ));
    }
    if access.user.active == Some(false) {
        return Err(OidcError::refused(
            403,
            "user_deactivated",
            "this account is deactivated at the identity provider",
        ));
    }
    let Some(env) = access.environments.into_iter().next() else {
        return Err(OidcError::refused(404, "not_found", "no such environment"));
    };
    if env.access == "revoked" {
        return Err(OidcError::refused(
            403,
            "environment_access_revoked",
            format!(
                "this account's access to {} is revoked",
                env.environment.name
            ),
        ));
    }
    // Workato's No access: the person may not view or switch into the environment.
    if crate::db::authorization::has_no_access(conn, tenant_id, user_id, environment_id)? {
        return Err(OidcError::refused(
            403,
            "environment_no_access",
            format!(
                "this account's role in {} is No access; ask an administrator for a role there",
                env.environment.name
            ),
        ));
    }
    let names =
        |roles: Vec<crate::access::users::HeldRole>| roles.into_iter().map(|r| r.role).collect();
    Ok(Session {
        tenant_id,
        user: SessionUser {
            id: access.user.id,
            user_name: access.user.user_name,
            display_name: access.user.display_name,
        },
        environment: env.environment,
        roles: names(env.roles),
        privileges: env.privileges,
        applications: env
            .applications
            .into_iter()
            .map(|a| SessionApplication {
                id: a.application.id,
                name: a.application.name,
                roles: names(a.roles),
                privileges: a.privileges,
            })
            .collect(),
    })
}

/// Signs the session with the tenant's active key.
pub fn sign(
    conn: &mut PgConnection,
    secrets: &SecretBox,
    issuer: &str,
    session: &Session,
    ttl_seconds: i64,
) -> Result<String, OidcError> {
    let key = keys::active(conn, session.tenant_id, secrets)?;
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: issuer,
        sub: session.user.id.to_string(),
        aud: AUDIENCE,
        iat: now,
        exp: now + ttl_seconds,
        jti: Uuid::new_v4().to_string(),
        session,
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid);
    jsonwebtoken::encode(&header, &claims, &key.key)
        .map_err(|e| OidcError::Internal(format!("signing a session token: {e}")))
}

fn invalid(message: &str) -> OidcError {
    OidcError::refused(401, "invalid_token", message)
}

/// The tenant a token claims to be from, read before its signature is checked so that the
/// right key set is used; the signature check then proves it.
pub fn claimed_tenant(token: &str) -> Result<Uuid, OidcError> {
    #[derive(Deserialize)]
    struct TenantOnly {
        tenant_id: Uuid,
    }
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| invalid("not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| invalid("not a JWT"))?;
    let claims: TenantOnly =
        serde_json::from_slice(&bytes).map_err(|_| invalid("not a Rolegate session token"))?;
    Ok(claims.tenant_id)
}

/// Checks a presented session token: ES256 signature by one of the tenant's published
/// keys, audience, expiry (30 s leeway).
pub fn verify(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    token: &str,
    grace_seconds: i64,
) -> Result<Presented, OidcError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if header.alg != Algorithm::ES256 {
        return Err(invalid("session tokens are ES256"));
    }
    let kid = header
        .kid
        .ok_or_else(|| invalid("the token names no key"))?;
    let key = keys::decoding_key(conn, tenant_id, &kid, grace_seconds)?
        .ok_or_else(|| invalid("the token's key is unknown or retired"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[AUDIENCE]);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "sub", "aud"]);
    let data = jsonwebtoken::decode::<Presented>(token, &key, &validation)
        .map_err(|e| invalid(&format!("the session token is not valid: {e}")))?;
    if data.claims.tenant_id != tenant_id {
        return Err(invalid("the token's tenant does not match its key"));
    }
    Ok(data.claims)
}
