use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::collaborator_groups::{self, CreateInput, GroupView, UpdateInput};
use crate::access::end_user_groups::MembersInput;
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/collaborator-groups",
        |r| r.to(list),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Collaborator groups",
        List("collaborator_groups", "CollaboratorGroup"),
        &[],
    ),
    Route::write(
        "post",
        "/collaborator-groups",
        |r| r.to(create),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Create a collaborator group",
        Some("CollaboratorGroupCreate"),
        Body(201, "CollaboratorGroupView"),
    ),
    Route::read(
        "/collaborator-groups/{id}",
        |r| r.to(get),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Read a collaborator group with its members",
        Body(200, "CollaboratorGroupView"),
        &[],
    ),
    Route::write(
        "patch",
        "/collaborator-groups/{id}",
        |r| r.to(update),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Rename or re-describe a collaborator group",
        Some("CollaboratorGroupUpdate"),
        Body(200, "CollaboratorGroupView"),
    ),
    Route::write(
        "delete",
        "/collaborator-groups/{id}",
        |r| r.to(delete),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Delete a collaborator group, revoking what it granted",
        None,
        Empty,
    ),
    Route::write(
        "post",
        "/collaborator-groups/{id}/members",
        |r| r.to(add_members),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Add members",
        Some("MembersInput"),
        Body(200, "CollaboratorGroupView"),
    ),
    Route::write(
        "delete",
        "/collaborator-groups/{id}/members",
        |r| r.to(remove_members),
        Requirement::Tenant(Privilege::Collaborators),
        "collaborator groups",
        "Remove members",
        Some("MembersInput"),
        Body(200, "CollaboratorGroupView"),
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "collaborator_groups": collaborator_groups::list(conn, ctx)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "collaborator_group", move |conn, ctx, _| {
        collaborator_groups::create(conn, ctx, &input)
    })
    .await?;
    respond(
        outcome,
        created_at("collaborator-groups", |g: &GroupView| g.group.id),
    )
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        collaborator_groups::get(conn, ctx, id)
    })
    .await
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<UpdateInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "collaborator_group", move |conn, ctx, _| {
        collaborator_groups::update(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, ok)
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group",
        move |conn, ctx, pending| collaborator_groups::delete(conn, ctx, pending, id),
    )
    .await?;
    respond(outcome, no_content)
}

async fn add_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group_members",
        move |conn, ctx, pending| collaborator_groups::add_members(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, ok)
}

async fn remove_members(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<MembersInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "collaborator_group_members",
        move |conn, ctx, pending| {
            collaborator_groups::remove_members(conn, ctx, pending, id, &input)
        },
    )
    .await?;
    respond(outcome, ok)
}
