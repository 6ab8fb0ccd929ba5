//! A parent tenant's managed workspaces: their users with totals, and their moderators.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{mutation, no_content, read, respond, Admin, Mutation};
use crate::access::authorization::{Privilege, Requirement};
use crate::access::workspaces::{self, ModeratorInput, UsersQuery};
use crate::db::moderators::Moderator;
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
type Response = Result<HttpResponse, AdminError>;

const WHO_MANAGES: Requirement = Requirement::Tenant(Privilege::Collaborators);

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/workspaces",
        |r| r.to(list),
        WHO_MANAGES,
        "workspaces",
        "This tenant's managed workspaces, each with its users and builders, and the totals",
        Body(200, "WorkspaceList"),
        &[],
    ),
    Route::read(
        "/workspaces/users",
        |r| r.to(users),
        WHO_MANAGES,
        "workspaces",
        "The users of every managed workspace, paged, with the totals (ToolJet's All users)",
        Body(200, "WorkspaceUsers"),
        &[
            ("search", "string", "part of a userName"),
            ("cursor", "string", "next_cursor of the previous page"),
            ("count", "integer", "page size, 1-200 (default 50)"),
        ],
    ),
    Route::read(
        "/workspaces/{id}/moderators",
        |r| r.to(moderators),
        WHO_MANAGES,
        "workspaces",
        "The workspace's moderators",
        List("moderators", "Moderator"),
        &[],
    ),
    Route::write(
        "post",
        "/workspaces/{id}/moderators",
        |r| r.to(add_moderator),
        WHO_MANAGES,
        "workspaces",
        "Make a user of this tenant a moderator of the workspace: an environment role in \
         every environment and a project role on every project there",
        Some("ModeratorCreate"),
        Body(201, "Moderator"),
    ),
    Route::write(
        "delete",
        "/workspaces/{id}/moderators/{user_id}",
        |r| r.to(remove_moderator),
        WHO_MANAGES,
        "workspaces",
        "End a moderator's access to the workspace (user_id: the user of this tenant)",
        None,
        Empty,
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, workspaces::list).await
}

async fn users(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<UsersQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        workspaces::users(conn, ctx, &query)
    })
    .await
}

async fn moderators(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "moderators": workspaces::list_moderators(conn, ctx, id)? }))
    })
    .await
}

async fn add_moderator(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<ModeratorInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "moderator", move |conn, ctx, _pending| {
        workspaces::add_moderator(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, |m: Moderator| {
        HttpResponse::Created()
            .insert_header((
                "Location",
                format!(
                    "/admin/v1/workspaces/{}/moderators/{}",
                    m.tenant_id, m.parent_user_id
                ),
            ))
            .json(m)
    })
}

async fn remove_moderator(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    let (id, user) = path.into_inner();
    let outcome = mutation(&state, ctx, m, "moderator", move |conn, ctx, _pending| {
        workspaces::remove_moderator(conn, ctx, id, user)
    })
    .await?;
    respond(outcome, no_content)
}
