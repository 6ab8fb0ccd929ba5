//! Users as admins manage them: invitation (one or from CSV), archive and unarchive,
//! per-environment access, and the effective roles and privileges they hold, with why.

use crate::access::Rule;
use std::collections::{BTreeMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::assignments;
use super::authorization::Target;
use super::effective::{Pending, Scope, Users};
use super::invitations;
use super::AdminContext;
use crate::casefold;
use crate::db::schema::{environment_access_revocations, users};
use crate::db::users::{self as user_rows, UserFields, UserRow, UserSource};
use crate::db::{end_user_groups, environments, roles};
use crate::error::AdminError;
use crate::events::{self, GroupKind, UserState};

/// Refuses ids that are not users of the tenant; returns them deduplicated.
pub fn check_users(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, AdminError> {
    let mut unique: Vec<Uuid> = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for id in ids {
        if seen.insert(*id) {
            unique.push(*id);
        }
    }
    if unique.is_empty() {
        return Ok(unique);
    }
    let found: HashSet<Uuid> = user_rows::existing_ids(conn, ctx.tenant_id, &unique)?
        .into_iter()
        .collect();
    if let Some(missing) = unique.iter().find(|id| !found.contains(id)) {
        return Err(AdminError::BadRequest(format!(
            "{missing} is not a user of this tenant"
        )));
    }
    Ok(unique)
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct UserView {
    pub id: Uuid,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    pub status: String,
    /// As the identity provider last sent it (SCIM `active`).
    pub active: Option<bool>,
    pub revoked_environments: Vec<Uuid>,
}

fn user_view(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<UserView, AdminError> {
    let (user_name, display_name, status, active): (String, Option<String>, String, Option<bool>) =
        users::table
            .find((ctx.tenant_id, id))
            .select((
                users::user_name,
                users::display_name,
                users::status,
                users::active,
            ))
            .first(conn)?;
    let revoked_environments = environment_access_revocations::table
        .filter(environment_access_revocations::tenant_id.eq(ctx.tenant_id))
        .filter(environment_access_revocations::user_id.eq(id))
        .select(environment_access_revocations::environment_id)
        .load(conn)?;
    Ok(UserView {
        id,
        user_name,
        display_name,
        status,
        active,
        revoked_environments,
    })
}

pub fn get(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<UserView, AdminError> {
    ctx.authorize(conn, Target::User(id))?;
    user_view(conn, ctx, id)
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentRoleInput {
    pub environment_id: Uuid,
    pub role_id: Uuid,
}

/// The role for `PUT /users/{id}/environments/{environment_id}/role`.
#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role_id: Uuid,
}

#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub environment_roles: Vec<EnvironmentRoleInput>,
    #[serde(default)]
    pub end_user_groups: Vec<Uuid>,
    #[serde(default)]
    pub collaborator_groups: Vec<Uuid>,
}

fn valid_email(email: &str) -> Result<String, AdminError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if !ok {
        return Err(AdminError::BadRequest(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    Ok(email.to_string())
}

/// Invites a user: status `invited`, userName and primary e-mail the address given, with
/// optional environment roles and group memberships, all in the same transaction.
/// A user just invited (or unarchived, which invites them again) with their link.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Invited {
    #[serde(flatten)]
    pub user: UserView,
    /// Opening it signs the user in with the tenant's OpenID Connect provider and accepts
    /// the invitation; shown only in this answer.
    pub invitation_url: String,
    pub invitation_expires_at: chrono::DateTime<chrono::Utc>,
}

impl Invited {
    fn new(user: UserView, link: invitations::InvitationLink) -> Self {
        Invited {
            user,
            invitation_url: link.invitation_url,
            invitation_expires_at: link.expires_at,
        }
    }
}

pub fn invite(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &InviteInput,
    base_url: &str,
) -> Result<Invited, AdminError> {
    invite_as(conn, ctx, pending, input, base_url, UserSource::Invitation)
}

fn invite_as(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    input: &InviteInput,
    base_url: &str,
    source: UserSource,
) -> Result<Invited, AdminError> {
    let email = valid_email(&input.email)?;
    let name = input
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut attributes = json!({"emails": [{"value": email, "type": "work", "primary": true}]});
    if let Some(name) = name {
        attributes["name"] = json!({"formatted": name});
    }
    let fields = UserFields {
        user_name: email.clone(),
        external_id: input.external_id.clone(),
        display_name: name.map(str::to_string),
        active: Some(true),
        attributes,
    };
    let row: UserRow = user_rows::insert(conn, ctx.tenant_id, Uuid::new_v4(), &fields, source)?;
    diesel::update(users::table.find((ctx.tenant_id, row.id)))
        .set(users::status.eq("invited"))
        .execute(conn)?;
    for r in &input.environment_roles {
        assignments::set_environment_role(conn, ctx, pending, row.id, r.environment_id, r.role_id)?;
    }
    for g in &input.end_user_groups {
        let group = end_user_groups::find(conn, ctx.tenant_id, *g).map_err(|_| {
            AdminError::BadRequest(format!("{g} is not an end-user group of this tenant"))
        })?;
        let added = end_user_groups::add_members(conn, ctx.tenant_id, group.id, &[row.id])?;
        events::membership_changed(
            conn,
            ctx.tenant_id,
            &ctx.actor,
            GroupKind::EndUser,
            group.id,
            &added,
            &[],
        )?;
    }
    for g in &input.collaborator_groups {
        crate::db::collaborator_groups::find(conn, ctx.tenant_id, *g).map_err(|_| {
            AdminError::BadRequest(format!("{g} is not a collaborator group of this tenant"))
        })?;
        crate::db::collaborator_groups::add_members(conn, ctx.tenant_id, *g, &[row.id])?;
    }
    pending.mark_new(conn, &[row.id], Scope::Tenant)?;
    events::user_changed(
        conn,
        ctx.tenant_id,
        &ctx.actor,
        row.id,
        None,
        Some(UserState {
            active: true,
            archived: false,
        }),
        true,
    )?;
    let view = user_view(conn, ctx, row.id)?;
    ctx.record(conn, "User", row.id, "invite", None, Some(json!({"user": view, "invitation": {
        "environment_roles": input.environment_roles.iter().map(|r| json!({"environment_id": r.environment_id, "role_id": r.role_id})).collect::<Vec<_>>(),
        "end_user_groups": input.end_user_groups,
        "collaborator_groups": input.collaborator_groups,
    }})))?;
    let link = invitations::issue(conn, ctx.tenant_id, row.id, base_url)?;
    Ok(Invited::new(view, link))
}

/// One row of a CSV import, as reported back.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ImportRow {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    pub email: String,
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// The created user's invitation link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub failed: usize,
    pub rows: Vec<ImportRow>,
}

pub const MAX_IMPORT_ROWS: usize = 10_000;

#[derive(Debug, Deserialize)]
struct CsvRecord {
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    /// Environment name for `role`; the tenant's first environment when empty.
    #[serde(default)]
    environment: Option<String>,
    /// An environment role name.
    #[serde(default)]
    role: Option<String>,
    /// End-user group names in that environment, separated by `;`.
    #[serde(default)]
    end_user_groups: Option<String>,
}

/// Invites every row of a CSV file (header: `email,name,external_id,environment,role,
/// end_user_groups`; only `email` is required). Each row succeeds or fails on its own; the
/// report says which and why.
pub fn import_csv(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    body: &[u8],
    base_url: &str,
) -> Result<ImportReport, AdminError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| AdminError::BadRequest(format!("unreadable CSV header: {e}")))?
        .clone();
    if !headers.iter().any(|h| h == "email") {
        return Err(AdminError::BadRequest(
            "the CSV header must name an `email` column".into(),
        ));
    }
    // Names are resolved against lists read once, not per row.
    let environments = environments::list(conn, ctx.tenant_id)?;
    let environment_roles = roles::list(conn, ctx.tenant_id, Some("environment"))?;
    let groups = end_user_groups::list(conn, ctx.tenant_id, None)?;
    let mut report = ImportReport {
        created: 0,
        failed: 0,
        rows: Vec::new(),
    };
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if index >= MAX_IMPORT_ROWS {
            return Err(AdminError::BadRequest(format!(
                "a CSV import has at most {MAX_IMPORT_ROWS} rows"
            )));
        }
        let parsed = record.map_err(|e| e.to_string()).and_then(|r| {
            r.deserialize::<CsvRecord>(Some(&headers))
                .map_err(|e| e.to_string())
        });
        let row = match parsed {
            Ok(row) => row,
            Err(error) => {
                report.failed += 1;
                report.rows.push(ImportRow {
                    line,
                    email: String::new(),
                    outcome: "failed",
                    user_id: None,
                    invitation_url: None,
                    error: Some(error),
                });
                continue;
            }
        };
        // Each row in its own savepoint: a failing row leaves the others in place.
        let result = conn.transaction(|conn| {
            let environment = match row.environment.as_deref().filter(|e| !e.is_empty()) {
                Some(name) => environments
                    .iter()
                    .find(|e| casefold::eq(&e.name, name))
                    .ok_or_else(|| {
                        AdminError::BadRequest(format!("no environment named {name:?}"))
                    })?,
                None => environments.first().ok_or_else(|| {
                    AdminError::BadRequest("the tenant has no environment".into())
                })?,
            };
            let mut roles_to_set = Vec::new();
            if let Some(role) = row.role.as_deref().filter(|r| !r.is_empty()) {
                let found = environment_roles
                    .iter()
                    .find(|r| casefold::eq(&r.name, role))
                    .ok_or_else(|| {
                        AdminError::BadRequest(format!("no environment role named {role:?}"))
                    })?;
                roles_to_set.push(EnvironmentRoleInput {
                    environment_id: environment.id,
                    role_id: found.id,
                });
            }
            let mut member_of = Vec::new();
            for name in row
                .end_user_groups
                .as_deref()
                .unwrap_or("")
                .split(';')
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                let group = groups
                    .iter()
                    .find(|g| g.environment_id == environment.id && casefold::eq(&g.name, name))
                    .ok_or_else(|| {
                        AdminError::BadRequest(format!(
                            "no end-user group named {name:?} in {}",
                            environment.name
                        ))
                    })?;
                member_of.push(group.id);
            }
            invite_as(
                conn,
                ctx,
                pending,
                &InviteInput {
                    email: row.email.clone(),
                    name: row.name.clone(),
                    external_id: row.external_id.clone().filter(|e| !e.is_empty()),
                    environment_roles: roles_to_set,
                    end_user_groups: member_of,
                    collaborator_groups: Vec::new(),
                },
                base_url,
                UserSource::Import,
            )
        });
        match result {
            Ok(invited) => {
                report.created += 1;
                report.rows.push(ImportRow {
                    line,
                    email: row.email,
                    outcome: "created",
                    user_id: Some(invited.user.id),
                    invitation_url: Some(invited.invitation_url),
                    error: None,
                });
            }
            Err(e) => {
                report.failed += 1;
                let error = match &e {
                    AdminError::Db(crate::db::DbError::Query(q))
                        if crate::db::is_unique_violation(q) =>
                    {
                        "a user with this userName already exists".to_string()
                    }
                    AdminError::Db(_) => return Err(e),
                    other => other.to_string(),
                };
                report.rows.push(ImportRow {
                    line,
                    email: row.email,
                    outcome: "failed",
                    user_id: None,
                    invitation_url: None,
                    error: Some(error),
                });
            }
        }
    }
    Ok(report)
}

fn set_status(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    status: &str,
    operation: &str,
) -> Result<UserView, AdminError> {
    let before = user_view(conn, ctx, id)?;
    pending.mark(conn, Users::Ids(&[id]), Scope::Tenant)?;
    diesel::update(users::table.find((ctx.tenant_id, id)))
        .set((
            users::status.eq(status),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    let after = user_view(conn, ctx, id)?;
    let state = |v: &UserView| UserState {
        active: v.active != Some(false),
        archived: v.status == "archived",
    };
    events::user_changed(
        conn,
        ctx.tenant_id,
        &ctx.actor,
        id,
        Some(state(&before)),
        Some(state(&after)),
        false,
    )?;
    ctx.record(
        conn,
        "User",
        id,
        operation,
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}

/// Archives a user: data kept, every role withdrawn until unarchived; at a parent tenant,
/// in its managed workspaces as well.
pub fn archive(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<UserView, AdminError> {
    super::workspaces::refuse_moderator_account(conn, ctx.tenant_id, id)?;
    let view = archive_account(conn, ctx, pending, id)?;
    // At a parent tenant: the same person in every managed workspace too.
    super::workspaces::archive_everywhere(conn, ctx, id, &view.user_name)?;
    Ok(view)
}

/// Archives one account of this tenant, whoever asks (see [`archive`]).
pub(crate) fn archive_account(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<UserView, AdminError> {
    // An archived user's link accepts nothing.
    crate::db::invitations::revoke_open(conn, ctx.tenant_id, id)?;
    set_status(conn, ctx, pending, id, "archived", "archive")
}

/// Unarchives a user, who is then `invited` again (they accept the invitation anew).
pub fn unarchive(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    base_url: &str,
) -> Result<Invited, AdminError> {
    let current = user_view(conn, ctx, id)?;
    if current.status != "archived" {
        return Err(AdminError::Rule(
            Rule::NotArchived,
            "the user is not archived".into(),
        ));
    }
    let view = set_status(conn, ctx, pending, id, "invited", "unarchive")?;
    let link = invitations::issue(conn, ctx.tenant_id, id, base_url)?;
    Ok(Invited::new(view, link))
}

/// Revokes (or restores) a user's access to one environment; nothing else of theirs changes.
pub fn set_environment_access(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
    environment_id: Uuid,
    granted: bool,
) -> Result<UserView, AdminError> {
    user_rows::find(conn, ctx.tenant_id, id)?;
    environments::find(conn, ctx.tenant_id, environment_id)?;
    if !granted {
        super::workspaces::refuse_moderator_account(conn, ctx.tenant_id, id)?;
    }
    let revoked: bool = diesel::select(diesel::dsl::exists(
        environment_access_revocations::table.find((ctx.tenant_id, id, environment_id)),
    ))
    .get_result(conn)?;
    if revoked == granted {
        pending.mark(conn, Users::Ids(&[id]), Scope::Environment(environment_id))?;
    }
    let changed = if granted {
        diesel::delete(environment_access_revocations::table.find((
            ctx.tenant_id,
            id,
            environment_id,
        )))
        .execute(conn)?
    } else {
        diesel::insert_into(environment_access_revocations::table)
            .values((
                environment_access_revocations::tenant_id.eq(ctx.tenant_id),
                environment_access_revocations::user_id.eq(id),
                environment_access_revocations::environment_id.eq(environment_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?
    };
    if changed > 0 {
        ctx.record(
            conn,
            "User",
            id,
            if granted {
                "restore_environment_access"
            } else {
                "revoke_environment_access"
            },
            None,
            Some(json!({"environment_id": environment_id})),
        )?;
    }
    user_view(conn, ctx, id)
}

/// One way a role reaches a user.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct RolePath {
    /// `direct`, `end_user_group`, `group_mapping`, `collaborator_group` or `everyone_else`.
    pub kind: &'static str,
    pub assignment_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user_group: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_group: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collaborator_group: Option<NamedRef>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct NamedRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct HeldRole {
    pub role: NamedRef,
    pub paths: Vec<RolePath>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ApplicationAccess {
    pub application: NamedRef,
    pub roles: Vec<HeldRole>,
    pub privileges: Vec<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct EnvironmentAccess {
    pub environment: NamedRef,
    pub access: &'static str,
    pub roles: Vec<HeldRole>,
    pub privileges: Vec<String>,
    pub applications: Vec<ApplicationAccess>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct EffectiveAccess {
    pub user: UserView,
    pub environments: Vec<EnvironmentAccess>,
}

#[derive(QueryableByName)]
struct PathInfo {
    #[diesel(sql_type = SqlUuid)]
    environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    application_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    application_name: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    role_id: Uuid,
    #[diesel(sql_type = Text)]
    role_name: String,
    #[diesel(sql_type = SqlUuid)]
    assignment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    end_user_group_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    end_user_group_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    collaborator_group_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    collaborator_group_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_principal: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    idp_group_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    idp_group_name: Option<String>,
}

#[derive(QueryableByName)]
struct PrivilegeInfo {
    #[diesel(sql_type = SqlUuid)]
    environment_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    application_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    privilege_key: String,
}

/// A user's effective roles and privileges per environment, each role with every path that
/// grants it. One index range of the effective-role table, plus names.
pub fn effective_access(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    environment_id: Option<Uuid>,
) -> Result<EffectiveAccess, AdminError> {
    ctx.authorize(conn, Target::User(id))?;
    let user = user_view(conn, ctx, id)?;
    // Both reads live in functions (migration `effective_reads`): their plans are kept.
    let paths: Vec<PathInfo> = diesel::sql_query("SELECT * FROM user_role_paths($1, $2, $3)")
        .bind::<SqlUuid, _>(ctx.tenant_id)
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<SqlUuid>, _>(environment_id)
        .load(conn)?;
    let privileges: Vec<PrivilegeInfo> =
        diesel::sql_query("SELECT * FROM user_privileges($1, $2, $3)")
            .bind::<SqlUuid, _>(ctx.tenant_id)
            .bind::<SqlUuid, _>(id)
            .bind::<Nullable<SqlUuid>, _>(environment_id)
            .load(conn)?;

    let mut out = Vec::new();
    for env in environments::list(conn, ctx.tenant_id)? {
        if environment_id.is_some_and(|e| e != env.id) {
            continue;
        }
        let access = if user.revoked_environments.contains(&env.id) {
            "revoked"
        } else {
            "granted"
        };
        // Roles per application (None = the environment itself), in query order.
        let mut by_app: BTreeMap<Option<Uuid>, (Option<String>, Vec<HeldRole>)> = BTreeMap::new();
        for p in paths.iter().filter(|p| p.environment_id == env.id) {
            let entry = by_app
                .entry(p.application_id)
                .or_insert_with(|| (p.application_name.clone(), Vec::new()));
            let path = RolePath {
                kind: match (
                    p.user_principal,
                    p.end_user_group_id,
                    p.idp_group_id,
                    p.collaborator_group_id,
                ) {
                    (Some(_), _, _, _) => "direct",
                    (_, Some(_), Some(_), _) => "group_mapping",
                    (_, Some(_), None, _) => "end_user_group",
                    (_, _, _, Some(_)) => "collaborator_group",
                    _ => "everyone_else",
                },
                assignment_id: p.assignment_id,
                end_user_group: p.end_user_group_id.map(|id| NamedRef {
                    id,
                    name: p.end_user_group_name.clone().unwrap_or_default(),
                }),
                idp_group: p.idp_group_id.map(|id| NamedRef {
                    id,
                    name: p.idp_group_name.clone().unwrap_or_default(),
                }),
                collaborator_group: p.collaborator_group_id.map(|id| NamedRef {
                    id,
                    name: p.collaborator_group_name.clone().unwrap_or_default(),
                }),
            };
            match entry.1.iter_mut().find(|r| r.role.id == p.role_id) {
                Some(held) => held.paths.push(path),
                None => entry.1.push(HeldRole {
                    role: NamedRef {
                        id: p.role_id,
                        name: p.role_name.clone(),
                    },
                    paths: vec![path],
                }),
            }
        }
        let privileges_of = |app: Option<Uuid>| -> Vec<String> {
            privileges
                .iter()
                .filter(|p| p.environment_id == env.id && p.application_id == app)
                .map(|p| p.privilege_key.clone())
                .collect()
        };
        let roles = by_app.remove(&None).map(|(_, r)| r).unwrap_or_default();
        let applications = by_app
            .into_iter()
            .filter_map(|(app, (name, roles))| {
                app.map(|id| ApplicationAccess {
                    application: NamedRef {
                        id,
                        name: name.unwrap_or_default(),
                    },
                    privileges: privileges_of(Some(id)),
                    roles,
                })
            })
            .collect();
        out.push(EnvironmentAccess {
            environment: NamedRef {
                id: env.id,
                name: env.name.clone(),
            },
            access,
            privileges: privileges_of(None),
            roles,
            applications,
        });
    }
    Ok(EffectiveAccess {
        user,
        environments: out,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    pub role_id: Option<Uuid>,
    pub privilege: Option<String>,
    pub environment_id: Option<Uuid>,
    pub application_id: Option<Uuid>,
    /// Keyset paging: users after this id.
    pub after: Option<Uuid>,
    pub limit: Option<i64>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, QueryableByName)]
pub struct Holder {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Text)]
    #[serde(rename = "userName")]
    pub user_name: String,
}

/// The users holding a role, or any role carrying a privilege, optionally in one
/// environment or on one application; ordered by id, paged by `after` (the last id seen).
pub fn holders(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    query: &HoldersQuery,
) -> Result<Vec<Holder>, AdminError> {
    if query.role_id.is_none() && query.privilege.is_none() {
        return Err(AdminError::BadRequest("give role_id or privilege".into()));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AdminError::BadRequest("limit is between 1 and 1000".into()));
    }
    Ok(diesel::sql_query(
        "SELECT u.id AS user_id, u.user_name FROM users u \
         WHERE u.tenant_id = $1 AND ($6::uuid IS NULL OR u.id > $6) AND EXISTS ( \
         SELECT 1 FROM effective_paths er \
         WHERE er.tenant_id = $1 AND er.user_id = u.id \
           AND ($2::uuid IS NULL OR er.role_id = $2) \
           AND ($3::text IS NULL OR er.role_id IN ( \
                SELECT role_id FROM role_privileges WHERE tenant_id = $1 AND privilege_key = $3)) \
           AND ($4::uuid IS NULL OR er.environment_id = $4) \
           AND ($5::uuid IS NULL OR er.application_id = $5) \
         ) ORDER BY u.id LIMIT $7",
    )
    .bind::<SqlUuid, _>(ctx.tenant_id)
    .bind::<Nullable<SqlUuid>, _>(query.role_id)
    .bind::<Nullable<Text>, _>(query.privilege.as_deref())
    .bind::<Nullable<SqlUuid>, _>(query.environment_id)
    .bind::<Nullable<SqlUuid>, _>(query.application_id)
    .bind::<Nullable<SqlUuid>, _>(query.after)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_needs_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            valid_email("  ada@example.com ").ok().as_deref(),
            Some("ada@example.com")
        );
        for bad in [
            "ada",
            "@example.com",
            "ada@localhost",
            "ada@.example.com",
            "ada lovelace@example.com",
            "",
        ] {
            assert!(valid_email(bad).is_err(), "{bad:?} accepted");
        }
        let longest = format!("{}@example.com", "a".repeat(254 - "@example.com".len()));
        assert!(valid_email(&longest).is_ok());
        assert!(valid_email(&format!("a{longest}")).is_err());
    }
}
