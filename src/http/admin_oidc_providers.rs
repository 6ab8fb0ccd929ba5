use actix_web::{web, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use super::admin::{
    created_at, method_not_allowed, mutation, no_content, ok, read, respond, Admin, Mutation,
};
use crate::error::AdminError;
use crate::oidc::keys;
use crate::oidc::providers::{self, ClaimGroupsInput, ProviderInput, ProviderPatch, ProviderView};
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/oidc-providers")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/oidc-providers/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/oidc-providers/{id}/groups")
            .route(web::get().to(claim_groups))
            .route(web::post().to(register_claim_groups))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/signing-keys/rotate")
            .route(web::post().to(rotate_signing_key))
            .default_service(web::to(method_not_allowed)),
    );
}

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
