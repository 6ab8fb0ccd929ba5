//! Invitations (ToolJet): inviting a user (one at a time, by CSV import, or by unarchiving
//! them) answers a link. The user holds no role while invited; opening the link starts an
//! OpenID Connect login that, when the provider's *verified* e-mail is the invited address,
//! links the account and makes the user active — then their assignments apply. A link
//! works once, expires after `LINK_DAYS`, can be revoked, and re-sending replaces it.

use crate::access::Rule;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::authorization::Target;
use super::AdminContext;
use crate::db::invitations::{self, InvitationRow};
use crate::error::AdminError;

/// How long a link stays valid.
pub const LINK_DAYS: i64 = 7;

/// A link as the admin API answers it (the secret is shown only here, once).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct InvitationLink {
    pub invitation_url: String,
    pub expires_at: DateTime<Utc>,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Where a link points: `{base}/oidc/{tenant}/invitations/{secret}`.
fn url(base_url: &str, tenant_id: Uuid, secret: &str) -> String {
    format!(
        "{}/oidc/{tenant_id}/invitations/{secret}",
        base_url.trim_end_matches('/')
    )
}

/// A new link for the user, replacing any open one.
pub fn issue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    base_url: &str,
) -> diesel::QueryResult<InvitationLink> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    invitations::revoke_open(conn, tenant_id, user_id)?;
    let row = invitations::insert(
        conn,
        tenant_id,
        user_id,
        &hash(&secret),
        Utc::now() + Duration::days(LINK_DAYS),
    )?;
    Ok(InvitationLink {
        invitation_url: url(base_url, tenant_id, &secret),
        expires_at: row.expires_at,
    })
}

/// The tenant's still open invitation behind a link's secret.
pub fn open_by_secret(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    secret: &str,
) -> diesel::QueryResult<Option<InvitationRow>> {
    if secret.is_empty() || secret.len() > 100 {
        return Ok(None);
    }
    let found = invitations::find_by_secret_hash(conn, tenant_id, &hash(secret))?;
    Ok(found.filter(|i| i.is_open(Utc::now())))
}

fn invited_user(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_id: Uuid,
) -> Result<(), AdminError> {
    ctx.authorize(conn, Target::User(user_id))?;
    let status = crate::db::oidc::user_status(conn, ctx.tenant_id, user_id)?;
    if status != "invited" {
        return Err(AdminError::Rule(
            Rule::NotInvited,
            "only an invited user has an invitation; this one is not invited".into(),
        ));
    }
    Ok(())
}

/// Re-sends: a new link, the previous one revoked.
pub fn resend(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_id: Uuid,
    base_url: &str,
) -> Result<InvitationLink, AdminError> {
    invited_user(conn, ctx, user_id)?;
    let link = issue(conn, ctx.tenant_id, user_id, base_url)?;
    ctx.record(
        conn,
        "Invitation",
        user_id,
        "send",
        None,
        Some(json!({"expires_at": link.expires_at})),
    )?;
    Ok(link)
}

/// Revokes the user's open link (404 when there is none); the user stays invited.
pub fn revoke(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_id: Uuid,
) -> Result<(), AdminError> {
    invited_user(conn, ctx, user_id)?;
    if invitations::revoke_open(conn, ctx.tenant_id, user_id)? == 0 {
        return Err(AdminError::NotFound(
            "the user has no open invitation".into(),
        ));
    }
    ctx.record(conn, "Invitation", user_id, "revoke", None, None)?;
    Ok(())
}
