//! Connector tokens: `rg_` followed by base64url(tenant id ‖ token id ‖ 32 random bytes).
//! Only SHA-256 of the random part is stored; checking a token is a primary-key read and a
//! constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Scim => "scim",
            TokenKind::Admin => "admin",
        }
    }
}

pub fn create(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    name: &str,
    kind: TokenKind,
    user_id: Option<Uuid>,
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
    conn.transaction(|conn| {
        let token = tokens::insert(
            conn,
            tenant_id,
            id,
            name,
            kind.as_str(),
            user_id,
            &hash(&secret),
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
                after: Some(
                    json!({"id": id, "name": name, "kind": kind.as_str(), "user_id": user_id}),
                ),
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

/// Checks a presented token; returns it when it is valid, not revoked, and of the kind the
/// interface takes.
pub fn verify(
    conn: &mut PgConnection,
    presented: &str,
    kind: TokenKind,
) -> QueryResult<Option<ConnectorToken>> {
    let Some((tenant_id, id, secret)) = parse(presented) else {
        return Ok(None);
    };
    let stored = match tokens::find(conn, tenant_id, id) {
        Ok(t) => t,
        Err(diesel::result::Error::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let matches: bool = hash(&secret).ct_eq(&stored.secret_hash).into();
    let usable = matches && stored.revoked_at.is_none() && stored.kind == kind.as_str();
    Ok(usable.then_some(stored))
}
