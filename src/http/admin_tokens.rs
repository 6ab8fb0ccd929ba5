//! SCIM connector tokens and user-bound admin tokens.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::admin::{mutation, ok, read, respond, Admin, Mutation};
use super::admin_routes::Answer::{Body, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
use crate::access::tokens::{self, CreateInput, IssuedTokenView};
use crate::error::AdminError;
use crate::provisioning::tokens::TokenKind;
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

const SCIM: Requirement = Requirement::Tenant(Privilege::ScimProvisioning);
const ADMIN: Requirement = Requirement::Tenant(Privilege::DeveloperApi);

pub const ROUTES: &[Route] = &[
    Route::read(
        "/scim-tokens",
        |r| r.to(|s, a| list(s, a, TokenKind::Scim)),
        SCIM,
        "tokens",
        "SCIM connector tokens (never their secrets)",
        List("tokens", "TokenView"),
        &[],
    ),
    Route::write(
        "post",
        "/scim-tokens",
        |r| r.to(|s, a, m, i| create(s, a, m, i, TokenKind::Scim)),
        SCIM,
        "tokens",
        "Make a SCIM connector token for Entra ID or Okta; its secret is shown only now",
        Some("TokenCreate"),
        Body(201, "IssuedTokenView"),
    ),
    Route::write(
        "delete",
        "/scim-tokens/{id}",
        |r| r.to(|s, a, m, i| revoke(s, a, m, i, TokenKind::Scim)),
        SCIM,
        "tokens",
        "Revoke a SCIM connector token",
        None,
        Body(200, "TokenView"),
    ),
    Route::read(
        "/admin-tokens",
        |r| r.to(|s, a| list(s, a, TokenKind::Admin)),
        ADMIN,
        "tokens",
        "Admin tokens: owner and user-bound (never their secrets)",
        List("tokens", "TokenView"),
        &[],
    ),
    Route::write(
        "post",
        "/admin-tokens",
        |r| r.to(|s, a, m, i| create(s, a, m, i, TokenKind::Admin)),
        ADMIN,
        "tokens",
        "Make an admin token bound to yourself (owners: to a named user); shown only now",
        Some("TokenCreate"),
        Body(201, "IssuedTokenView"),
    ),
    Route::write(
        "delete",
        "/admin-tokens/{id}",
        |r| r.to(|s, a, m, i| revoke(s, a, m, i, TokenKind::Admin)),
        ADMIN,
        "tokens",
        "Revoke a user-bound admin token",
        None,
        Body(200, "TokenView"),
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin, kind: TokenKind) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "tokens": tokens::list(conn, ctx, kind)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
    kind: TokenKind,
) -> Response {
    let outcome = mutation(&state, ctx, m, "token", move |conn, ctx, _| {
        tokens::create(conn, ctx, kind, &input)
    })
    .await?;
    respond(outcome, |issued: IssuedTokenView| {
        HttpResponse::Created()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(issued)
    })
}

async fn revoke(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
    kind: TokenKind,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "token", move |conn, ctx, _| {
        tokens::revoke(conn, ctx, kind, id)
    })
    .await?;
    respond(outcome, ok)
}
