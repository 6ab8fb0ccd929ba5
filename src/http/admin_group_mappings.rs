use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{mutation, no_content, read, respond, Admin, Mutation};
use crate::access::group_mappings::{self, MappingInput, MappingQuery};
use crate::access::idp_groups;
use crate::error::AdminError;
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/idp-groups",
        |r| r.to(idp_groups),
        Requirement::Environment(Privilege::UsersAndGroups),
        "group mappings",
        "The identity provider's groups (SCIM-pushed and login-claim groups), a page at a time, each with the end-user groups it is mapped into",
        Body(200, "IdpGroupPage"),
        &[
            ("q", "string", "part of the display name"),
            ("after", "string", "next_after of the previous page"),
            ("limit", "integer", "page size, up to 200 (50)"),
        ],
    ),
    Route::read(
        "/group-mappings",
        |r| r.to(list),
        Requirement::Environment(Privilege::UsersAndGroups),
        "group mappings",
        "IdP group → end-user group mappings",
        List("group_mappings", "GroupMapping"),
        &[
            ("idp_group_id", "uuid", "of this IdP group"),
            ("end_user_group_id", "uuid", "into this end-user group"),
        ],
    ),
    Route::write(
        "post",
        "/group-mappings",
        |r| r.to(create),
        Requirement::Environment(Privilege::UsersAndGroups),
        "group mappings",
        "Map an IdP group into an end-user group",
        Some("MappingInput"),
        Body(201, "GroupMapping"),
    ),
    Route::write(
        "delete",
        "/group-mappings/{idp_group_id}/{end_user_group_id}",
        |r| r.to(delete),
        Requirement::Environment(Privilege::UsersAndGroups),
        "group mappings",
        "Remove a mapping and only what it granted",
        None,
        Empty,
    ),
    Route::read(
        "/users/{id}/end-user-groups",
        |r| r.to(memberships),
        Requirement::SelfOr(Privilege::Collaborators),
        "effective roles",
        "The end-user groups a user is in, with every path",
        List("memberships", "MembershipPath"),
        &[],
    ),
    Route::read(
        "/users/{id}/idp-groups",
        |r| r.to(idp_groups_of_user),
        Requirement::SelfOr(Privilege::Collaborators),
        "group mappings",
        "The identity provider's groups (SCIM-pushed and login-claim) a user is a direct member of",
        List("idp_groups", "MemberOf"),
        &[],
    ),
];

async fn list(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<MappingQuery>,
) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "group_mappings": group_mappings::list(conn, ctx, &query)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<MappingInput>,
) -> Response {
    let outcome = mutation(
        &state,
        ctx,
        m,
        "group_mapping",
        move |conn, ctx, pending| group_mappings::create(conn, ctx, pending, &input),
    )
    .await?;
    respond(outcome, |created| HttpResponse::Created().json(created))
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    path: web::Path<(Uuid, Uuid)>,
) -> Response {
    let (idp_group_id, end_user_group_id) = path.into_inner();
    let input = MappingInput {
        idp_group_id,
        end_user_group_id,
    };
    let outcome = mutation(
        &state,
        ctx,
        m,
        "group_mapping",
        move |conn, ctx, pending| group_mappings::delete(conn, ctx, pending, &input),
    )
    .await?;
    respond(outcome, no_content)
}

async fn idp_groups(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    query: web::Query<idp_groups::ListQuery>,
) -> Response {
    let query = query.into_inner();
    read(&state, ctx, move |conn, ctx| {
        idp_groups::list(conn, ctx, &query)
    })
    .await
}

async fn idp_groups_of_user(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "idp_groups": idp_groups::of_user(conn, ctx, id)? }))
    })
    .await
}

/// "Why is this user in these groups?": every path, direct or through an IdP group.
async fn memberships(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "memberships": group_mappings::memberships(conn, ctx, id)? }))
    })
    .await
}
