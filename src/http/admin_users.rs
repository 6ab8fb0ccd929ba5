use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{created_at, method_not_allowed, mutation, ok, read, respond, Admin, Mutation};
use crate::access::assignments;
use crate::access::settings::{self, SettingsInput};
use crate::access::users::{self, HoldersQuery, InviteInput, RoleInput, UserView};
use crate::error::AdminError;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::post().to(invite))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/import")
            .route(web::post().to(import))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}")
            .route(web::get().to(get))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/archive")
            .route(web::post().to(archive))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/unarchive")
            .route(web::post().to(unarchive))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/environments/{environment_id}/access")
            .route(web::put().to(restore_access))
            .route(web::delete().to(revoke_access))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/environments/{environment_id}/role")
            .route(web::put().to(set_environment_role))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/users/{id}/effective-roles")
            .route(web::get().to(effective_roles))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/effective-roles")
            .route(web::get().to(holders))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/settings")
            .route(web::get().to(get_settings))
            .route(web::patch().to(update_settings))
            .default_service(web::to(method_not_allowed)),
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentQuery {
    environment_id: Option<Uuid>,
}

async fn invite(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<InviteInput>,
) -> Response {
    let outcome = mutation(&state, ctx, m, "user", move |conn, ctx, pending| {
        users::invite(conn, ctx, pending, &input)
    })
    .await?;
    respond(outcome, created_at("users", |u: &UserView| u.id))
}

/// `text/csv` body; answers with a per-row report.
async fn import(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    body: web::Bytes,
) -> Response {
    let outcome = mutation(&state, ctx, m, "user_import", move |conn, ctx, pending| {
        users::import_csv(conn, ctx, pending, &body)
    })
    .await?;
    respond(outcome, ok)
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
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "user_status", move |conn, ctx, pending| {
        users::unarchive(conn, ctx, pending, id)
    })
    .await?;
    respond(outcome, ok)
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
