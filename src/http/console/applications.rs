//! Applications (projects): who holds which role on each — users, end-user groups,
//! collaborator groups and *Everyone else* — and granting or removing a role, previewed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{checked, html_response, may, previewed, Change, Confirmation, ConsoleError, Signed};
use crate::access::applications::{self, ListQuery};
use crate::access::assignments::{self, CreateInput};
use crate::access::authorization::Target;
use crate::access::end_user_groups;
use crate::access::roles::{self, ScopeQuery};
use crate::db::assignments::Principal;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/applications", web::get().to(list))
        .route("/applications/{id}", web::get().to(show))
        .route("/applications/{id}/grant", web::post().to(grant))
        .route("/applications/{id}/remove", web::post().to(remove));
}

async fn list(state: web::Data<AppState>, Signed(session): Signed) -> Page {
    let s = session.clone();
    let apps = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/applications", |conn, ctx| {
            applications::list(
                conn,
                ctx,
                &ListQuery {
                    environment_id: None,
                },
            )
        })
    })
    .await?;
    let body = html! {
        table #applications {
            thead { tr { th scope="col" { "Application" } th scope="col" { "Description" } th scope="col" { "Environment" } } }
            tbody {
                @for a in &apps {
                    tr {
                        td { a href={ "/console/applications/" (a.id) } { (a.name) } }
                        td { (a.description) }
                        td { a href={ "/console/environments/" (a.environment_id) } { code { (a.environment_id) } } }
                    }
                }
                @if apps.is_empty() { tr { td colspan="3" .muted { "No application you may see." } } }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Applications, "Applications", body),
    ))
}

async fn show(state: web::Data<AppState>, Signed(session): Signed, id: web::Path<Uuid>) -> Page {
    let id = id.into_inner();
    let s = session.clone();
    let (app, access, offer) = run_blocking(&state.pool, move |conn| {
        let app = checked(conn, &s, "get", "/applications/{id}", |conn, ctx| {
            applications::get(conn, ctx, id)
        })?;
        let target = Target::Application {
            environment: app.environment_id,
            application: app.id,
        };
        let access = checked(conn, &s, "get", "/assignments", |conn, ctx| {
            assignments::named_access(conn, ctx, id)
        })?;
        let offer = if may(conn, &s, "post", "/assignments", target)? {
            let roles: Vec<(Uuid, String)> = checked(conn, &s, "get", "/roles", |conn, ctx| {
                roles::list(conn, ctx, &ScopeQuery::default())
            })?
            .into_iter()
            .filter(|r| r.role.scope == "application")
            .map(|r| (r.role.id, r.role.name))
            .collect();
            let groups = checked(conn, &s, "get", "/end-user-groups", |conn, ctx| {
                end_user_groups::list(conn, ctx, None)
            })?
            .into_iter()
            .filter(|g| g.environment_id == app.environment_id)
            .map(|g| (g.id, g.name))
            .collect::<Vec<_>>();
            Some((roles, groups))
        } else {
            None
        };
        Ok::<_, AdminError>((app, access, offer))
    })
    .await?;
    let url = format!("/console/applications/{}", app.id);
    let body = html! {
        @if !app.description.is_empty() { p { (app.description) } }
        h2 { "Project access" }
        table #access {
            thead { tr { th scope="col" { "Who" } th scope="col" { "Role" } th scope="col" { span.muted { "Actions" } } } }
            tbody {
                @for a in &access {
                    tr {
                        td { @match (a.principal_kind.as_str(), a.principal_id) {
                            ("user", Some(u)) => { "user " a href={ "/console/users/" (u) } { (a.principal_name.as_deref().unwrap_or("")) } },
                            ("end_user_group", Some(g)) => { "end-user group " a href={ "/console/groups/" (g) } { (a.principal_name.as_deref().unwrap_or("")) } },
                            ("collaborator_group", _) => { "collaborator group " (a.principal_name.as_deref().unwrap_or("")) },
                            _ => { em { "Everyone else" } },
                        } }
                        td { (a.role) }
                        td { @if offer.is_some() {
                            (layout::action_button(&session, &format!("{url}/remove"), "Remove…", &[("assignment_id", &a.assignment_id.to_string())]))
                        } }
                    }
                }
                @if access.is_empty() { tr { td colspan="3" .muted { "Nobody holds a role here." } } }
            }
        }
        @if let Some((roles, groups)) = &offer {
            h2 { "Grant a role" }
            form.stack method="post" action={ (url) "/grant" } {
                (layout::csrf(&session))
                label for="principal" { "To"
                    select #principal name="principal" {
                        option value="user" { "the user named below" }
                        option value="everyone_else" { "Everyone else" }
                        @for (gid, name) in groups { option value={ "group:" (gid) } { "end-user group " (name) } }
                    } }
                label for="user_name" { "userName (for a user)" input #user_name name="user_name"; }
                label for="role_id" { "Role"
                    select #role_id name="role_id" { @for (rid, name) in roles { option value=(rid) { (name) } } } }
                button type="submit" { "Grant…" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Applications, &app.name, body),
    ))
}

#[derive(Debug, Deserialize)]
struct GrantForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    /// `user` (with `user_name`), `everyone_else`, or `group:<end-user group id>`.
    principal: String,
    #[serde(default)]
    user_name: String,
    role_id: Uuid,
}

async fn grant(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<GrantForm>,
) -> Page {
    let application_id = id.into_inner();
    let f = form.into_inner();
    let group = match f.principal.strip_prefix("group:") {
        Some(g) => Some(
            Uuid::parse_str(g)
                .map_err(|_| AdminError::BadRequest("no such end-user group".into()))?,
        ),
        None => None,
    };
    let kind = f.principal.clone();
    let user_name = f.user_name.clone();
    let role_id = f.role_id;
    let change = Change {
        section: Section::Applications,
        method: "post",
        path: "/assignments",
        cause: "assignment",
        question: "Grant this role on the application?".into(),
        action: format!("/console/applications/{application_id}/grant"),
        fields: vec![
            ("principal".into(), f.principal),
            ("user_name".into(), f.user_name),
            ("role_id".into(), role_id.to_string()),
        ],
        done: format!("/console/applications/{application_id}"),
    };
    previewed(
        &state,
        session,
        &f.confirmation,
        change,
        move |conn, ctx, pending| {
            let principal = match (kind.as_str(), group) {
                (_, Some(g)) => Principal::EndUserGroup(g),
                ("everyone_else", _) => Principal::EveryoneElse,
                _ => Principal::User(assignments::user_named(conn, ctx, &user_name)?),
            };
            assignments::create(
                conn,
                ctx,
                pending,
                &CreateInput {
                    principal,
                    role_id,
                    environment_id: None,
                    application_id: Some(application_id),
                },
            )
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    assignment_id: Uuid,
}

async fn remove(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<RemoveForm>,
) -> Page {
    let application_id = id.into_inner();
    let RemoveForm {
        confirmation,
        assignment_id,
    } = form.into_inner();
    let change = Change {
        section: Section::Applications,
        method: "delete",
        path: "/assignments/{id}",
        cause: "assignment",
        question: "Remove this role assignment?".into(),
        action: format!("/console/applications/{application_id}/remove"),
        fields: vec![("assignment_id".into(), assignment_id.to_string())],
        done: format!("/console/applications/{application_id}"),
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| assignments::delete(conn, ctx, pending, assignment_id),
    )
    .await
}
