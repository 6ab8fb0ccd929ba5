use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::access::end_user_groups::{
    self, CreateInput, DuplicateInput, GroupView, MembersInput, UpdateInput,
};
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::{Route, ENVIRONMENT_FILTER};
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/end-user-groups",
        |r| r.to(list),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "End-user groups",
        List("end_user_groups", "EndUserGroup"),
        ENVIRONMENT_FILTER,
    ),
    Route::write(
        "post",
        "/end-user-groups",
        |r| r.to(create),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Create an end-user group in one environment",
        Some("EndUserGroupCreate"),
        Body(201, "EndUserGroupView"),
    ),
    Route::read(
        "/end-user-groups/{id}",
        |r| r.to(get),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Read an end-user group with its direct members",
        Body(200, "EndUserGroupView"),
        &[],
    ),
    Route::write(
        "patch",
        "/end-user-groups/{id}",
        |r| r.to(update),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Rename or re-describe an end-user group",
        Some("EndUserGroupUpdate"),
        Body(200, "EndUserGroupView"),
    ),
    Route {
        query: &[("force", "boolean", "delete even with direct members")],
        ..Route::write(
            "delete",
            "/end-user-groups/{id}",
            |r| r.to(delete),
            Requirement::Environment(Privilege::UsersAndGroups),
            "end-user groups",
            "Delete an end-user group, revoking what it granted",
            None,
            Empty,
        )
    },
    Route::write(
        "post",
        "/end-user-groups/{id}/members",
        |r| r.to(add_members),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Add direct members",
        Some("MembersInput"),
        Body(200, "EndUserGroupView"),
    ),
    Route::write(
        "delete",
        "/end-user-groups/{id}/members",
        |r| r.to(remove_members),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Remove direct members",
        Some("MembersInput"),
        Body(200, "EndUserGroupView"),
    ),
    Route::write(
        "post",
        "/end-user-groups/{id}/duplicate",
        |r| r.to(duplicate),
        Requirement::Environment(Privilege::UsersAndGroups),
        "end-user groups",
        "Copy a group with the chosen parts",
        Some("DuplicateInput"),
        Body(201, "EndUserGroupView"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    environment_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

fn group_id(g: &GroupView) -> Uuid {
    g.group.id
}

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<ListQuery>,
) -> Response {
    let environment = query.environment_id;
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "end_user_groups": end_user_groups::list(conn, ctx, environment)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "end_user_group", move |conn, ctx, _| {
        end_user_groups::create(conn, ctx, &input)
    })
    .await?;
    respond(outcome, created_at("end-user-groups", group_id))
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        end_user_groups::get(conn, ctx, id)
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
    let outcome = mutation(&state, ctx, m, "end_user_group", move |conn, ctx, _| {
        end_user_groups::update(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, ok)
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    query: web::Query<DeleteQuery>,
) -> Response {
    let (id, force) = (id.into_inner(), query.force);
    let outcome = mutation(
        &state,
        ctx,
        m,
        "end_user_group",
        move |conn, ctx, pending| end_user_groups::delete(conn, ctx, pending, id, force),
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
        "end_user_group_members",
        move |conn, ctx, pending| end_user_groups::add_members(conn, ctx, pending, id, &input),
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
        "end_user_group_members",
        move |conn, ctx, pending| end_user_groups::remove_members(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, ok)
}

async fn duplicate(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<DuplicateInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(
        &state,
        ctx,
        m,
        "end_user_group",
        move |conn, ctx, pending| end_user_groups::duplicate(conn, ctx, pending, id, &input),
    )
    .await?;
    respond(outcome, created_at("end-user-groups", group_id))
}
