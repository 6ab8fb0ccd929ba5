//! Environments and their end-user groups: members (paged), the roles a group grants and the
//! IdP groups mapped into it (members are added and removed in `group_members`); creating, renaming, duplicating and deleting groups, each
//! previewed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{checked, html_response, may, previewed, Change, Confirmation, ConsoleError, Signed};
use crate::access::authorization::Target;
use crate::access::end_user_groups::{self, CreateInput, DuplicateInput, UpdateInput};
use crate::access::environments;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

const MEMBERS_PAGE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/environments", web::get().to(list))
        .route("/environments/{id}", web::get().to(show))
        .route("/environments/{id}/groups", web::post().to(create_group))
        .route("/groups/{id}", web::get().to(group))
        .route("/groups/{id}/rename", web::post().to(rename_group))
        .route("/groups/{id}/duplicate", web::post().to(duplicate_group))
        .route("/groups/{id}/delete", web::post().to(delete_group));
}

async fn list(state: web::Data<AppState>, Signed(session): Signed) -> Page {
    let s = session.clone();
    let found = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/environments", environments::list)
    })
    .await?;
    let body = html! {
        table #environments {
            thead { tr { th scope="col" { "Environment" } th scope="col" { "Id" } } }
            tbody {
                @for env in &found {
                    tr {
                        td { a href={ "/console/environments/" (env.id) } { (env.name) } }
                        td { code { (env.id) } }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Environments, "Environments", body),
    ))
}

async fn show(state: web::Data<AppState>, Signed(session): Signed, id: web::Path<Uuid>) -> Page {
    let id = id.into_inner();
    let s = session.clone();
    let (env, groups, may_create) = run_blocking(&state.pool, move |conn| {
        let env = checked(conn, &s, "get", "/environments/{id}", |conn, ctx| {
            environments::get(conn, ctx, id)
        })?;
        let groups = checked(conn, &s, "get", "/end-user-groups", |conn, ctx| {
            end_user_groups::list(conn, ctx, Some(id))
        })?;
        let may_create = may(
            conn,
            &s,
            "post",
            "/end-user-groups",
            Target::Environment(id),
        )?;
        Ok::<_, AdminError>((env, groups, may_create))
    })
    .await?;
    let body = html! {
        h2 { "End-user groups" }
        table #groups {
            thead { tr { th scope="col" { "Group" } th scope="col" { "Description" } } }
            tbody {
                @for g in &groups {
                    tr {
                        td { a href={ "/console/groups/" (g.id) } { (g.name) } }
                        td { (g.description) }
                    }
                }
                @if groups.is_empty() { tr { td colspan="2" .muted { "No end-user group yet." } } }
            }
        }
        @if may_create {
            h2 { "New end-user group" }
            form.stack method="post" action={ "/console/environments/" (env.id) "/groups" } {
                (layout::csrf(&session))
                label for="name" { "Name" input #name name="name" required maxlength="200"; }
                label for="description" { "Description" input #description name="description" maxlength="2000"; }
                button type="submit" { "Create…" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Environments, &env.name, body),
    ))
}

#[derive(Debug, Deserialize)]
struct GroupParams {
    after: Option<Uuid>,
}

async fn group(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    params: web::Query<GroupParams>,
) -> Page {
    let id = id.into_inner();
    let after = params.after;
    let s = session.clone();
    let (overview, may_change) = run_blocking(&state.pool, move |conn| {
        let overview = checked(conn, &s, "get", "/end-user-groups/{id}", |conn, ctx| {
            end_user_groups::overview(conn, ctx, id, after, MEMBERS_PAGE)
        })?;
        let env = Target::Environment(overview.group.environment_id);
        let may_change = may(conn, &s, "patch", "/end-user-groups/{id}", env)?;
        Ok::<_, AdminError>((overview, may_change))
    })
    .await?;
    let g = &overview.group;
    let url = format!("/console/groups/{}", g.id);
    let body = html! {
        p { a href={ "/console/environments/" (g.environment_id) } { "← The environment's groups" } }
        @if !g.description.is_empty() { p { (g.description) } }
        h2 { "Roles it grants" }
        ul #group-roles {
            @for r in &overview.roles {
                li { (r.role) @if let Some(app) = &r.application { " on " (app) } @else { " (environment)" } }
            }
            @if overview.roles.is_empty() { li.muted { "None." } }
        }
        h2 { "IdP groups mapped into it" }
        ul #group-mappings {
            @for m in &overview.mappings {
                li { (m.display_name) " "
                    span.muted { @if m.oidc_provider_id.is_some() { "(from logins)" } @else { "(SCIM)" } }
                    @if may_change {
                        " " (layout::action_button(&session, &format!("{url}/unmap"), "Remove mapping…",
                                                   &[("idp_group_id", &m.id.to_string())]))
                    }
                }
            }
            @if overview.mappings.is_empty() { li.muted { "None." } }
            li { a href="/console/idp-groups" { "Map an IdP group…" } }
        }
        h2 { "Direct members (" (overview.member_count) ")" }
        table #members {
            thead { tr { th scope="col" { "userName" } th scope="col" { "Name" }
                         @if may_change { th scope="col" { span.muted { "Actions" } } } } }
            tbody {
                @for m in &overview.members {
                    tr { td { a href={ "/console/users/" (m.id) } { (m.user_name) } }
                         td { (m.display_name.as_deref().unwrap_or("")) }
                         @if may_change { td { (layout::action_button(&session, &format!("{url}/members/remove"),
                                                   "Remove…", &[("user_id", &m.id.to_string())])) } } }
                }
            }
        }
        @if may_change {
            form.stack method="post" action={ (url) "/members/add" } {
                (layout::csrf(&session))
                label for="add-member" { "Add a member (userName)" input #add-member name="user_name" required maxlength="256"; }
                button type="submit" { "Add…" }
            }
        }
        @if let Some(next) = overview.next_after {
            nav.pager aria-label="Pages" { a rel="next" href={ (url) "?after=" (next) } { "Next page" } }
        }
        @if may_change {
            h2 { "Change the group" }
            form.stack method="post" action={ (url) "/rename" } {
                (layout::csrf(&session))
                label for="rename" { "New name" input #rename name="name" value=(g.name) required maxlength="200"; }
                button type="submit" { "Rename…" }
            }
            form.stack method="post" action={ (url) "/duplicate" } {
                (layout::csrf(&session))
                label for="duplicate" { "Name of the copy" input #duplicate name="name" required maxlength="200"; }
                label for="copy-members" { input #copy-members type="checkbox" name="members" value="true"; "Members" }
                label for="copy-roles" { input #copy-roles type="checkbox" name="roles" value="true" checked; "Roles" }
                label for="copy-mappings" { input #copy-mappings type="checkbox" name="mappings" value="true"; "IdP mappings" }
                button type="submit" { "Duplicate…" }
            }
            form.stack method="post" action={ (url) "/delete" } {
                (layout::csrf(&session))
                label for="force" { input #force type="checkbox" name="force" value="true"; "Even with direct members" }
                button.danger type="submit" { "Delete…" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Environments, &g.name, body),
    ))
}

#[derive(Debug, Deserialize)]
struct NameForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_group(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<NameForm>,
) -> Page {
    let environment_id = id.into_inner();
    let NameForm {
        confirmation,
        name,
        description,
    } = form.into_inner();
    let change = Change {
        section: Section::Environments,
        method: "post",
        path: "/end-user-groups",
        cause: "end_user_group",
        question: format!("Create the end-user group {name:?}?"),
        action: format!("/console/environments/{environment_id}/groups"),
        fields: vec![
            ("name".into(), name.clone()),
            ("description".into(), description.clone()),
        ],
        done: format!("/console/environments/{environment_id}"),
    };
    let input = CreateInput {
        environment_id,
        name,
        description,
        members: Vec::new(),
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, _| end_user_groups::create(conn, ctx, &input),
    )
    .await
}

async fn rename_group(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<NameForm>,
) -> Page {
    let id = id.into_inner();
    let NameForm {
        confirmation, name, ..
    } = form.into_inner();
    let change = Change {
        section: Section::Environments,
        method: "patch",
        path: "/end-user-groups/{id}",
        cause: "end_user_group",
        question: format!("Rename the group to {name:?}?"),
        action: format!("/console/groups/{id}/rename"),
        fields: vec![("name".into(), name.clone())],
        done: format!("/console/groups/{id}"),
    };
    let input = UpdateInput {
        name: Some(name),
        description: None,
        environment_id: None,
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, _| end_user_groups::update(conn, ctx, id, &input),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct DuplicateForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    name: String,
    /// Checkboxes: present (`true`) or absent (strings: flattened forms take no booleans).
    members: Option<String>,
    roles: Option<String>,
    mappings: Option<String>,
}

async fn duplicate_group(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<DuplicateForm>,
) -> Page {
    let id = id.into_inner();
    let f = form.into_inner();
    let mut fields = vec![("name".to_string(), f.name.clone())];
    for (key, value) in [
        ("members", &f.members),
        ("roles", &f.roles),
        ("mappings", &f.mappings),
    ] {
        if value.is_some() {
            fields.push((key.into(), "true".into()));
        }
    }
    let change = Change {
        section: Section::Environments,
        method: "post",
        path: "/end-user-groups/{id}/duplicate",
        cause: "end_user_group",
        question: format!("Duplicate the group as {:?}?", f.name),
        action: format!("/console/groups/{id}/duplicate"),
        fields,
        done: format!("/console/groups/{id}"),
    };
    let input = DuplicateInput {
        name: f.name,
        members: f.members.is_some(),
        roles: f.roles.is_some(),
        mappings: f.mappings.is_some(),
    };
    previewed(
        &state,
        session,
        &f.confirmation,
        change,
        move |conn, ctx, pending| end_user_groups::duplicate(conn, ctx, pending, id, &input),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    force: Option<String>,
}

async fn delete_group(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<DeleteForm>,
) -> Page {
    let id = id.into_inner();
    let f = form.into_inner();
    let force = f.force.is_some();
    let s = session.clone();
    // Where to go once the group is gone: its environment.
    let environment_id = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/end-user-groups/{id}", |conn, ctx| {
            Ok(end_user_groups::overview(conn, ctx, id, None, 0)?
                .group
                .environment_id)
        })
    })
    .await?;
    let change = Change {
        section: Section::Environments,
        method: "delete",
        path: "/end-user-groups/{id}",
        cause: "end_user_group",
        question: "Delete this end-user group?".into(),
        action: format!("/console/groups/{id}/delete"),
        fields: if force {
            vec![("force".into(), "true".into())]
        } else {
            Vec::new()
        },
        done: format!("/console/environments/{environment_id}"),
    };
    previewed(
        &state,
        session,
        &f.confirmation,
        change,
        move |conn, ctx, pending| end_user_groups::delete(conn, ctx, pending, id, force),
    )
    .await
}
