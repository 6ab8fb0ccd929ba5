//! Per-tenant settings of the access model.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AdminContext;
use crate::db::tenants;
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Settings {
    /// End-user groups must keep at least one direct member (Workato's rule).
    pub require_end_user_group_members: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    pub require_end_user_group_members: Option<bool>,
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext) -> Result<Settings, AdminError> {
    Ok(Settings {
        require_end_user_group_members: tenants::requires_end_user_group_members(
            conn,
            ctx.tenant_id,
        )?,
    })
}

pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    input: &SettingsInput,
) -> Result<Settings, AdminError> {
    let before = get(conn, ctx)?;
    if let Some(v) = input.require_end_user_group_members {
        tenants::set_requires_end_user_group_members(conn, ctx.tenant_id, v)?;
    }
    let after = get(conn, ctx)?;
    ctx.record(
        conn,
        "Settings",
        ctx.tenant_id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}
