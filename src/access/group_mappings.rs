//! Group mappings: an identity provider's group (a SCIM group, by its stable id) grants
//! membership of an end-user group to everyone in it.

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::authorization::{Privilege, Target, Visible};
use super::effective::{MappingEffect, Pending, Scope};
use super::AdminContext;
use crate::db::group_mappings::{self, GroupMapping, MembershipPath};
use crate::db::{end_user_groups, groups, users};
use crate::error::AdminError;

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    pub idp_group_id: Uuid,
    pub end_user_group_id: Uuid,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingQuery {
    pub idp_group_id: Option<Uuid>,
    pub end_user_group_id: Option<Uuid>,
}

fn record(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    input: &MappingInput,
    operation: &str,
) -> QueryResult<()> {
    let value =
        json!({"idp_group_id": input.idp_group_id, "end_user_group_id": input.end_user_group_id});
    let (before, after) = if operation == "delete" {
        (Some(value), None)
    } else {
        (None, Some(value))
    };
    ctx.record(
        conn,
        "GroupMapping",
        format!("{}:{}", input.idp_group_id, input.end_user_group_id),
        operation,
        before,
        after,
    )
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &MappingQuery,
) -> Result<Vec<GroupMapping>, AdminError> {
    let visible = match query.end_user_group_id {
        Some(group) => {
            let group = end_user_groups::find(conn, ctx.tenant_id, group)?;
            ctx.authorize(conn, Target::Environment(group.environment_id))?;
            Visible::All
        }
        None => ctx.environments_holding(conn, &[Privilege::UsersAndGroups])?,
    };
    let environments = match &visible {
        Visible::All => None,
        Visible::Only(ids) => Some(ids.as_slice()),
    };
    Ok(group_mappings::list(
        conn,
        ctx.tenant_id,
        query.idp_group_id,
        query.end_user_group_id,
        environments,
    )?)
}

/// Maps an IdP group into an end-user group: its members receive the group's roles now.
pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &MappingInput,
) -> Result<GroupMapping, AdminError> {
    groups::find_any(conn, ctx.tenant_id, input.idp_group_id).map_err(|_| {
        AdminError::BadRequest(format!(
            "{} is not a group of this tenant",
            input.idp_group_id
        ))
    })?;
    let target =
        end_user_groups::find(conn, ctx.tenant_id, input.end_user_group_id).map_err(|_| {
            AdminError::BadRequest(format!(
                "{} is not an end-user group of this tenant",
                input.end_user_group_id
            ))
        })?;
    ctx.authorize(conn, Target::Environment(target.environment_id))?;
    let scope = Scope::of_end_user_group(conn, ctx.tenant_id, target.id)?;
    pending.mark_mapping(
        conn,
        input.idp_group_id,
        input.end_user_group_id,
        scope,
        MappingEffect::Grants,
    )?;
    let mapping = group_mappings::insert(
        conn,
        ctx.tenant_id,
        input.idp_group_id,
        input.end_user_group_id,
    )?;
    record(conn, ctx, input, "create")?;
    Ok(mapping)
}

/// Removes the mapping: only what it granted goes; other paths keep their roles.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &MappingInput,
) -> Result<(), AdminError> {
    let target = end_user_groups::find(conn, ctx.tenant_id, input.end_user_group_id)
        .map_err(|_| AdminError::NotFound("no such group mapping".into()))?;
    ctx.authorize(conn, Target::Environment(target.environment_id))?;
    let scope = Scope::of_end_user_group(conn, ctx.tenant_id, target.id)?;
    pending.mark_mapping(
        conn,
        input.idp_group_id,
        input.end_user_group_id,
        scope,
        MappingEffect::Revokes,
    )?;
    if group_mappings::delete(
        conn,
        ctx.tenant_id,
        input.idp_group_id,
        input.end_user_group_id,
    )? == 0
    {
        return Err(AdminError::NotFound("no such group mapping".into()));
    }
    record(conn, ctx, input, "delete")?;
    Ok(())
}

/// The end-user groups a user is in, with every path that puts them there.
pub fn memberships(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    user_id: Uuid,
) -> Result<Vec<MembershipPath>, AdminError> {
    users::find(conn, ctx.tenant_id, user_id)?;
    ctx.authorize(conn, Target::User(user_id))?;
    Ok(group_mappings::memberships_of_user(
        conn,
        ctx.tenant_id,
        user_id,
    )?)
}
