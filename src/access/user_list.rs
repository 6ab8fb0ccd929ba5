//! The tenant's users, paged and searched on the server (`GET /admin/v1/users` and the
//! console's user list): a keyset page of at most [`MAX_PAGE`] users, never the whole
//! collection.

use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AdminContext;
use crate::db::users::{self as user_rows, UserListQuery, UserSource};
use crate::error::AdminError;

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;
const STATUSES: [&str; 4] = ["invited", "active", "archived", "deactivated"];

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Part of the userName, the start of the display name, or an exact e-mail address or
    /// externalId.
    pub q: Option<String>,
    /// `invited`, `active`, `archived` or `deactivated`.
    pub status: Option<String>,
    /// `scim`, `login`, `invitation`, `import` or `moderator`.
    pub source: Option<String>,
    /// `next_after` of the previous page.
    pub after: Option<String>,
    /// Up to 200; 50 by default.
    pub limit: Option<i64>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ListedUser {
    pub id: Uuid,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(rename = "externalId")]
    pub external_id: Option<String>,
    /// The primary (else the first) e-mail address.
    pub email: Option<String>,
    /// `invited`, `active`, `archived`, or `deactivated` when the identity provider set
    /// `active: false`.
    pub status: String,
    pub source: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct UserPage {
    pub users: Vec<ListedUser>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<String>,
}

/// A search term as the list takes it: trimmed, at most 200 characters, not empty.
fn search_term(q: Option<&str>) -> Result<Option<&str>, AdminError> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > 200 {
        return Err(AdminError::BadRequest(
            "a search is at most 200 characters".into(),
        ));
    }
    Ok(Some(q))
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &ListQuery,
) -> Result<UserPage, AdminError> {
    ctx.authorize(conn, super::authorization::Target::Tenant)?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) if STATUSES.contains(&s) => Some(s),
        Some(s) => {
            return Err(AdminError::BadRequest(format!(
                "status {s:?} is none of {}",
                STATUSES.join(", ")
            )))
        }
    };
    let source = match query.source.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(UserSource::parse(s).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "source {s:?} is none of scim, login, invitation, import, moderator"
            ))
        })?),
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AdminError::BadRequest(format!(
            "limit is between 1 and {MAX_PAGE}"
        )));
    }
    let mut rows = user_rows::page(
        conn,
        ctx.tenant_id,
        &UserListQuery {
            search: search_term(query.q.as_deref())?,
            status,
            source,
            after: query.after.as_deref().filter(|a| !a.is_empty()),
            limit: limit + 1,
        },
    )?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_after = more
        .then(|| rows.last().map(|r| r.sort_key.clone()))
        .flatten();
    Ok(UserPage {
        users: rows
            .into_iter()
            .map(|r| ListedUser {
                status: if r.active == Some(false) {
                    "deactivated".into()
                } else {
                    r.status
                },
                id: r.id,
                user_name: r.user_name,
                display_name: r.display_name,
                external_id: r.external_id,
                email: r.email,
                source: r.source,
            })
            .collect(),
        next_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_trimmed_and_bounded() {
        assert_eq!(search_term(Some("  ada ")).ok(), Some(Some("ada")));
        assert_eq!(search_term(Some("   ")).ok(), Some(None));
        assert_eq!(search_term(None).ok(), Some(None));
        assert!(search_term(Some(&"é".repeat(201))).is_err());
        assert!(search_term(Some(&"é".repeat(200))).is_ok());
    }
}
