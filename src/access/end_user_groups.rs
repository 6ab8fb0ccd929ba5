//! End-user groups: each belongs to one environment for life, its name unique there.
//! Members are users of the tenant, added directly or through group mappings; the group's
//! application roles reach all of them.

use crate::access::Rule;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::authorization::{Privilege, Target, Visible};
use super::effective::{Pending, Scope, Users};
use super::users::check_users;
use super::{valid_description, valid_name, AdminContext};
use crate::db::assignments::{self, NewAssignment, Principal};
use crate::db::end_user_groups::{self, EndUserGroup};
use crate::db::{environments, group_mappings, tenants};
use crate::error::AdminError;
use crate::events::{self, EventType, GroupKind, Subject};

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = EndUserGroupCreate)]
pub struct CreateInput {
    pub environment_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub members: Vec<Uuid>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[schema(as = EndUserGroupUpdate)]
pub struct UpdateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Present only to be refused: a group never changes environment.
    pub environment_id: Option<Uuid>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersInput {
    pub users: Vec<Uuid>,
}

/// What a duplicate copies besides the description: any of members, roles and mappings.
#[derive(utoipa::ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateInput {
    pub name: String,
    #[serde(default)]
    pub members: bool,
    #[serde(default)]
    pub roles: bool,
    #[serde(default)]
    pub mappings: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[schema(as = EndUserGroupView)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: EndUserGroup,
    pub members: Vec<Uuid>,
}

fn record(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    operation: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> QueryResult<()> {
    ctx.record(conn, "EndUserGroup", id, operation, before, after)
}

fn needs_member() -> AdminError {
    AdminError::Rule(
        Rule::GroupNeedsMember,
        "this tenant requires every end-user group to keep at least one direct member".into(),
    )
}

fn view(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    group: EndUserGroup,
) -> Result<GroupView, AdminError> {
    let members = end_user_groups::members(conn, ctx.tenant_id, group.id)?;
    Ok(GroupView { group, members })
}

pub fn list(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    environment_id: Option<Uuid>,
) -> Result<Vec<EndUserGroup>, AdminError> {
    let visible = match environment_id {
        Some(env) => {
            ctx.authorize(conn, Target::Environment(env))?;
            Visible::All
        }
        None => ctx.environments_holding(conn, &[Privilege::UsersAndGroups])?,
    };
    let mut groups = end_user_groups::list(conn, ctx.tenant_id, environment_id)?;
    groups.retain(|g| visible.allows(g.environment_id));
    Ok(groups)
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<GroupView, AdminError> {
    let group = end_user_groups::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(group.environment_id))?;
    view(conn, ctx, group)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    input: &CreateInput,
) -> Result<GroupView, AdminError> {
    let name = valid_name(&input.name, "group")?;
    let description = valid_description(&input.description)?;
    environments::find(conn, ctx.tenant_id, input.environment_id).map_err(|_| {
        AdminError::BadRequest(format!(
            "{} is not an environment of this tenant",
            input.environment_id
        ))
    })?;
    ctx.authorize(conn, Target::Environment(input.environment_id))?;
    let members = check_users(conn, ctx, &input.members)?;
    if members.is_empty() && tenants::requires_end_user_group_members(conn, ctx.tenant_id)? {
        return Err(needs_member());
    }
    let group = end_user_groups::insert(
        conn,
        ctx.tenant_id,
        input.environment_id,
        &name,
        &description,
    )?;
    // A new group holds no roles yet: nobody's effective roles change.
    let added = end_user_groups::add_members(conn, ctx.tenant_id, group.id, &members)?;
    group_events(conn, ctx, EventType::GroupCreated, &group, &added, &[])?;
    let created = view(conn, ctx, group)?;
    record(
        conn,
        ctx,
        created.group.id,
        "create",
        None,
        Some(json!(created)),
    )?;
    Ok(created)
}

/// Renames or re-describes a group; its identity, environment and members stay.
pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &UpdateInput,
) -> Result<GroupView, AdminError> {
    let name = input
        .name
        .as_deref()
        .map(|n| valid_name(n, "group"))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(valid_description)
        .transpose()?;
    {
        let before = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
        ctx.authorize(conn, Target::Environment(before.environment_id))?;
        if input
            .environment_id
            .is_some_and(|e| e != before.environment_id)
        {
            return Err(AdminError::Rule(
                Rule::EnvironmentFixed,
                "an end-user group stays in the environment it was created in".into(),
            ));
        }
        let after = end_user_groups::update(
            conn,
            ctx.tenant_id,
            id,
            name.as_deref().unwrap_or(&before.name),
            description.as_deref().unwrap_or(&before.description),
        )?;
        record(
            conn,
            ctx,
            id,
            "update",
            Some(json!(before)),
            Some(json!(after)),
        )?;
        if after.name != before.name {
            group_events(conn, ctx, EventType::GroupUpdated, &after, &[], &[])?;
        }
        view(conn, ctx, after)
    }
}

/// Deletes a group. One that still has direct members is kept unless `force` is given.
/// Everything the group granted is revoked at once.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    force: bool,
) -> Result<(), AdminError> {
    let before = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(before.environment_id))?;
    let members = end_user_groups::member_count(conn, ctx.tenant_id, id)?;
    if members > 0 && !force {
        return Err(AdminError::Rule(
            Rule::GroupHasMembers,
            format!(
                "the group still has {members} direct member(s); delete with force=true to remove it anyway"
            ),
        ));
    }
    let scope = Scope::of_end_user_group(conn, ctx.tenant_id, id)?;
    pending.mark(conn, Users::EndUserGroupReach(id), scope)?;
    end_user_groups::delete(conn, ctx.tenant_id, id)?;
    group_events(conn, ctx, EventType::GroupDeleted, &before, &[], &[])?;
    record(
        conn,
        ctx,
        id,
        "delete",
        Some(json!({"group": before, "members": members})),
        None,
    )?;
    Ok(())
}

pub fn add_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    let group = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(group.environment_id))?;
    let users = check_users(conn, ctx, &input.users)?;
    let added = end_user_groups::add_members(conn, ctx.tenant_id, id, &users)?;
    if !added.is_empty() {
        let scope = Scope::of_end_user_group(conn, ctx.tenant_id, id)?;
        pending.mark(conn, Users::Ids(&added), scope)?;
        events::membership_changed(
            conn,
            ctx.tenant_id,
            &ctx.actor,
            GroupKind::EndUser,
            id,
            &added,
            &[],
        )?;
        record(
            conn,
            ctx,
            id,
            "add_members",
            None,
            Some(json!({"users": users})),
        )?;
    }
    view(conn, ctx, group)
}

pub fn remove_members(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &MembersInput,
) -> Result<GroupView, AdminError> {
    let group = end_user_groups::find_for_update(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(group.environment_id))?;
    let removed = end_user_groups::remove_members(conn, ctx.tenant_id, id, &input.users)?;
    if !removed.is_empty() {
        if end_user_groups::member_count(conn, ctx.tenant_id, id)? == 0
            && tenants::requires_end_user_group_members(conn, ctx.tenant_id)?
        {
            return Err(needs_member());
        }
        let scope = Scope::of_end_user_group(conn, ctx.tenant_id, id)?;
        pending.mark(conn, Users::Ids(&removed), scope)?;
        events::membership_changed(
            conn,
            ctx.tenant_id,
            &ctx.actor,
            GroupKind::EndUser,
            id,
            &[],
            &removed,
        )?;
        record(
            conn,
            ctx,
            id,
            "remove_members",
            Some(json!({"users": input.users})),
            None,
        )?;
    }
    view(conn, ctx, group)
}

/// Copies a group within its environment under a new name, with the chosen parts: direct
/// members, application roles, group mappings.
pub fn duplicate(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    input: &DuplicateInput,
) -> Result<GroupView, AdminError> {
    let name = valid_name(&input.name, "group")?;
    let source = end_user_groups::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(source.environment_id))?;
    // The copy reaches at most whom the source reaches, with at most its roles.
    let scope = Scope::of_end_user_group(conn, ctx.tenant_id, id)?;
    pending.mark(conn, Users::EndUserGroupReach(id), scope)?;
    let copy = end_user_groups::insert(
        conn,
        ctx.tenant_id,
        source.environment_id,
        &name,
        &source.description,
    )?;
    let added = if input.members {
        let members = end_user_groups::members(conn, ctx.tenant_id, id)?;
        end_user_groups::add_members(conn, ctx.tenant_id, copy.id, &members)?
    } else {
        Vec::new()
    };
    group_events(conn, ctx, EventType::GroupCreated, &copy, &added, &[])?;
    if end_user_groups::member_count(conn, ctx.tenant_id, copy.id)? == 0
        && tenants::requires_end_user_group_members(conn, ctx.tenant_id)?
    {
        return Err(needs_member());
    }
    let mut copied_roles = Vec::new();
    if input.roles {
        for a in assignments::of_end_user_group(conn, ctx.tenant_id, id)? {
            let new = assignments::insert(
                conn,
                ctx.tenant_id,
                &NewAssignment {
                    role_id: a.role_id,
                    environment_id: a.environment_id,
                    application_id: a.application_id,
                    principal: Principal::EndUserGroup(copy.id),
                },
            )?;
            copied_roles.push(new.id);
        }
    }
    if input.mappings {
        for m in group_mappings::list(conn, ctx.tenant_id, None, Some(id), None)? {
            group_mappings::insert(conn, ctx.tenant_id, m.idp_group_id, copy.id)?;
        }
    }
    let created = view(conn, ctx, copy)?;
    record(
        conn,
        ctx,
        created.group.id,
        "duplicate",
        Some(
            json!({"source": id, "parts": {"members": input.members, "roles": input.roles, "mappings": input.mappings}}),
        ),
        Some(json!({"group": created, "assignments": copied_roles})),
    )?;
    Ok(created)
}

/// `group.created` / `updated` / `deleted` for an end-user group, and its membership change.
fn group_events(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    event_type: EventType,
    group: &EndUserGroup,
    added: &[Uuid],
    removed: &[Uuid],
) -> Result<(), AdminError> {
    events::record(
        conn,
        ctx.tenant_id,
        &ctx.actor,
        event_type,
        Subject::Group(group.id),
        json!({"kind": "end_user", "name": group.name, "environment_id": group.environment_id}),
    )?;
    events::membership_changed(
        conn,
        ctx.tenant_id,
        &ctx.actor,
        GroupKind::EndUser,
        group.id,
        added,
        removed,
    )?;
    Ok(())
}

/// A group as the console shows it: a page of its direct members (never all of them), its
/// member count, the roles it grants and the IdP groups mapped into it.
#[derive(Debug, Clone)]
pub struct GroupOverview {
    pub group: EndUserGroup,
    pub member_count: i64,
    pub members: Vec<end_user_groups::ListedMember>,
    pub next_after: Option<Uuid>,
    pub roles: Vec<end_user_groups::GrantedRole>,
    pub mappings: Vec<end_user_groups::MappedIdpGroup>,
}

pub fn overview(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<GroupOverview, AdminError> {
    let group = end_user_groups::find(conn, ctx.tenant_id, id)?;
    ctx.authorize(conn, Target::Environment(group.environment_id))?;
    let t = ctx.tenant_id;
    let mut members = end_user_groups::members_page(conn, t, id, after, limit + 1)?;
    let more = members.len() as i64 > limit;
    members.truncate(limit.max(0) as usize);
    Ok(GroupOverview {
        member_count: end_user_groups::member_count(conn, t, id)?,
        next_after: more.then(|| members.last().map(|m| m.id)).flatten(),
        members,
        roles: end_user_groups::granted_roles(conn, t, id)?,
        mappings: end_user_groups::mapped_idp_groups(conn, t, id)?,
        group,
    })
}
