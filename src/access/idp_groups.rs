//! The identity provider's groups — pushed by SCIM or learned from login claims — and where
//! each is mapped (`GET /admin/v1/idp-groups`, the console's IdP groups page): a keyset page,
//! searched on the server; and the IdP groups one user is in.

use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::authorization::{Denial, Privilege, Target, Visible};
use super::AdminContext;
use crate::db::groups as rows;
use crate::db::users::GroupSources;
use crate::error::AdminError;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Part of the display name.
    pub q: Option<String>,
    /// `next_after` of the previous page.
    pub after: Option<String>,
    /// Up to 200; 50 by default.
    pub limit: Option<i64>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize)]
pub struct MappedInto {
    pub id: Uuid,
    pub name: String,
    pub environment_id: Uuid,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct IdpGroup {
    pub id: Uuid,
    #[serde(rename = "displayName")]
    pub display_name: String,
    #[serde(rename = "externalId")]
    pub external_id: Option<String>,
    /// `scim`, or `login` for a group learned from a provider's claims.
    pub source: &'static str,
    /// The login provider, for a claim group.
    pub provider: Option<String>,
    pub member_count: i64,
    /// The end-user groups it is mapped into (of the environments the caller administers).
    pub mapped_to: Vec<MappedInto>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct IdpGroupPage {
    pub groups: Vec<IdpGroup>,
    pub next_after: Option<String>,
}

/// `<id>:<folded name>`: the id first, so a name may hold any character.
fn cursor(id: Uuid, name: &str) -> String {
    format!("{id}:{name}")
}

fn parse_cursor(text: &str) -> Result<(&str, Uuid), AdminError> {
    let bad = || AdminError::BadRequest("after is not a cursor this list gave".into());
    let (id, name) = text.split_once(':').ok_or_else(bad)?;
    Ok((name, Uuid::parse_str(id).map_err(|_| bad())?))
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &ListQuery,
) -> Result<IdpGroupPage, AdminError> {
    // Whoever administers end-user groups in some environment sees the IdP groups (to map
    // them) and the mappings of those environments only.
    let visible = ctx.environments_holding(conn, &[Privilege::UsersAndGroups])?;
    if visible == Visible::Only(Vec::new()) {
        return Err(AdminError::Forbidden(Denial {
            privilege: Privilege::UsersAndGroups,
            scope: "any environment".into(),
        }));
    }
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AdminError::BadRequest(format!(
            "limit is between 1 and {MAX_PAGE}"
        )));
    }
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > 200) {
        return Err(AdminError::BadRequest(
            "a search is at most 200 characters".into(),
        ));
    }
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(parse_cursor(a)?),
        None => None,
    };
    let environments = match &visible {
        Visible::All => None,
        Visible::Only(ids) => Some(ids.as_slice()),
    };
    let mut found =
        rows::idp_groups_page(conn, ctx.tenant_id, search, after, limit + 1, environments)?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_after = more
        .then(|| found.last().map(|g| cursor(g.id, &g.sort_name)))
        .flatten();
    let groups = found
        .into_iter()
        .map(|g| IdpGroup {
            source: if g.oidc_provider_id.is_some() {
                "login"
            } else {
                "scim"
            },
            mapped_to: serde_json::from_value(g.mapped_to).unwrap_or_default(),
            id: g.id,
            display_name: g.display_name,
            external_id: g.external_id,
            provider: g.provider_name,
            member_count: g.member_count,
        })
        .collect();
    Ok(IdpGroupPage { groups, next_after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_keeps_any_name() {
        let id = Uuid::new_v4();
        for name in ["sales", "a:b c", "", "ünïcode:::"] {
            assert_eq!(parse_cursor(&cursor(id, name)).ok(), Some((name, id)));
        }
        assert!(parse_cursor("nonsense").is_err());
        assert!(parse_cursor("not-a-uuid:sales").is_err());
    }
}

/// An IdP group a user is a direct member of.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct MemberOf {
    pub id: Uuid,
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// `scim`, or `login` for a group learned from a provider's claims.
    pub source: &'static str,
}

/// The IdP groups a user is in (`GET /admin/v1/users/{id}/idp-groups`).
pub fn of_user(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_id: Uuid,
) -> Result<Vec<MemberOf>, AdminError> {
    crate::db::users::find(conn, ctx.tenant_id, user_id)?;
    ctx.authorize(conn, Target::User(user_id))?;
    let groups =
        crate::db::users::groups_of(conn, ctx.tenant_id, &[user_id], GroupSources::ScimAndLogin)?;
    Ok(groups
        .into_iter()
        .map(|g| MemberOf {
            id: g.group_id,
            display_name: g.display_name,
            source: if g.oidc_provider_id.is_some() {
                "login"
            } else {
                "scim"
            },
        })
        .collect())
}
