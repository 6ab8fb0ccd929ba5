//! Webhooks: event types pushed to a URL as Security Event Tokens.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{mutation, no_content, read, respond, Admin, Mutation};
use super::admin_routes::Answer::{Body, Empty, List};
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement};
use crate::error::AdminError;
use crate::events::webhooks::{self, CreateInput, WebhookView};
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

/// A webhook receives what the event feed shows: the same privilege as reading it.
const HOOKS: Requirement = Requirement::Tenant(Privilege::ActivityAudit);

pub const ROUTES: &[Route] = &[
    Route::read(
        "/webhooks",
        |r| r.to(list),
        HOOKS,
        "events",
        "Webhooks and how their deliveries stand",
        List("webhooks", "WebhookView"),
        &[],
    ),
    Route::write(
        "post",
        "/webhooks",
        |r| r.to(create),
        HOOKS,
        "events",
        "Push events of the given types to a URL, as signed Security Event Tokens",
        Some("WebhookCreate"),
        Body(201, "WebhookView"),
    ),
    Route::write(
        "delete",
        "/webhooks/{id}",
        |r| r.to(delete),
        HOOKS,
        "events",
        "Stop a webhook; undelivered events are dropped",
        None,
        Empty,
    ),
    Route::read(
        "/webhooks/{id}/deliveries",
        |r| r.to(deliveries),
        HOOKS,
        "events",
        "A webhook's delivery attempts, newest first",
        List("deliveries", "DeliveryRow"),
        &[(
            "limit",
            "integer",
            "at most this many (1-1000, default 100)",
        )],
    ),
];

async fn list(state: web::Data<AppState>, Admin(ctx): Admin) -> Response {
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "webhooks": webhooks::list(conn, ctx)? }))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    input: web::Json<CreateInput>,
) -> Response {
    let policy = state.settings.outbound.clone();
    let outcome = mutation(&state, ctx, m, "webhook", move |conn, ctx, _| {
        webhooks::create(conn, ctx, &policy, &input)
    })
    .await?;
    respond(outcome, |view: WebhookView| {
        HttpResponse::Created().json(view)
    })
}

async fn delete(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    m: Mutation,
    id: web::Path<Uuid>,
) -> Response {
    let id = id.into_inner();
    let outcome = mutation(&state, ctx, m, "webhook", move |conn, ctx, _| {
        webhooks::delete(conn, ctx, id)
    })
    .await?;
    respond(outcome, no_content)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    limit: Option<i64>,
}

async fn deliveries(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    id: web::Path<Uuid>,
    query: web::Query<DeliveriesQuery>,
) -> Response {
    let (id, limit) = (id.into_inner(), query.limit);
    read(&state, ctx, move |conn, ctx| {
        Ok(serde_json::json!({ "deliveries": webhooks::deliveries(conn, ctx, id, limit)? }))
    })
    .await
}
