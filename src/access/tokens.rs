//! Connector and admin tokens through the admin API. Owner tokens (full access, bound to
//! no user) are made only with the CLI; the API makes SCIM connector tokens and user-bound
//! admin tokens, and a user may bind an admin token only to themselves.

use crate::access::Rule;
use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AdminContext;
use crate::db::tokens::{self as rows, ConnectorToken};
use crate::db::users;
use crate::error::AdminError;
use crate::provisioning::tokens::{self, TokenHolder, TokenKind};

/// The longest lifetime a token can be given: ten years.
pub const MAX_LIFETIME_DAYS: u32 = 3650;

/// A token as listed: never its secret.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    /// `scim` (a provisioning connector), `owner` (full access) or `user` (acts with its
    /// user's privileges).
    pub kind: &'static str,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ConnectorToken> for TokenView {
    fn from(t: ConnectorToken) -> Self {
        TokenView {
            kind: kind_of(&t),
            id: t.id,
            name: t.name,
            user_id: t.user_id,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// `scim`, `check`, `owner` or `user`, as `token list` and the API show it.
pub fn kind_of(t: &ConnectorToken) -> &'static str {
    match (t.kind.as_str(), t.owner) {
        ("scim", _) => "scim",
        ("check", _) => "check",
        (_, true) => "owner",
        _ => "user",
    }
}

/// A newly made token: its secret is shown only in this answer.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct IssuedTokenView {
    #[serde(flatten)]
    pub token: TokenView,
    pub secret: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenCreate)]
pub struct CreateInput {
    pub name: String,
    /// Days until the token stops working (1–3650); none: until revoked.
    pub expires_in_days: Option<u32>,
    /// Admin tokens only: the user it acts as. A user-bound caller may name only itself
    /// (the default); an owner must name one.
    pub user_id: Option<Uuid>,
}

fn expiry(days: Option<u32>) -> Result<Option<DateTime<Utc>>, AdminError> {
    match days {
        None => Ok(None),
        Some(d) if (1..=MAX_LIFETIME_DAYS).contains(&d) => {
            Ok(Some(Utc::now() + Duration::days(i64::from(d))))
        }
        Some(_) => Err(AdminError::BadRequest(format!(
            "expires_in_days is 1 to {MAX_LIFETIME_DAYS}"
        ))),
    }
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    kind: TokenKind,
) -> Result<Vec<TokenView>, AdminError> {
    Ok(rows::list(conn, ctx.tenant_id)?
        .into_iter()
        .filter(|t| t.kind == kind.as_str())
        .map(TokenView::from)
        .collect())
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    kind: TokenKind,
    input: &CreateInput,
) -> Result<IssuedTokenView, AdminError> {
    let name = super::valid_name(&input.name, "token")?;
    let expires_at = expiry(input.expires_in_days)?;
    let holder = match kind {
        TokenKind::Scim => {
            if input.user_id.is_some() {
                return Err(AdminError::BadRequest(
                    "a SCIM connector token is bound to no user".into(),
                ));
            }
            TokenHolder::Connector
        }
        TokenKind::Admin => {
            let user =
                match (ctx.user_id(), input.user_id) {
                    (Some(me), None) => me,
                    (Some(me), Some(other)) if other == me => me,
                    (Some(_), Some(_)) => {
                        return Err(AdminError::Rule(
                            Rule::TokenForAnotherUser,
                            "an admin token can be bound only to the user who creates it".into(),
                        ))
                    }
                    (None, Some(user)) => user,
                    (None, None) => return Err(AdminError::BadRequest(
                        "name the user_id the token acts as; owner tokens are made with the CLI"
                            .into(),
                    )),
                };
            users::find(conn, ctx.tenant_id, user).map_err(|_| {
                AdminError::Unprocessable(
                    "unknown-reference",
                    format!("{user} is not a user of this tenant"),
                )
            })?;
            TokenHolder::User(user)
        }
        TokenKind::Check => {
            return Err(AdminError::BadRequest(
                "check tokens are made with `rolegate token create --kind check`".into(),
            ))
        }
    };
    let issued = tokens::create(conn, ctx.tenant_id, &name, holder, expires_at, &ctx.actor)?;
    Ok(IssuedTokenView {
        token: issued.token.into(),
        secret: issued.secret,
    })
}

pub fn revoke(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    kind: TokenKind,
    id: Uuid,
) -> Result<TokenView, AdminError> {
    let token = rows::find(conn, ctx.tenant_id, id)?;
    if token.kind != kind.as_str() {
        return Err(AdminError::NotFound(format!(
            "no {} token {id}",
            kind.as_str()
        )));
    }
    if token.owner && ctx.user_id().is_some() {
        return Err(AdminError::Rule(
            Rule::OwnerToken,
            "owner tokens are revoked with the CLI or by an owner".into(),
        ));
    }
    let revoked = tokens::revoke(conn, ctx.tenant_id, id, &ctx.actor).map_err(|e| match e {
        diesel::result::Error::NotFound => {
            AdminError::Conflict(format!("token {id} is already revoked"))
        }
        other => other.into(),
    })?;
    Ok(revoked.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: &str, owner: bool) -> ConnectorToken {
        ConnectorToken {
            tenant_id: Uuid::nil(),
            id: Uuid::nil(),
            name: "t".into(),
            secret_hash: Vec::new(),
            created_at: Utc::now(),
            revoked_at: None,
            kind: kind.into(),
            user_id: None,
            owner,
            expires_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn each_kind_of_token_is_shown_by_its_own_name() {
        assert_eq!(kind_of(&token("scim", false)), "scim");
        assert_eq!(kind_of(&token("check", false)), "check");
        assert_eq!(kind_of(&token("admin", true)), "owner");
        assert_eq!(kind_of(&token("admin", false)), "user");
        // A check token is never shown as an owner, whatever its owner flag says.
        assert_eq!(kind_of(&token("check", true)), "check");
    }
}
