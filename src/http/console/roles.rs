//! Roles and the privilege matrix (system and custom roles, per scope); creating custom
//! roles and editing their privileges, previewed like every change.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{self, Section};
use super::{checked, html_response, may, previewed, Change, Confirmation, ConsoleError, Signed};
use crate::access::authorization::Target;
use crate::access::roles::{self, CreateInput, RoleScope, RoleView, ScopeQuery, UpdateInput};
use crate::db::roles::Privilege;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/roles", web::get().to(list))
        .route("/roles", web::post().to(create))
        .route("/roles/{id}", web::get().to(edit))
        .route("/roles/{id}", web::post().to(update));
}

const SCOPES: [RoleScope; 2] = [RoleScope::Environment, RoleScope::Application];

fn scope_label(scope: RoleScope) -> &'static str {
    match scope {
        RoleScope::Environment => "Environment roles",
        RoleScope::Application => "Application (project) roles",
    }
}

fn parse_scope(text: &str) -> Result<RoleScope, AdminError> {
    SCOPES
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| AdminError::BadRequest("scope is environment or application".into()))
}

fn matrix(scope: RoleScope, roles: &[RoleView], catalogue: &[Privilege]) -> Markup {
    let roles: Vec<&RoleView> = roles
        .iter()
        .filter(|r| r.role.scope == scope.as_str())
        .collect();
    let held: Vec<HashSet<&str>> = roles
        .iter()
        .map(|r| r.privileges.iter().map(String::as_str).collect())
        .collect();
    html! {
        table.matrix id={ "matrix-" (scope.as_str()) } {
            caption { (scope_label(scope)) }
            thead { tr {
                th scope="col" { "Privilege" }
                @for r in &roles {
                    th scope="col" {
                        @if r.privileges_editable { a href={ "/console/roles/" (r.role.id) } { (r.role.name) } }
                        @else { (r.role.name) }
                        @if r.system { br; span.muted { "system" } }
                    }
                }
            } }
            tbody {
                @for p in catalogue.iter().filter(|p| p.scope == scope.as_str()) {
                    tr {
                        th scope="row" { code { (p.key) } }
                        @for h in &held {
                            @if h.contains(p.key.as_str()) { td.held { span aria-label="held" { "✓" } } }
                            @else { td.not-held { span aria-label="not held" { "·" } } }
                        }
                    }
                }
            }
        }
    }
}

async fn list(state: web::Data<AppState>, Signed(session): Signed) -> Page {
    let s = session.clone();
    let (roles, catalogue, may_create) = run_blocking(&state.pool, move |conn| {
        let roles = checked(conn, &s, "get", "/roles", |conn, ctx| {
            roles::list(conn, ctx, &ScopeQuery::default())
        })?;
        let catalogue = checked(conn, &s, "get", "/privileges", |conn, _| {
            roles::catalogue(conn, &ScopeQuery::default())
        })?;
        let may_create = may(conn, &s, "post", "/roles", Target::Tenant)?;
        Ok::<_, AdminError>((roles, catalogue, may_create))
    })
    .await?;
    let body = html! {
        @for scope in SCOPES { (matrix(scope, &roles, &catalogue)) }
        @if may_create {
            h2 { "New custom role" }
            form.stack method="post" action="/console/roles" {
                (layout::csrf(&session))
                label for="role-name" { "Name" input #role-name name="name" required maxlength="200"; }
                label for="role-scope" { "Scope"
                    select #role-scope name="scope" {
                        option value="environment" { "environment" }
                        option value="application" { "application" }
                    } }
                label for="role-description" { "Description" input #role-description name="description" maxlength="2000"; }
                button type="submit" { "Create…" }
            }
            p.muted { "A new role starts with no privilege; choose them on its page." }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Roles, "Roles", body),
    ))
}

/// A form's fields, repeated names kept (the privilege checkboxes).
fn fields(body: &[u8]) -> Result<Vec<(String, String)>, AdminError> {
    serde_urlencoded::from_bytes(body).map_err(|e| AdminError::BadRequest(e.to_string()))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn confirmation(fields: &[(String, String)]) -> Confirmation {
    Confirmation {
        csrf: field(fields, "csrf").unwrap_or_default().to_string(),
        confirmed: field(fields, "confirmed").map(str::to_string),
        confirm_self_lockout: field(fields, "confirm_self_lockout").map(str::to_string),
    }
}

async fn create(state: web::Data<AppState>, Signed(session): Signed, body: web::Bytes) -> Page {
    let f = fields(&body)?;
    let name = field(&f, "name").unwrap_or_default().to_string();
    let description = field(&f, "description").unwrap_or_default().to_string();
    let scope = parse_scope(field(&f, "scope").unwrap_or_default())?;
    let change = Change {
        section: Section::Roles,
        method: "post",
        path: "/roles",
        cause: "role",
        question: format!("Create the custom role {name:?}?"),
        action: "/console/roles".into(),
        fields: vec![
            ("name".into(), name.clone()),
            ("description".into(), description.clone()),
            ("scope".into(), scope.as_str().into()),
        ],
        done: "/console/roles".into(),
    };
    let input = CreateInput {
        name,
        scope,
        description,
        privileges: Vec::new(),
        inheritable: false,
    };
    previewed(
        &state,
        session,
        &confirmation(&f),
        change,
        move |conn, ctx, pending| roles::create(conn, ctx, pending, &input),
    )
    .await
}

async fn edit(state: web::Data<AppState>, Signed(session): Signed, id: web::Path<Uuid>) -> Page {
    let id = id.into_inner();
    let s = session.clone();
    let (role, catalogue, may_edit) = run_blocking(&state.pool, move |conn| {
        let role = checked(conn, &s, "get", "/roles/{id}", |conn, ctx| {
            roles::get(conn, ctx, id)
        })?;
        let catalogue = checked(conn, &s, "get", "/privileges", |conn, _| {
            roles::catalogue(conn, &ScopeQuery::default())
        })?;
        let may_edit = may(conn, &s, "patch", "/roles/{id}", Target::Tenant)?;
        Ok::<_, AdminError>((role, catalogue, may_edit))
    })
    .await?;
    let held: HashSet<&str> = role.privileges.iter().map(String::as_str).collect();
    let editable = may_edit && role.privileges_editable;
    let body = html! {
        @if !role.role.description.is_empty() { p { (role.role.description) } }
        form method="post" action={ "/console/roles/" (role.role.id) } {
            (layout::csrf(&session))
            fieldset disabled[!editable] {
                legend { "Privileges (" (role.role.scope) ")" }
                @for p in catalogue.iter().filter(|p| p.scope == role.role.scope) {
                    @let id = format!("p-{}", p.key.replace('.', "-"));
                    p { input type="checkbox" id=(id) name="privileges" value=(p.key) checked[held.contains(p.key.as_str())];
                        " " label for=(id) { code { (p.key) } } }
                }
            }
            @if editable { button type="submit" #save-privileges { "Save…" } }
            @else { p.muted { "This role's privileges cannot be changed here." } }
        }
        p { a href="/console/roles" { "← All roles" } }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Roles, &role.role.name, body),
    ))
}

async fn update(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Page {
    let id = id.into_inner();
    let f = fields(&body)?;
    let privileges: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "privileges")
        .map(|(_, v)| v.clone())
        .collect();
    let change = Change {
        section: Section::Roles,
        method: "patch",
        path: "/roles/{id}",
        cause: "role",
        question: "Change this role's privileges?".into(),
        action: format!("/console/roles/{id}"),
        fields: privileges
            .iter()
            .map(|p| ("privileges".to_string(), p.clone()))
            .collect(),
        done: format!("/console/roles/{id}"),
    };
    let input = UpdateInput {
        privileges: Some(privileges),
        ..UpdateInput::default()
    };
    previewed(
        &state,
        session,
        &confirmation(&f),
        change,
        move |conn, ctx, pending| roles::update(conn, ctx, pending, id, &input),
    )
    .await
}
