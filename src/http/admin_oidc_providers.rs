use actix_web::{web, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use super::admin::{created_at, mutation, no_content, ok, read, respond, Admin, Mutation};
use crate::error::AdminError;
use crate::oidc::keys;
use crate::oidc::providers::{self, ClaimGroupsInput, ProviderInput, ProviderPatch, ProviderView};
use crate::state::AppState;

use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
type Response = Result<HttpResponse, AdminError>;

/// The routes of this module: registration, requirement and documentation in one place.
pub const ROUTES: &[Route] = &[
    Route::read(
        "/oidc-providers",
        |r| r.to(list),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "OpenID Connect providers end-users log in with",
        List("oidc_providers", "ProviderView"),
        &[],
    ),
    Route::write(
        "post",
        "/oidc-providers",
        |r| r.to(create),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "Add a provider (the client secret is stored sealed and never returned)",
        Some("ProviderInput"),
        Body(201, "ProviderView"),
    ),
    Route::read(
        "/oidc-providers/{id}",
        |r| r.to(get),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "One provider",
        Body(200, "ProviderView"),
        &[],
    ),
    Route::write(
        "patch",
        "/oidc-providers/{id}",
        |r| r.to(update),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "Change a provider; fields left out keep their value",
        Some("ProviderPatch"),
        Body(200, "ProviderView"),
    ),
    Route::write(
        "delete",
        "/oidc-providers/{id}",
        |r| r.to(delete),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "Delete a provider with its linked identities and claim groups",
        None,
        Empty,
    ),
    Route::read(
        "/oidc-providers/{id}/groups",
        |r| r.to(claim_groups),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "IdP groups seen in the provider's groups claim (map them with group mappings)",
        List("groups", "ClaimGroup"),
        &[],
    ),
    Route::write(
        "post",
        "/oidc-providers/{id}/groups",
        |r| r.to(register_claim_groups),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "Register claim values as IdP groups before anyone logs in with them",
        Some("ClaimGroupsInput"),
        List("groups", "ClaimGroup"),
    ),
    Route::write(
        "post",
        "/signing-keys/rotate",
        |r| r.to(rotate_signing_key),
        Requirement::Tenant(Privilege::SingleSignOn),
        "oidc providers",
        "Retire the session signing key and make a new one (old tokens stay valid until they expire)",
        None,
        Body(200, "object"),
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, |conn, ctx| {
        Ok(json!({ "oidc_providers": providers::list(conn, ctx)? }))
    })
    .await
}

async fn get(state: web::Data<AppState>, Admin(ctx): Admin, id: web::Path<Uuid>) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| providers::get(conn, ctx, id)).await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<ProviderInput>,
) -> Response {
    let secrets = state.secrets.clone();
    let outcome = mutation(&state, ctx, m, "oidc_provider", move |conn, ctx, _| {
        providers::create(conn, ctx, &secrets, input.into_inner())
    })
    .await?;
    respond(
        outcome,
        created_at("oidc-providers", |p: &ProviderView| p.id),
    )
}

async fn update(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    patch: web::Json<ProviderPatch>,
) -> Response {
    let id = id.into_inner();
    let secrets = state.secrets.clone();
    let outcome = mutation(&state, ctx, m, "oidc_provider", move |conn, ctx, _| {
        providers::update(conn, ctx, &secrets, id, patch.into_inner())
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
        "oidc_provider",
        move |conn, ctx, pending| providers::delete(conn, ctx, pending, id),
    )
    .await?;
    respond(outcome, no_content)
}

async fn claim_groups(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    read(&state, ctx, move |conn, ctx| {
        Ok(json!({ "groups": providers::claim_groups(conn, ctx, id)? }))
    })
    .await
}

async fn register_claim_groups(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    input: web::Json<ClaimGroupsInput>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "oidc_provider", move |conn, ctx, _| {
        providers::register_claim_groups(conn, ctx, id, &input)
    })
    .await?;
    respond(outcome, |groups| {
        HttpResponse::Ok().json(json!({ "groups": groups }))
    })
}

/// Retires the tenant's session signing key and makes a new one. Tokens signed with the
/// old key stay valid until they expire.
async fn rotate_signing_key(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
) -> Response {
    let secrets = state.secrets.clone();
    let outcome = mutation(&state, ctx, m, "signing_key", move |conn, ctx, _| {
        let kid = keys::rotate(conn, ctx.tenant_id, &secrets).map_err(|e| match e {
            crate::error::OidcError::Db(db) => AdminError::Db(db),
            other => AdminError::Db(crate::db::DbError::Blocking(other.to_string())),
        })?;
        ctx.record(
            conn,
            "SigningKey",
            &kid,
            "rotate",
            None,
            Some(json!({"kid": kid})),
        )?;
        Ok(kid)
    })
    .await?;
    respond(outcome, |kid| {
        HttpResponse::Ok().json(json!({ "kid": kid }))
    })
}
