//! IdP groups: SCIM-pushed and login-claim groups, where each is mapped, and mapping one
//! into an end-user group (or removing a mapping), previewed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{checked, html_response, previewed, Change, Confirmation, ConsoleError, Signed};
use crate::access::group_mappings::{self, MappingInput};
use crate::access::{end_user_groups, idp_groups};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/idp-groups", web::get().to(list))
        .route("/idp-groups/{id}/map", web::post().to(map))
        .route("/groups/{id}/unmap", web::post().to(unmap));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

async fn list(
    state: web::Data<AppState>,
    Signed(session): Signed,
    params: web::Query<ListParams>,
) -> Page {
    let params = params.into_inner();
    let query = idp_groups::ListQuery {
        q: Some(params.q.clone()),
        after: Some(params.after.clone()),
        limit: None,
    };
    let s = session.clone();
    let (page, targets) = run_blocking(&state.pool, move |conn| {
        let page = checked(conn, &s, "get", "/idp-groups", |conn, ctx| {
            idp_groups::list(conn, ctx, &query)
        })?;
        // The end-user groups the person may map into: those of the environments where
        // they administer groups.
        let targets = checked(conn, &s, "get", "/end-user-groups", |conn, ctx| {
            end_user_groups::list(conn, ctx, None)
        })?;
        Ok::<_, AdminError>((page, targets))
    })
    .await?;
    let body = html! {
        form.search role="search" method="get" action="/console/idp-groups" {
            label for="q" { "Display name" input #q type="search" name="q" value=(params.q) maxlength="200"; }
            button type="submit" { "Search" }
        }
        table #idp-groups {
            thead { tr {
                th scope="col" { "Group" } th scope="col" { "Source" } th scope="col" { "Members" }
                th scope="col" { "Mapped into" } th scope="col" { "Map into an end-user group" }
            } }
            tbody {
                @for g in &page.groups {
                    tr {
                        td { (g.display_name) @if let Some(x) = &g.external_id { br; code.muted { (x) } } }
                        td { @if g.source == "login" { "login claims (" (g.provider.as_deref().unwrap_or("")) ")" } @else { "SCIM" } }
                        td { (g.member_count) }
                        td { ul { @for m in &g.mapped_to { li { a href={ "/console/groups/" (m.id) } { (m.name) } } } } }
                        td {
                            @if !targets.is_empty() {
                                form.inline method="post" action={ "/console/idp-groups/" (g.id) "/map" } {
                                    (layout::csrf(&session))
                                    label for={ "into-" (g.id) } { span.muted { "Into " }
                                        select #{ "into-" (g.id) } name="end_user_group_id" {
                                            @for t in &targets { option value=(t.id) { (t.name) } }
                                        } }
                                    " " button type="submit" { "Map…" }
                                }
                            }
                        }
                    }
                }
                @if page.groups.is_empty() { tr { td colspan="5" .muted { "No IdP group matches." } } }
            }
        }
        (layout::next_page("/console/idp-groups", &[("q", &params.q)], page.next_after.as_deref()))
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::IdpGroups, "IdP groups", body),
    ))
}

#[derive(Debug, Deserialize)]
struct MapForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    end_user_group_id: Uuid,
}

async fn map(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<MapForm>,
) -> Page {
    let idp_group_id = id.into_inner();
    let MapForm {
        confirmation,
        end_user_group_id,
    } = form.into_inner();
    let change = Change {
        section: Section::IdpGroups,
        method: "post",
        path: "/group-mappings",
        cause: "group_mapping",
        question: "Map this IdP group into the end-user group?".into(),
        action: format!("/console/idp-groups/{idp_group_id}/map"),
        fields: vec![("end_user_group_id".into(), end_user_group_id.to_string())],
        done: format!("/console/groups/{end_user_group_id}"),
    };
    let input = MappingInput {
        idp_group_id,
        end_user_group_id,
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| group_mappings::create(conn, ctx, pending, &input),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct UnmapForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    idp_group_id: Uuid,
}

async fn unmap(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<UnmapForm>,
) -> Page {
    let end_user_group_id = id.into_inner();
    let UnmapForm {
        confirmation,
        idp_group_id,
    } = form.into_inner();
    let change = Change {
        section: Section::Environments,
        method: "delete",
        path: "/group-mappings/{idp_group_id}/{end_user_group_id}",
        cause: "group_mapping",
        question: "Remove this IdP group's mapping?".into(),
        action: format!("/console/groups/{end_user_group_id}/unmap"),
        fields: vec![("idp_group_id".into(), idp_group_id.to_string())],
        done: format!("/console/groups/{end_user_group_id}"),
    };
    let input = MappingInput {
        idp_group_id,
        end_user_group_id,
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| group_mappings::delete(conn, ctx, pending, &input),
    )
    .await
}
