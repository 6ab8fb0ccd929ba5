use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use super::public_root;
use crate::access::settings::{self, SettingsInput};
use crate::access::users::{self, HoldersQuery, InviteInput, Invited, RoleInput};
use crate::access::{assignments, invitations, user_list};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::{Route, ENVIRONMENT_FILTER};
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/users",
        |r| r.to(list),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "The tenant's users, a page at a time, searched and filtered on the server",
        Body(200, "UserPage"),
        &[
            ("q", "string", "part of the userName, the start of the display name, or an exact e-mail address or externalId"),
            ("status", "string", "invited, active, archived or deactivated"),
            ("source", "string", "scim, login, invitation, import or moderator"),
            ("after", "string", "next_after of the previous page"),
            ("limit", "integer", "page size, up to 200 (50)"),
        ],
    ),
    Route::write(
        "post",
        "/users",
        |r| r.to(invite),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Invite a user: answers the user and their invitation link",
        Some("InviteInput"),
        Body(201, "Invited"),
    ),
    Route::write(
        "post",
        "/users/import",
        |r| r.to(import),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Invite users from a CSV file (text/csv)",
        Some("csv"),
        Body(200, "ImportReport"),
    ),
    Route::read(
        "/users/{id}",
        |r| r.to(get),
        Requirement::SelfOr(Privilege::Collaborators),
        "users",
        "A user's status and environment access",
        Body(200, "UserView"),
        &[],
    ),
    Route::write(
        "post",
        "/users/{id}/archive",
        |r| r.to(archive),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Archive a user (no roles; data kept)",
        None,
        Body(200, "UserView"),
    ),
    Route::write(
        "post",
        "/users/{id}/unarchive",
        |r| r.to(unarchive),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Unarchive a user (invited again, with a new link)",
        None,
        Body(200, "Invited"),
    ),
    Route::write(
        "post",
        "/users/{id}/invitation",
        |r| r.to(resend_invitation),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Re-send an invited user's invitation: a new link, the previous one revoked",
        None,
        Body(200, "InvitationLink"),
    ),
    Route::write(
        "delete",
        "/users/{id}/invitation",
        |r| r.to(revoke_invitation),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Revoke an invited user's link (they stay invited)",
        None,
        Empty,
    ),
    Route::write(
        "put",
        "/users/{id}/environments/{environment_id}/access",
        |r| r.to(restore_access),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Restore a user's access to an environment",
        None,
        Body(200, "UserView"),
    ),
    Route::write(
        "delete",
        "/users/{id}/environments/{environment_id}/access",
        |r| r.to(revoke_access),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Revoke a user's access to an environment",
        None,
        Body(200, "UserView"),
    ),
    Route::write(
        "put",
        "/users/{id}/environments/{environment_id}/role",
        |r| r.to(set_environment_role),
        Requirement::Tenant(Privilege::Collaborators),
        "users",
        "Set the user's one environment role there",
        Some("RoleInput"),
        Body(200, "Assignment"),
    ),
    Route::read(
        "/users/{id}/effective-roles",
        |r| r.to(effective_roles),
        Requirement::SelfOr(Privilege::Collaborators),
        "effective roles",
        "A user's effective roles and privileges, with every path",
        Body(200, "EffectiveAccess"),
        ENVIRONMENT_FILTER,
    ),
    Route::read(
        "/effective-roles",
        |r| r.to(holders),
        Requirement::Tenant(Privilege::Collaborators),
        "effective roles",
        "Who holds a role, or a role carrying a privilege",
        List("users", "Holder"),
        &[
            ("role_id", "uuid", "holders of this role"),
            (
                "privilege",
                "string",
                "holders of a role with this privilege",
            ),
            ("environment_id", "uuid", "in this environment"),
            ("application_id", "uuid", "on this application"),
            ("after", "uuid", "users after this id (paging)"),
            (
                "limit",
                "integer",
                "at most this many (1–1000, default 100)",
            ),
        ],
    ),
    Route::read(
        "/settings",
        |r| r.to(get_settings),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "settings",
        "The tenant's access settings",
        Body(200, "Settings"),
        &[],
    ),
    Route::write(
        "patch",
        "/settings",
        |r| r.to(update_settings),
        Requirement::Tenant(Privilege::WorkspaceSettings),
        "settings",
        "Change the tenant's access settings",
        Some("SettingsInput"),
        Body(200, "Settings"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentQuery {
    environment_id: Option<Uuid>,
}

async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<InviteInput>,
) -> Response {
    let root = public_root(&req);
    let outcome = mutation(&state, ctx, m, "user", move |conn, ctx, pending| {
        users::invite(conn, ctx, pending, &input, &root)
    })
    .await?;
    respond(outcome, created_at("users", |u: &Invited| u.user.id))
}

/// `text/csv` body; answers with a per-row report.
async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    body: web::Bytes,
) -> Response {
    let root = public_root(&req);
    let outcome = mutation(&state, ctx, m, "user_import", move |conn, ctx, pending| {
        users::import_csv(conn, ctx, pending, &body, &root)
    })
    .await?;
    respond(outcome, ok)
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<user_list::ListQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        user_list::list(conn, ctx, &query)
    })
    .await
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| users::get(conn, ctx, id)).await
}

async fn archive(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "user_status", move |conn, ctx, pending| {
        users::archive(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, ok)
}

async fn unarchive(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let root = public_root(&req);
    let outcome = mutation(&state, ctx, m, "user_status", move |conn, ctx, pending| {
        users::unarchive(conn, ctx, pending, id, &root)
    })
    .await?;
    respond(outcome, ok)
}

/// Re-sends a user's invitation: a new link, the previous one revoked.
async fn resend_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let root = public_root(&req);
    let outcome = mutation(&state, ctx, m, "invitation", move |conn, ctx, _pending| {
        invitations::resend(conn, ctx, id, &root)
    })
    .await?;
    respond(outcome, ok)
}

async fn revoke_invitation(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "invitation", move |conn, ctx, _pending| {
        invitations::revoke(conn, ctx, id)
    })
    .await?;
    respond(outcome, no_content)
}

async fn set_access(
    state: web::Data<AppState>,
    ctx: crate::access::AdminContext,
    m: Mutation,
    path: (Uuid, Uuid),
    granted: bool,
) -> Response {
    let (id, environment_id) = path;
    let outcome = mutation(
        &state,
        ctx,
        m,
        "environment_access",
        move |conn, ctx, pending| {
            users::set_environment_access(conn, ctx, pending, id, environment_id, granted)
        },
    )
    .await?;
    respond(outcome, ok)
}

async fn restore_access(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    set_access(state, ctx, m, path.into_inner(), true).await
}

async fn revoke_access(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    set_access(state, ctx, m, path.into_inner(), false).await
}

/// Sets the user's one environment role in the environment (replacing any other).
async fn set_environment_role(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
    input: web::Json<RoleInput>,
) -> Response {
    let (id, environment_id) = path.into_inner();
    let role_id = input.role_id;
    let outcome = mutation(&state, ctx, m, "assignment", move |conn, ctx, pending| {
        assignments::set_environment_role(conn, ctx, pending, id, environment_id, role_id)
    })
    .await?;
    respond(outcome, ok)
}

/// A user's effective roles and privileges per environment, with every path (the "why").
async fn effective_roles(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    query: web::Query<EnvironmentQuery>,
) -> Response {
    let (id, environment) = (id.into_inner(), query.environment_id);
    read(&state, ctx, move |conn, ctx| {
        users::effective_access(conn, ctx, id, environment)
    })
    .await
}

/// Who holds a role or a privilege.
async fn holders(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<HoldersQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "users": users::holders(conn, ctx, &query)? }))
    })
    .await
}

async fn get_settings(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, settings::get).await
}

async fn update_settings(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<SettingsInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "settings", move |conn, ctx, _| {
        settings::update(conn, ctx, &input)
    })
    .await?;
    respond(outcome, ok)
}
