//! Console sessions: who is signed in to the browser console, and as whom they act.
//!
//! A session acts either as the admin token it was opened with (an owner token, or a
//! user-bound one with that user's privileges) or as the person who signed in with the
//! tenant's OpenID Connect provider (with their own effective privileges). Nothing about
//! that is copied into the session: the token and the user are read again at every request,
//! so revoking the token, or deactivating or archiving the user, ends the session at once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::access::authorization::AdminPrincipal;
use crate::db::console_sessions::{self as rows, NewConsoleSession};

/// How long a console session lasts before the person signs in again.
pub const SESSION_HOURS: i64 = 8;

/// What a session was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInAs {
    /// A person, through the tenant's OpenID Connect provider.
    Person(Uuid),
    /// An admin token (the token's id).
    Token(Uuid),
}

/// A session just opened: the cookie's value is shown to the browser once.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub cookie: String,
    pub expires_at: DateTime<Utc>,
}

/// A session that stands at this request.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub principal: AdminPrincipal,
    /// For the audit log.
    pub actor: String,
    /// Shown in the console's header.
    pub signed_in_as: String,
    /// Every form of the session carries it; a POST without it is refused.
    pub csrf_token: String,
    /// The admin list routes (`/users`, `/audit`, …) this session may read now: the console's
    /// HTTP layer fills it on each request so the navigation offers only those.
    pub may_read: Vec<&'static str>,
}

impl ConsoleSession {
    /// Whether a form's CSRF token is this session's (in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf_token
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }
}

fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Opens a session; the cookie holds the tenant, the session id and a secret whose hash
/// alone is stored.
pub fn open(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    who: SignedInAs,
) -> QueryResult<OpenedSession> {
    let id = Uuid::new_v4();
    let secret = random(32);
    let csrf = URL_SAFE_NO_PAD.encode(random(32));
    let expires_at = Utc::now() + Duration::hours(SESSION_HOURS);
    let (user_id, token_id) = match who {
        SignedInAs::Person(user) => (Some(user), None),
        SignedInAs::Token(token) => (None, Some(token)),
    };
    rows::insert(
        conn,
        &NewConsoleSession {
            tenant_id,
            id,
            secret_hash: &Sha256::digest(&secret),
            user_id,
            token_id,
            csrf_token: &csrf,
            expires_at,
        },
    )?;
    let mut raw = Vec::with_capacity(64);
    raw.extend_from_slice(tenant_id.as_bytes());
    raw.extend_from_slice(id.as_bytes());
    raw.extend_from_slice(&secret);
    Ok(OpenedSession {
        cookie: URL_SAFE_NO_PAD.encode(raw),
        expires_at,
    })
}

/// The (tenant, session id, secret) a cookie claims, if well-formed.
fn parse(cookie: &str) -> Option<(Uuid, Uuid, Vec<u8>)> {
    let raw = URL_SAFE_NO_PAD.decode(cookie.trim()).ok()?;
    if raw.len() != 64 {
        return None;
    }
    let tenant = Uuid::from_slice(raw.get(..16)?).ok()?;
    let id = Uuid::from_slice(raw.get(16..32)?).ok()?;
    Some((tenant, id, raw.get(32..)?.to_vec()))
}

/// The session a cookie stands for, if it still stands: the secret matches, it has not
/// expired, its token is usable, and the user it acts as is neither deactivated, archived
/// nor still invited.
pub fn verify(conn: &mut PgConnection, cookie: &str) -> QueryResult<Option<ConsoleSession>> {
    let Some((tenant_id, id, secret)) = parse(cookie) else {
        return Ok(None);
    };
    let Some(state) = rows::find_state(conn, tenant_id, id)? else {
        return Ok(None);
    };
    let matches: bool = Sha256::digest(&secret)
        .as_slice()
        .ct_eq(&state.secret_hash)
        .into();
    if !matches || state.expires_at <= Utc::now() {
        return Ok(None);
    }
    let user_ok =
        state.user_status.as_deref() == Some("active") && state.user_active != Some(false);
    let (principal, actor, signed_in_as) = match (state.token_id, state.token_usable) {
        (Some(token), Some(true)) if state.token_owner == Some(true) => (
            AdminPrincipal::Owner,
            format!("console:admin-token:{token}"),
            "owner token".to_string(),
        ),
        (Some(token), Some(true)) => match state.user_id {
            Some(user) if user_ok => (
                AdminPrincipal::User(user),
                format!("console:admin-token:{token}"),
                state.user_name.clone().unwrap_or_default(),
            ),
            _ => return Ok(None),
        },
        (Some(_), _) => return Ok(None),
        (None, _) => match state.user_id {
            Some(user) if user_ok => (
                AdminPrincipal::User(user),
                format!("console:user:{user}"),
                state.user_name.clone().unwrap_or_default(),
            ),
            _ => return Ok(None),
        },
    };
    Ok(Some(ConsoleSession {
        tenant_id,
        id,
        principal,
        actor,
        signed_in_as,
        csrf_token: state.csrf_token,
        may_read: Vec::new(),
    }))
}

/// Signs out: the session's row goes.
pub fn end(conn: &mut PgConnection, session: &ConsoleSession) -> QueryResult<()> {
    rows::delete(conn, session.tenant_id, session.id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_its_tenant_and_session() {
        let (tenant, id) = (Uuid::new_v4(), Uuid::new_v4());
        let mut raw = tenant.as_bytes().to_vec();
        raw.extend_from_slice(id.as_bytes());
        raw.extend_from_slice(&[7u8; 32]);
        let cookie = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(parse(&cookie), Some((tenant, id, vec![7u8; 32])));
    }

    #[test]
    fn malformed_cookies_name_nothing() {
        for cookie in ["", "not base64!", &URL_SAFE_NO_PAD.encode([1u8; 63]), "é"] {
            assert_eq!(parse(cookie), None, "{cookie:?}");
        }
    }
}
