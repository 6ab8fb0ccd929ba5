//! The parent's reads across its managed workspaces: each with its totals, and every
//! workspace's users page by page.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::AdminContext;
use crate::db::workspaces::{self as workspace_rows, WorkspaceTotals};
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceList {
    pub workspaces: Vec<WorkspaceTotals>,
    pub total_users: i64,
    pub total_builders: i64,
}

pub fn list(conn: &mut PgConnection, parent: &AdminContext) -> Result<WorkspaceList, AdminError> {
    let workspaces = workspace_rows::totals(conn, parent.tenant_id)?;
    Ok(WorkspaceList {
        total_users: workspaces.iter().map(|w| w.users).sum(),
        total_builders: workspaces.iter().map(|w| w.builders).sum(),
        workspaces,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// Part of a userName, compared as userNames are.
    pub search: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub count: Option<i64>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceUser {
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub status: String,
    pub builder: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WorkspaceUsers {
    pub users: Vec<WorkspaceUser>,
    /// Over every workspace (not only this page, nor only the search's matches).
    pub total_users: i64,
    pub total_builders: i64,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A position in the listing: a workspace and the last folded userName shown of it.
#[derive(Debug, Serialize, Deserialize)]
struct Position {
    w: Uuid,
    after: Option<String>,
}

fn encode(position: &Position) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(position).unwrap_or_default())
}

fn decode(cursor: &str) -> Result<Position, AdminError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| AdminError::BadRequest("the cursor is not one this listing gave".into()))
}

/// A LIKE pattern matching names that contain `text` (folded as userNames are).
fn contains_pattern(text: &str) -> String {
    let folded = crate::casefold::fold(text);
    let folded: &str = &folded;
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The users of every managed workspace, workspace by workspace (by name) and by userName
/// within each, one page at a time; each page reads only as many rows as it shows.
pub fn users(
    conn: &mut PgConnection,
    parent: &AdminContext,
    query: &UsersQuery,
) -> Result<WorkspaceUsers, AdminError> {
    let count = query.count.unwrap_or(50);
    if !(1..=200).contains(&count) {
        return Err(AdminError::BadRequest("count is between 1 and 200".into()));
    }
    let pattern = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(contains_pattern);
    let workspaces = workspace_rows::totals(conn, parent.tenant_id)?;
    let mut position = match &query.cursor {
        Some(c) => Some(decode(c)?),
        None => None,
    };
    let start = match &position {
        Some(p) => workspaces.iter().position(|w| w.id == p.w).ok_or_else(|| {
            AdminError::BadRequest("the cursor is not one this listing gave".into())
        })?,
        None => 0,
    };
    let mut users = Vec::new();
    let mut next_cursor = None;
    for (i, workspace) in workspaces.iter().enumerate().skip(start) {
        let after = position.take().and_then(|p| p.after);
        let room = count - users.len() as i64;
        // One row more than fits says whether this workspace continues on the next page.
        let mut rows = workspace_rows::users_page(
            conn,
            workspace.id,
            after.as_deref(),
            pattern.as_deref(),
            room + 1,
        )?;
        let more = rows.len() as i64 > room;
        rows.truncate(usize::try_from(room).unwrap_or(0));
        let last_key = rows.last().map(|r| r.sort_key.clone());
        users.extend(rows.into_iter().map(|row| WorkspaceUser {
            workspace_id: workspace.id,
            workspace_name: workspace.name.clone(),
            id: row.id,
            user_name: row.user_name,
            display_name: row.display_name,
            status: row.status,
            builder: row.builder,
        }));
        if users.len() as i64 == count {
            next_cursor = if more {
                Some(Position {
                    w: workspace.id,
                    after: last_key,
                })
            } else {
                workspaces.get(i + 1).map(|w| Position {
                    w: w.id,
                    after: None,
                })
            };
            break;
        }
    }
    Ok(WorkspaceUsers {
        users,
        total_users: workspaces.iter().map(|w| w.users).sum(),
        total_builders: workspaces.iter().map(|w| w.builders).sum(),
        next_cursor: next_cursor.as_ref().map(encode),
    })
}
