//! Connections: the SCIM base URL and connector tokens for Microsoft Entra ID and Okta
//! (with copyable values and the steps), and the OpenID Connect login providers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Section};
use super::{
    checked, html_response, may, previewed, previewed_then, Change, Confirmation, ConsoleError,
    Signed,
};
use crate::access::authorization::Target;
use crate::access::tokens::{self, CreateInput, IssuedTokenView};
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::http::public_root;
use crate::oidc::providers;
use crate::provisioning::tokens::TokenKind;
use crate::state::AppState;

type Page = Result<HttpResponse, ConsoleError>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connections", web::get().to(show))
        .route("/connections/scim-tokens", web::post().to(create_token))
        .route(
            "/connections/scim-tokens/{id}/revoke",
            web::post().to(revoke_token),
        );
}

async fn show(req: HttpRequest, state: web::Data<AppState>, Signed(session): Signed) -> Page {
    let scim_url = format!("{}/scim/v2", public_root(&req));
    let s = session.clone();
    let (scim_tokens, may_tokens, logins) = run_blocking(&state.pool, move |conn| {
        let may_tokens = may(conn, &s, "get", "/scim-tokens", Target::Tenant)?;
        let scim_tokens = if may_tokens {
            checked(conn, &s, "get", "/scim-tokens", |conn, ctx| {
                tokens::list(conn, ctx, TokenKind::Scim)
            })?
        } else {
            Vec::new()
        };
        let logins = if may(conn, &s, "get", "/oidc-providers", Target::Tenant)? {
            Some(checked(
                conn,
                &s,
                "get",
                "/oidc-providers",
                providers::list,
            )?)
        } else {
            None
        };
        Ok::<_, AdminError>((scim_tokens, may_tokens, logins))
    })
    .await?;
    let body = html! {
        section aria-labelledby="scim" {
            h2 #scim { "SCIM provisioning (Microsoft Entra ID, Okta)" }
            p { "Tenant URL / SCIM base URL: " (layout::copyable("scim-url", &scim_url)) }
            details {
                summary { "Steps for Microsoft Entra ID" }
                ol {
                    li { "In the Entra admin center, open Enterprise applications → New application → Create your own application (non-gallery)." }
                    li { "Under Provisioning, choose Automatic; paste the Tenant URL above and a connector token below as the Secret Token; Test Connection." }
                    li { "Assign users and groups to the application, then start provisioning." }
                }
            }
            details {
                summary { "Steps for Okta" }
                ol {
                    li { "Create a SWA or SAML app integration, then on its General tab enable SCIM provisioning." }
                    li { "On Provisioning → Integration: SCIM connector base URL = the URL above, unique identifier field = userName, authentication mode = HTTP Header, Bearer = a connector token below." }
                    li { "Enable Create, Update and Deactivate Users and Push Groups." }
                }
            }
            @if may_tokens {
                table #scim-tokens {
                    caption { "Connector tokens" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Created" } th scope="col" { "Last used" }
                                 th scope="col" { "State" } th scope="col" { span.muted { "Actions" } } } }
                    tbody {
                        @for t in &scim_tokens {
                            tr {
                                td { (t.name) }
                                td { (t.created_at.format("%Y-%m-%d")) }
                                td { (t.last_used_at.map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into())) }
                                td { @if t.revoked_at.is_some() { "revoked" } @else { "active" } }
                                td { @if t.revoked_at.is_none() {
                                    (layout::action_button(&session, &format!("/console/connections/scim-tokens/{}/revoke", t.id), "Revoke…", &[]))
                                } }
                            }
                        }
                        @if scim_tokens.is_empty() { tr { td colspan="5" .muted { "No connector token yet." } } }
                    }
                }
                form.stack method="post" action="/console/connections/scim-tokens" {
                    (layout::csrf(&session))
                    label for="token-name" { "Name" input #token-name name="name" required maxlength="200" placeholder="Entra ID production"; }
                    button type="submit" { "New connector token…" }
                }
            } @else {
                p.muted { "Connector tokens need the SCIM provisioning privilege." }
            }
        }
        section aria-labelledby="oidc" {
            h2 #oidc { "OpenID Connect login providers" }
            @match &logins {
                None => { p.muted { "Login providers need the single sign-on privilege." } },
                Some(list) if list.is_empty() => { p.muted { "No login provider yet (POST /admin/v1/oidc-providers)." } },
                Some(list) => {
                    table #oidc-providers {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Issuer" } th scope="col" { "Environments" }
                                     th scope="col" { "Callback (redirect URI to register)" } th scope="col" { "State" } } }
                        tbody {
                            @for p in list {
                                tr {
                                    td { (p.name) }
                                    td { code { (p.issuer) } }
                                    td { (p.environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")) }
                                    td { code { (public_root(&req)) (p.callback_path) } }
                                    td { @if p.enabled { "on" } @else { "off" } }
                                }
                            }
                        }
                    }
                },
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        layout::page(&session, Section::Connections, "Connections", body),
    ))
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(flatten)]
    confirmation: Confirmation,
    name: String,
}

async fn create_token(
    state: web::Data<AppState>,
    Signed(session): Signed,
    form: web::Form<TokenForm>,
) -> Page {
    let TokenForm { confirmation, name } = form.into_inner();
    let change = Change {
        section: Section::Connections,
        method: "post",
        path: "/scim-tokens",
        cause: "token",
        question: format!("Create the connector token {name:?}?"),
        action: "/console/connections/scim-tokens".into(),
        fields: vec![("name".into(), name.clone())],
        done: "/console/connections".into(),
    };
    let input = CreateInput {
        name,
        expires_in_days: None,
        user_id: None,
    };
    previewed_then(
        &state,
        session,
        &confirmation,
        change,
        move |conn, ctx, _| tokens::create(conn, ctx, TokenKind::Scim, &input),
        |session, issued: IssuedTokenView| {
            let body = html! {
                p.warning role="status" { "Copy the token now: it is not shown again." }
                p { (layout::copyable("new-token", &issued.secret)) }
                p { a href="/console/connections" { "Back to connections" } }
            };
            html_response(
                StatusCode::CREATED,
                layout::page(session, Section::Connections, "New connector token", body),
            )
        },
    )
    .await
}

async fn revoke_token(
    state: web::Data<AppState>,
    Signed(session): Signed,
    id: web::Path<Uuid>,
    form: web::Form<Confirmation>,
) -> Page {
    let id = id.into_inner();
    let change = Change {
        section: Section::Connections,
        method: "delete",
        path: "/scim-tokens/{id}",
        cause: "token",
        question: "Revoke this connector token? The identity provider using it is refused at once."
            .into(),
        action: format!("/console/connections/scim-tokens/{id}/revoke"),
        fields: Vec::new(),
        done: "/console/connections".into(),
    };
    previewed(&state, session, &form, change, move |conn, ctx, _| {
        tokens::revoke(conn, ctx, TokenKind::Scim, id)
    })
    .await
}
