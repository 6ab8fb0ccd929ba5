//! Users: the searchable, paged list; one user's effective roles with every path that
//! grants them, memberships and environment access; archiving, environment access and
//! environment roles, each previewed.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{
    checked, html_response, may, previewed, previewed_then, Change, Confirmation, ConsoleError,
    Signed,
};
use crate::access::authorization::Target;
use crate::access::roles::ScopeQuery;
use crate::access::user_list::{self, ListQuery};
use crate::access::users::{self as access_users, EffectiveAccess, HeldRole, Invited, RolePath};
use crate::access::{assignments, group_mappings, idp_groups, roles};
use crate::db::run_blocking;
use crate::db::users::UserSource;
use crate::error::AdminError;
use crate::http::public_root;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}/archive", web::post().to(archive))
        .route("/users/{id}/unarchive", web::post().to(unarchive))
        .route("/users/{id}/access", web::post().to(environment_access))
        .route("/users/{id}/role", web::post().to(environment_role));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    after: String,
}

fn select(name: &str, label: &str, current: &str, options: &[&str]) -> Markup {
    html! {
        label for=(name) { (label)
            select #(name) name=(name) data-autosubmit {
                option value="" selected[current.is_empty()] { "Any" }
                @for o in options {
                    option value=(o) selected[*o == current] { (o) }
                }
            }
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    Signed(session): Signed,
    params: web::Query<ListParams>,
) -> Page {
    let params = params.into_inner();
    let query = ListQuery {
        q: Some(params.q.clone()),
        status: Some(params.status.clone()),
        source: Some(params.source.clone()),
        after: Some(params.after.clone()),
        limit: None,
    };
    let s = session.clone();
    let found = run_blocking(&state.pool, move |conn| {
        checked(conn, &s, "get", "/users", |conn, ctx| {
            user_list::list(conn, ctx, &query)
        })
    })
    .await?;
    let sources: Vec<&str> = UserSource::ALL.iter().map(|s| s.as_str()).collect();
    let body = html! {
        form.search role="search" method="get" action="/console/users" {
            label for="q" { "Name, e-mail or externalId"
                input #q type="search" name="q" value=(params.q) maxlength="200"; }
            (select("status", "Status", &params.status, &["active", "invited", "archived", "deactivated"]))
            (select("source", "Source", &params.source, &sources))
            button type="submit" { "Search" }
        }
        @if found.users.is_empty() {
            p #no-users { "No user matches." }
        } @else {
            table #users {
                caption.muted { "Users by userName" }
                thead { tr {
                    th scope="col" { "userName" } th scope="col" { "Name" }
                    th scope="col" { "E-mail" } th scope="col" { "externalId" }
                    th scope="col" { "Status" } th scope="col" { "Source" }
                } }
                tbody {
                    @for u in &found.users {
                        tr {
                            td { a href={ "/console/users/" (u.id) } { (u.user_name) } }
                            td { (u.display_name.as_deref().unwrap_or("")) }
                            td { (u.email.as_deref().unwrap_or("")) }
                            td { code { (u.external_id.as_deref().unwrap_or("")) } }
                            td { (u.status) }
                            td { (u.source) }
                        }
                    }
                }
            }
        }
        (layout::next_page("/console/users",
            &[("q", &params.q), ("status", &params.status), ("source", &params.source)],
            found.next_after.as_deref()))
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Users, "Users", body),
    ))
}

fn path_text(path: &RolePath) -> Markup {
    html! {
        @match path.kind {
            "direct" => { "direct assignment" },
            "end_user_group" => {
                "end-user group "
                @if let Some(g) = &path.end_user_group { a href={ "/console/groups/" (g.id) } { (g.name) } }
            },
            "group_mapping" => {
                "IdP group "
                @if let Some(g) = &path.idp_group { strong { (g.name) } }
                " mapped to "
                @if let Some(g) = &path.end_user_group { a href={ "/console/groups/" (g.id) } { (g.name) } }
            },
            "collaborator_group" => {
                "collaborator group "
                @if let Some(g) = &path.collaborator_group { (g.name) }
            },
            _ => { em { "Everyone else" } },
        }
    }
}

fn roles_table(caption: &str, held: &[HeldRole], privileges: &[String]) -> Markup {
    html! {
        table.roles {
            caption { (caption) }
            thead { tr { th scope="col" { "Role" } th scope="col" { "Granted through" } } }
            tbody {
                @for r in held {
                    tr {
                        td { (r.role.name) }
                        td { ul { @for p in &r.paths { li { (path_text(p)) } } } }
                    }
                }
                @if held.is_empty() { tr { td colspan="2" .muted { "No role." } } }
            }
        }
        @if !privileges.is_empty() {
            details { summary { (privileges.len()) " privilege(s)" }
                ul { @for p in privileges { li { code { (p) } } } } }
        }
    }
}

/// What the person may do on this user's page.
struct Offered {
    archive: bool,
    access: bool,
    environment_roles: Vec<(Uuid, String)>,
}

async fn show(state: web::Data<AppState>, Signed(session): Signed, id: web::Path<Uuid>) -> Page {
    let id = id.into_inner();
    let s = session.clone();
    let (access, (memberships, idp_groups), offered) = run_blocking(&state.pool, move |conn| {
        let access: EffectiveAccess = checked(
            conn,
            &s,
            "get",
            "/users/{id}/effective-roles",
            |conn, ctx| access_users::effective_access(conn, ctx, id, None),
        )?;
        let memberships = checked(
            conn,
            &s,
            "get",
            "/users/{id}/end-user-groups",
            |conn, ctx| group_mappings::memberships(conn, ctx, id),
        )?;
        let idp_groups = checked(conn, &s, "get", "/users/{id}/idp-groups", |conn, ctx| {
            idp_groups::of_user(conn, ctx, id)
        })?;
        let archive = may(conn, &s, "post", "/users/{id}/archive", Target::User(id))?;
        let access_allowed = may(
            conn,
            &s,
            "delete",
            "/users/{id}/environments/{environment_id}/access",
            Target::User(id),
        )?;
        let environment_roles = if may(
            conn,
            &s,
            "put",
            "/users/{id}/environments/{environment_id}/role",
            Target::User(id),
        )? {
            checked(conn, &s, "get", "/roles", |conn, ctx| {
                roles::list(conn, ctx, &ScopeQuery { scope: None })
            })?
            .into_iter()
            .filter(|r| r.role.scope == "environment")
            .map(|r| (r.role.id, r.role.name))
            .collect()
        } else {
            Vec::new()
        };
        Ok::<_, AdminError>((
            access,
            (memberships, idp_groups),
            Offered {
                archive,
                access: access_allowed,
                environment_roles,
            },
        ))
    })
    .await?;
    let user = &access.user;
    let user_url = format!("/console/users/{}", user.id);
    let body = html! {
        dl.facts {
            dt { "userName" } dd #user-name { (user.user_name) }
            dt { "Name" } dd { (user.display_name.as_deref().unwrap_or("—")) }
            dt { "Status" } dd #status { (user.status)
                @if user.active == Some(false) { " (deactivated by the identity provider)" } }
            dt { "Id" } dd { code { (user.id) } }
        }
        @if offered.archive {
            @if user.status == "archived" {
                (layout::action_button(&session, &format!("{user_url}/unarchive"), "Unarchive…", &[]))
            } @else {
                (layout::action_button(&session, &format!("{user_url}/archive"), "Archive…", &[]))
            }
        }
        h2 { "Effective roles" }
        @for env in &access.environments {
            section.environment aria-labelledby={ "env-" (env.environment.id) } {
                h3 #{ "env-" (env.environment.id) } { (env.environment.name)
                    " " span.muted { "(access " (env.access) ")" } }
                @if offered.access {
                    @let granted = env.access == "granted";
                    (layout::action_button(&session, &format!("{user_url}/access"),
                        if granted { "Revoke environment access…" } else { "Restore environment access…" },
                        &[("environment_id", &env.environment.id.to_string()),
                          ("grant", if granted { "false" } else { "true" })]))
                }
                @if !offered.environment_roles.is_empty() {
                    form.stack method="post" action={ (user_url) "/role" } {
                        (layout::csrf(&session))
                        input type="hidden" name="environment_id" value=(env.environment.id);
                        label for={ "role-" (env.environment.id) } { "Environment role"
                            select #{ "role-" (env.environment.id) } name="role_id" required {
                                // Without a held role nothing is preselected, so a click on
                                // "Set role…" never grants the list's first role by accident.
                                @let holds_one = offered.environment_roles.iter().any(|(rid, _)| env.roles.iter().any(|r| r.role.id == *rid));
                                @if !holds_one { option value="" selected disabled { "Choose a role" } }
                                @for (rid, name) in &offered.environment_roles {
                                    option value=(rid) selected[env.roles.iter().any(|r| r.role.id == *rid)] { (name) }
                                }
                            }
                        }
                        button type="submit" { "Set role…" }
                    }
                }
                (roles_table("Environment roles", &env.roles, &env.privileges))
                @for app in &env.applications {
                    (roles_table(&format!("Application {}", app.application.name), &app.roles, &app.privileges))
                }
            }
        }
        h2 { "End-user group memberships" }
        table #memberships {
            thead { tr { th scope="col" { "Group" } th scope="col" { "Environment" } th scope="col" { "Through" } } }
            tbody {
                @for m in &memberships {
                    tr {
                        td { a href={ "/console/groups/" (m.end_user_group_id) } { (m.end_user_group_name) } }
                        td { code { (m.environment_id) } }
                        td { (m.via) @if let Some(name) = &m.idp_group_name { " " strong { (name) } } }
                    }
                }
                @if memberships.is_empty() { tr { td colspan="3" .muted { "In no end-user group." } } }
            }
        }
        h2 { "IdP groups" }
        table #idp-memberships {
            thead { tr { th scope="col" { "Group" } th scope="col" { "Source" } } }
            tbody {
                @for g in &idp_groups {
                    tr {
                        td { a href={ "/console/idp-groups?" (serde_urlencoded::to_string([("q", &g.display_name)]).unwrap_or_default()) } { (g.display_name) } }
                        td { @if g.source == "login" { "login claims" } @else { "SCIM" } }
                    }
                }
                @if idp_groups.is_empty() { tr { td colspan="2" .muted { "In no IdP group." } } }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Users, &user.user_name, body),
    ))
}

async fn archive(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<Confirmation>,
) -> Page {
    let id = id.into_inner();
    let change = Change {
        section: Section::Users,
        method: "post",
        path: "/users/{id}/archive",
        cause: "user_status",
        question: "Archive this user?".into(),
        action: format!("/console/users/{id}/archive"),
        fields: Vec::new(),
        done: format!("/console/users/{id}"),
    };
    previewed(&state, session, &form, change, move |conn, ctx, pending| {
        access_users::archive(conn, ctx, pending, id)
    })
    .await
}

async fn unarchive(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<Confirmation>,
) -> Page {
    let id = id.into_inner();
    let root = public_root(&req);
    let change = Change {
        section: Section::Users,
        method: "post",
        path: "/users/{id}/unarchive",
        cause: "user_status",
        question: "Unarchive this user (they are invited again)?".into(),
        action: format!("/console/users/{id}/unarchive"),
        fields: Vec::new(),
        done: format!("/console/users/{id}"),
    };
    previewed_then(
        &state,
        session,
        &form,
        change,
        move |conn, ctx, pending| access_users::unarchive(conn, ctx, pending, id, &root),
        |session, invited: Invited| {
            let body = html! {
                p.warning role="status" {
                    "Send this invitation link to " strong { (invited.user.user_name) }
                    " now: it is not shown again."
                }
                p { (layout::copyable("invitation-url", &invited.invitation_url)) }
                p.muted { "It works until " (invited.invitation_expires_at.format("%Y-%m-%d %H:%M UTC")) "." }
                p { a href={ "/console/users/" (invited.user.id) } { "Back to the user" } }
            };
            html_response(
                StatusCode::OK,
                layout::page(session, Section::Users, "User unarchived", body),
            )
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct AccessForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    environment_id: Uuid,
    /// `true` restores, anything else revokes (a string: flattened forms take no booleans).
    grant: String,
}

async fn environment_access(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<AccessForm>,
) -> Page {
    let id = id.into_inner();
    let AccessForm {
        confirmation,
        environment_id,
        grant,
    } = form.into_inner();
    let grant = grant == "true";
    let change = Change {
        section: Section::Users,
        method: if grant { "put" } else { "delete" },
        path: "/users/{id}/environments/{environment_id}/access",
        cause: "environment_access",
        question: if grant {
            "Restore this user's access to the environment?".into()
        } else {
            "Revoke this user's access to the environment?".into()
        },
        action: format!("/console/users/{id}/access"),
        fields: vec![
            ("environment_id".into(), environment_id.to_string()),
            ("grant".into(), grant.to_string()),
        ],
        done: format!("/console/users/{id}"),
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| {
            access_users::set_environment_access(conn, ctx, pending, id, environment_id, grant)
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    environment_id: Uuid,
    role_id: Uuid,
}

async fn environment_role(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<RoleForm>,
) -> Page {
    let id = id.into_inner();
    let RoleForm {
        confirmation,
        environment_id,
        role_id,
    } = form.into_inner();
    let change = Change {
        section: Section::Users,
        method: "put",
        path: "/users/{id}/environments/{environment_id}/role",
        cause: "assignment",
        question: "Set this user's environment role?".into(),
        action: format!("/console/users/{id}/role"),
        fields: vec![
            ("environment_id".into(), environment_id.to_string()),
            ("role_id".into(), role_id.to_string()),
        ],
        done: format!("/console/users/{id}"),
    };
    previewed(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, pending| {
            assignments::set_environment_role(conn, ctx, pending, id, environment_id, role_id)
        },
    )
    .await
}
