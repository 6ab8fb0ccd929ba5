//! Change events and webhooks: the feed a page at a time (oldest retained first, resumable by
//! cursor, filtered by type), the webhooks and their latest deliveries.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{checked, html_response, ConsoleError, Signed};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::events::{self, webhooks, Cursor, EventType};
use crate::state::AppState;

const PAGE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(feed))
        .route("/webhooks/{id}", web::get().to(deliveries));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedParams {
    #[serde(default)]
    after: String,
    #[serde(default, rename = "type")]
    event_type: String,
}

async fn feed(
    state: web::Data<AppState>,
    Signed(session): Signed,
    params: web::Query<FeedParams>,
) -> Result<HttpResponse, ConsoleError> {
    let params = params.into_inner();
    let after: Option<Cursor> = match params.after.trim() {
        "" => None,
        text => Some(
            text.parse()
                .map_err(|_| AdminError::BadRequest("after is not a cursor".into()))?,
        ),
    };
    let types = match params.event_type.as_str() {
        "" => None,
        t if EventType::ALL.iter().any(|e| e.as_str() == t) => Some(vec![t.to_string()]),
        t => return Err(AdminError::BadRequest(format!("no event type {t:?}")).into()),
    };
    let s = session.clone();
    let (page, hooks) = run_blocking(&state.pool, move |conn| {
        let page = checked(conn, &s, "get", "/events", |conn, ctx| {
            Ok(events::read_page(
                conn,
                ctx.tenant_id,
                after,
                types.as_deref(),
                PAGE,
            )?)
        })?;
        let hooks = checked(conn, &s, "get", "/webhooks", webhooks::list)?;
        Ok::<_, AdminError>((page, hooks))
    })
    .await?;
    let body = html! {
        section aria-labelledby="feed" {
            h2 #feed { "Events" }
            form.search method="get" action="/console/events" {
                label for="type" { "Type"
                    select #type name="type" data-autosubmit {
                        option value="" selected[params.event_type.is_empty()] { "Any" }
                        @for t in EventType::ALL { option value=(t.as_str()) selected[t.as_str() == params.event_type] { (t.as_str()) } }
                    } }
                button type="submit" { "Show" }
            }
            table #events {
                thead { tr { th scope="col" { "When" } th scope="col" { "Type" } th scope="col" { "Subject" }
                             th scope="col" { "Actor" } th scope="col" { "Data" } } }
                tbody {
                    @for e in &page.events {
                        tr {
                            td { time datetime=(e.time.to_rfc3339()) { (e.time.format("%Y-%m-%d %H:%M:%S")) } }
                            td { code { (e.event_type) } }
                            td { @if let Some(u) = e.subject.get("user_id").and_then(|v| v.as_str()) {
                                    a href={ "/console/users/" (u) } { "user" } }
                                 @else { code { (e.subject.to_string()) } } }
                            td { code { (e.actor) } }
                            td { details { summary { "data" } pre { (serde_json::to_string_pretty(&e.data).unwrap_or_default()) } } }
                        }
                    }
                    @if page.events.is_empty() { tr { td colspan="5" .muted { "No newer event." } } }
                }
            }
            @if let (Some(next), false) = (&page.next_cursor, page.events.is_empty()) {
                (layout::next_page("/console/events", &[("type", &params.event_type)], Some(next)))
            }
        }
        section aria-labelledby="hooks" {
            h2 #hooks { "Webhooks" }
            table #webhooks {
                thead { tr { th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "State" } } }
                tbody {
                    @for h in &hooks {
                        tr {
                            td { a href={ "/console/webhooks/" (h.id) } { code { (h.url) } } }
                            td { @if h.events.is_empty() { "all" } @else { (h.events.join(", ")) } }
                            td { @if h.attempts == 0 { "delivering" } @else { "retrying (" (h.attempts) " failed attempts)" } }
                        }
                    }
                    @if hooks.is_empty() { tr { td colspan="3" .muted { "No webhook (POST /admin/v1/webhooks)." } } }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Events, "Events and webhooks", body),
    ))
}

async fn deliveries(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    let s = session.clone();
    let attempts = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/webhooks/{id}/deliveries", |conn, ctx| {
            webhooks::deliveries(conn, ctx, id, Some(PAGE))
        })
    })
    .await?;
    let body = html! {
        table #deliveries {
            thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Attempt" }
                         th scope="col" { "Outcome" } th scope="col" { "Status" } th scope="col" { "Error" } } }
            tbody {
                @for d in &attempts {
                    tr {
                        td { (d.created_at.format("%Y-%m-%d %H:%M:%S")) }
                        td { (d.event_id) }
                        td { (d.attempt) }
                        td { (d.outcome) }
                        td { (d.status_code.map(|c| c.to_string()).unwrap_or_default()) }
                        td { (d.error.as_deref().unwrap_or("")) }
                    }
                }
                @if attempts.is_empty() { tr { td colspan="6" .muted { "No delivery yet." } } }
            }
        }
        p { a href="/console/events" { "← Events and webhooks" } }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Events, "Webhook deliveries", body),
    ))
}
