//! The audit log, newest first, with the admin API's filters, a page at a time.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Section};
use super::{checked, html_response, ConsoleError, Signed};
use crate::access::audit::{self, AuditQuery};
use crate::db::run_blocking;
use crate::state::AppState;

const PAGE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    actor: String,
    before_id: Option<i64>,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

async fn list(
    state: web::Data<AppState>,
    Signed(session): Signed,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, ConsoleError> {
    let f = filters.into_inner();
    let query = AuditQuery {
        resource_type: given(&f.resource_type),
        resource_id: given(&f.resource_id),
        operation: given(&f.operation),
        actor: given(&f.actor),
        before_id: f.before_id,
        limit: Some(PAGE + 1),
        ..AuditQuery::default()
    };
    let s = session.clone();
    let mut entries = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/audit", |conn, ctx| {
            audit::search(conn, ctx, &query)
        })
    })
    .await?;
    let more = entries.len() as i64 > PAGE;
    entries.truncate(PAGE as usize);
    let next = more
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    let body = html! {
        form.search role="search" method="get" action="/console/audit" {
            label for="resource_type" { "Resource type"
                input #resource_type name="resource_type" value=(f.resource_type) placeholder="User, EndUserGroup…"; }
            label for="resource_id" { "Resource id" input #resource_id name="resource_id" value=(f.resource_id); }
            label for="operation" { "Operation" input #operation name="operation" value=(f.operation) placeholder="create, patch…"; }
            label for="actor" { "Actor" input #actor name="actor" value=(f.actor); }
            button type="submit" { "Filter" }
        }
        table #audit {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "Actor" } th scope="col" { "Resource" }
                th scope="col" { "Operation" } th scope="col" { "Change" }
            } }
            tbody {
                @for e in &entries {
                    tr {
                        td { time datetime=(e.created_at.to_rfc3339()) { (e.created_at.format("%Y-%m-%d %H:%M:%S UTC")) } }
                        td { code { (e.actor) } }
                        td { (e.resource_type) " " code { (e.resource_id) } }
                        td { (e.operation) }
                        td { details { summary { "Before and after" }
                            pre { (serde_json::to_string_pretty(&serde_json::json!({"before": e.before, "after": e.after})).unwrap_or_default()) } } }
                    }
                }
                @if entries.is_empty() { tr { td colspan="5" .muted { "No entry matches." } } }
            }
        }
        @if let Some(next) = &next {
            @let params = [("resource_type", f.resource_type.as_str()), ("resource_id", f.resource_id.as_str()),
                           ("operation", f.operation.as_str()), ("actor", f.actor.as_str()), ("before_id", next.as_str())];
            @let kept: Vec<(&str, &str)> = params.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            nav.pager aria-label="Pages" {
                a rel="next" href={ "/console/audit?" (serde_urlencoded::to_string(&kept).unwrap_or_default()) } { "Older entries" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Audit, "Audit log", body),
    ))
}
