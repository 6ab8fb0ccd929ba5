//! Connector tokens: `rg_` followed by base64url(tenant id ‖ token id ‖ 32 random bytes).
//! Only SHA-256 of the random part is stored; checking a token is a primary-key read and a
//! constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::tokens::{self, ConnectorToken};

const PREFIX: &str = "rg_";

/// A freshly created token: the secret string is available only now.
pub struct IssuedToken {
    pub token: ConnectorToken,
    pub secret: String,
}

fn hash(secret: &[u8]) -> Vec<u8> {
    Sha256::digest(secret).to_vec()
}

/// What a token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenKind {
    /// A SCIM provisioning connector (Entra ID, Okta, …).
    Scim,
    /// The admin REST API.
    Admin,
    /// An application's permission checks (`/api/v1/check`), and nothing else.
    Check,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Scim => "scim",
            TokenKind::Admin => "admin",
            TokenKind::Check => "check",
        }
    }
}

/// Whom a token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHolder {
    /// A SCIM provisioning connector.
    Connector,
    /// An admin token bound to no user: full access (bootstrap, automation; CLI only).
    Owner,
    /// An admin token acting with this user's effective privileges at each request.
    User(Uuid),
    /// An application asking permission checks.
    Application,
}

impl TokenHolder {
    pub fn kind(self) -> TokenKind {
        match self {
            TokenHolder::Connector => TokenKind::Scim,
            TokenHolder::Owner | TokenHolder::User(_) => TokenKind::Admin,
            TokenHolder::Application => TokenKind::Check,
        }
    }

    pub fn user_id(self) -> Option<Uuid> {
        match self {
            TokenHolder::User(u) => Some(u),
            _ => None,
        }
    }
}

pub fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    holder: TokenHolder,
    expires_at: Option<DateTime<Utc>>,
    actor: &str,
) -> QueryResult<IssuedToken> {
    let id = Uuid::new_v4();
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let mut raw = Vec::with_capacity(64);
    raw.extend_from_slice(tenant_id.as_bytes());
    raw.extend_from_slice(id.as_bytes());
    raw.extend_from_slice(&secret);
    let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&raw));
    let kind = holder.kind().as_str();
    let user_id = holder.user_id();
    let owner = holder == TokenHolder::Owner;
    conn.transaction(|conn| {
        let token = tokens::insert(
            conn,
            &tokens::NewToken {
                tenant_id,
                id,
                name,
                kind,
                user_id,
                owner,
                expires_at,
                secret_hash: &hash(&secret),
            },
        )?;
        audit::append(
            conn,
            NewAuditEntry {
                tenant_id,
                actor,
                resource_type: "ConnectorToken",
                resource_id: id.to_string(),
                operation: "create",
                before: None,
                after: Some(json!({"id": id, "name": name, "kind": kind, "owner": owner,
                                   "user_id": user_id, "expires_at": expires_at})),
            },
        )?;
        Ok(IssuedToken {
            token,
            secret: text,
        })
    })
}

pub fn revoke(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    actor: &str,
) -> QueryResult<ConnectorToken> {
    conn.transaction(|conn| {
        let token = tokens::revoke(conn, tenant_id, id)?;
        audit::append(
            conn,
            NewAuditEntry {
                tenant_id,
                actor,
                resource_type: "ConnectorToken",
                resource_id: id.to_string(),
                operation: "revoke",
                before: Some(json!({"id": id, "name": token.name, "revoked": false})),
                after: Some(json!({"id": id, "name": token.name, "revoked": true})),
            },
        )?;
        Ok(token)
    })
}

/// The (tenant id, token id, secret) a presented token claims, if it is well-formed.
pub fn parse(presented: &str) -> Option<(Uuid, Uuid, Vec<u8>)> {
    let raw = URL_SAFE_NO_PAD
        .decode(presented.strip_prefix(PREFIX)?)
        .ok()?;
    if raw.len() != 64 {
        return None;
    }
    let tenant = Uuid::from_slice(&raw[..16]).ok()?;
    let id = Uuid::from_slice(&raw[16..32]).ok()?;
    Some((tenant, id, raw[32..].to_vec()))
}

/// A token that checked out, and whom it acts for.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub token: ConnectorToken,
    pub holder: TokenHolder,
}

/// Checks a presented token; returns it when it is valid, not revoked, not expired, of the
/// kind the interface takes, and — when bound to a user — that user exists and is neither
/// deactivated nor archived. Read at every request, so a change to any of these takes
/// effect at once on every node.
pub fn verify(
    conn: &mut PgConnection,
    presented: &str,
    kind: TokenKind,
) -> QueryResult<Option<VerifiedToken>> {
    let Some((tenant_id, id, secret)) = parse(presented) else {
        return Ok(None);
    };
    let (stored, user_status, user_active) = match tokens::find_with_user(conn, tenant_id, id) {
        Ok(found) => found,
        Err(diesel::result::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let matches: bool = hash(&secret).ct_eq(&stored.secret_hash).into();
    let now = Utc::now();
    let usable = matches
        && stored.revoked_at.is_none()
        && stored.kind == kind.as_str()
        && stored.expires_at.is_none_or(|at| at > now);
    if !usable {
        return Ok(None);
    }
    let holder = match (kind, stored.owner, stored.user_id) {
        (TokenKind::Scim, _, _) => TokenHolder::Connector,
        (TokenKind::Check, _, _) => TokenHolder::Application,
        (TokenKind::Admin, true, _) => TokenHolder::Owner,
        (TokenKind::Admin, false, Some(user))
            if user_status.as_deref().is_some_and(|s| s != "archived")
                && user_active != Some(false) =>
        {
            TokenHolder::User(user)
        }
        // Bound to a user who is gone, deactivated or archived.
        (TokenKind::Admin, false, _) => return Ok(None),
    };
    if stored
        .last_used_at
        .is_none_or(|at| now - at > chrono::Duration::minutes(1))
    {
        tokens::touch(conn, tenant_id, id)?;
    }
    Ok(Some(VerifiedToken {
        token: stored,
        holder,
    }))
}
