//! OIDC providers per tenant, as the admin API manages them. The client secret is stored
//! sealed and never returned; the claim mapping is checked (paths, group pattern) before it
//! is stored.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use openidconnect::url::Url;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::claims::ClaimMapping;
use super::secrets::SecretBox;
use crate::access::effective::{Pending, Scope, Users};
use crate::access::users::NamedRef;
use crate::access::AdminContext;
use crate::db::environments;
use crate::db::oidc::{self as rows, ClaimGroup, ProviderFields, ProviderRow};
use crate::error::AdminError;

const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// Short name used in login URLs (`a-z`, `0-9`, `-`).
    pub name: String,
    /// The issuer; discovery is read from `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Omit for a public client (PKCE only). Stored sealed, never returned.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Default `openid profile email`; `openid` is always requested.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Claim paths per attribute and the groups rule; defaults apply to what is left out.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub claim_mapping: Option<Value>,
    /// Create users at their first login when no existing user matches (default true).
    #[serde(default)]
    pub jit_provisioning: Option<bool>,
    /// Environments a login may ask a session for (default: the first environment).
    #[serde(default)]
    pub environment_ids: Option<Vec<Uuid>>,
    /// Application URLs a login may hand the session token to.
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A partial update: fields left out keep their value. `client_secret: ""` removes the
/// secret (the client becomes public).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub claim_mapping: Option<Value>,
    pub jit_provisioning: Option<bool>,
    pub environment_ids: Option<Vec<Uuid>>,
    pub redirect_uris: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub scopes: Vec<String>,
    #[schema(value_type = Object)]
    pub claim_mapping: Value,
    pub jit_provisioning: bool,
    pub environments: Vec<NamedRef>,
    pub redirect_uris: Vec<String>,
    pub enabled: bool,
    /// Where a login starts (relative to the server's base URL).
    pub login_path: String,
    /// The redirect URI to register at the provider (relative to the server's base URL).
    pub callback_path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimGroupsInput {
    /// Claim values to register (so they can be mapped before anyone logs in with them).
    pub values: Vec<String>,
}

fn secret_context(tenant_id: Uuid, provider_id: Uuid) -> String {
    format!("oidc-client-secret:{tenant_id}:{provider_id}")
}

/// The provider's client secret, opened.
pub fn client_secret(
    row: &ProviderRow,
    secrets: &SecretBox,
) -> Result<Option<String>, crate::oidc::secrets::SecretError> {
    row.client_secret_encrypted
        .as_deref()
        .map(|sealed| {
            secrets
                .open(sealed, &secret_context(row.tenant_id, row.id))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        })
        .transpose()
}

pub fn redirect_uris(row: &ProviderRow) -> Vec<String> {
    serde_json::from_value(row.redirect_uris.clone()).unwrap_or_default()
}

pub fn scopes(row: &ProviderRow) -> Vec<String> {
    row.scopes.split_whitespace().map(str::to_string).collect()
}

pub fn mapping(row: &ProviderRow) -> ClaimMapping {
    serde_json::from_value(row.claim_mapping.clone()).unwrap_or_default()
}

fn bad(message: impl Into<String>) -> AdminError {
    AdminError::BadRequest(message.into())
}

fn valid_provider_name(name: &str) -> Result<String, AdminError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(bad(
            "name must be 1-63 characters of a-z, 0-9 and '-', not starting with '-'",
        ))
    }
}

/// An https URL, or http on a loopback host (a provider on the same machine).
pub fn valid_url(raw: &str, what: &str) -> Result<String, AdminError> {
    let url = Url::parse(raw).map_err(|e| bad(format!("{what} {raw:?} is not a URL: {e}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(bad(format!(
            "{what} must use https (http only on localhost)"
        )));
    }
    if url.fragment().is_some() {
        return Err(bad(format!("{what} must not have a fragment")));
    }
    Ok(raw.to_string())
}

fn valid_scopes(list: Option<Vec<String>>) -> Result<String, AdminError> {
    let mut scopes: Vec<String> = list
        .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect())
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad_scope) = scopes.iter().find(|s| {
        !s.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    }) {
        return Err(bad(format!("{bad_scope:?} is not a valid scope")));
    }
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    scopes.dedup();
    Ok(scopes.join(" "))
}

fn valid_mapping(value: Option<Value>) -> Result<Value, AdminError> {
    let mapping: ClaimMapping = match value {
        Some(v) => serde_json::from_value(v).map_err(|e| bad(format!("claim_mapping: {e}")))?,
        None => ClaimMapping::default(),
    };
    let lists = [
        &mapping.user_name,
        &mapping.display_name,
        &mapping.given_name,
        &mapping.family_name,
        &mapping.email,
        &mapping.email_verified,
        &mapping.external_id,
    ];
    if mapping.user_name.is_empty() {
        return Err(bad("claim_mapping.user_name needs at least one claim path"));
    }
    if lists
        .iter()
        .any(|l| l.iter().any(|p| p.trim().is_empty() || p.len() > 200))
    {
        return Err(bad("claim paths must be 1-200 characters"));
    }
    if let Some(rule) = &mapping.groups {
        if rule.claim.trim().is_empty() {
            return Err(bad("claim_mapping.groups.claim must name a claim"));
        }
        rule.compile()
            .map_err(|e| AdminError::Unprocessable("invalid-pattern", e.to_string()))?;
    }
    serde_json::to_value(&mapping).map_err(|e| bad(e.to_string()))
}

fn valid_environments(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    ids: Option<Vec<Uuid>>,
) -> Result<Vec<Uuid>, AdminError> {
    let all = environments::list(conn, tenant_id)?;
    match ids {
        None => Ok(all.first().map(|e| vec![e.id]).unwrap_or_default()),
        Some(ids) if ids.is_empty() => {
            Err(bad("environment_ids must name at least one environment"))
        }
        Some(ids) => {
            if let Some(unknown) = ids.iter().find(|id| !all.iter().any(|e| e.id == **id)) {
                return Err(bad(format!(
                    "{unknown} is not an environment of this tenant"
                )));
            }
            Ok(ids)
        }
    }
}

fn valid_redirects(list: Option<Vec<String>>) -> Result<Value, AdminError> {
    let list = list.unwrap_or_default();
    for uri in &list {
        valid_url(uri, "redirect URI")?;
    }
    Ok(json!(list))
}

fn view(conn: &mut PgConnection, row: ProviderRow) -> Result<ProviderView, AdminError> {
    let environments = rows::environments_of(conn, row.tenant_id, &[row.id])?;
    Ok(view_with(row, &environments))
}

/// The view of a provider, given (provider, environment id, name) rows that include its own.
fn view_with(row: ProviderRow, environments: &[(Uuid, Uuid, String)]) -> ProviderView {
    let environments = environments
        .iter()
        .filter(|(provider, _, _)| *provider == row.id)
        .map(|(_, id, name)| NamedRef {
            id: *id,
            name: name.clone(),
        })
        .collect();
    ProviderView {
        login_path: format!("/oidc/{}/{}/login", row.tenant_id, row.name),
        callback_path: format!("/oidc/{}/{}/callback", row.tenant_id, row.name),
        has_client_secret: row.client_secret_encrypted.is_some(),
        scopes: scopes(&row),
        redirect_uris: redirect_uris(&row),
        environments,
        id: row.id,
        name: row.name,
        issuer: row.issuer,
        client_id: row.client_id,
        claim_mapping: row.claim_mapping,
        jit_provisioning: row.jit_provisioning,
        enabled: row.enabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn not_found(id: Uuid) -> impl FnOnce(diesel::result::Error) -> AdminError {
    move |e| match e {
        diesel::result::Error::NotFound => AdminError::NotFound(format!("no OIDC provider {id}")),
        e => e.into(),
    }
}

fn name_taken(name: &str) -> impl FnOnce(diesel::result::Error) -> AdminError + '_ {
    move |e| {
        if crate::db::is_unique_violation(&e) {
            AdminError::Conflict(format!("a provider named {name:?} already exists"))
        } else {
            e.into()
        }
    }
}

pub fn list(conn: &mut PgConnection, ctx: &AdminContext) -> Result<Vec<ProviderView>, AdminError> {
    let providers = rows::list_providers(conn, ctx.tenant_id)?;
    let ids: Vec<Uuid> = providers.iter().map(|p| p.id).collect();
    let environments = rows::environments_of(conn, ctx.tenant_id, &ids)?;
    Ok(providers
        .into_iter()
        .map(|row| view_with(row, &environments))
        .collect())
}

pub fn get(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<ProviderView, AdminError> {
    let row = rows::find_provider(conn, ctx.tenant_id, id).map_err(not_found(id))?;
    view(conn, row)
}

fn nonempty(value: &str, what: &str) -> Result<String, AdminError> {
    let value = value.trim();
    if value.is_empty() || value.len() > 1000 {
        return Err(bad(format!("{what} must be 1-1000 characters")));
    }
    Ok(value.to_string())
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    secrets: &SecretBox,
    input: ProviderInput,
) -> Result<ProviderView, AdminError> {
    let id = Uuid::new_v4();
    let name = valid_provider_name(&input.name)?;
    let fields = ProviderFields {
        // Kept exactly as given: OpenID Connect compares issuers character for character,
        // and some providers' issuers end with a slash.
        issuer: valid_url(input.issuer.trim(), "issuer")?,
        client_id: nonempty(&input.client_id, "client_id")?,
        client_secret_encrypted: input
            .client_secret
            .filter(|s| !s.is_empty())
            .map(|s| secrets.seal(s.as_bytes(), &secret_context(ctx.tenant_id, id))),
        scopes: valid_scopes(input.scopes)?,
        claim_mapping: valid_mapping(input.claim_mapping)?,
        jit_provisioning: input.jit_provisioning.unwrap_or(true),
        redirect_uris: valid_redirects(input.redirect_uris)?,
        enabled: input.enabled.unwrap_or(true),
        name: name.clone(),
    };
    let environment_ids = valid_environments(conn, ctx.tenant_id, input.environment_ids)?;
    let row = rows::insert_provider(conn, ctx.tenant_id, id, &fields).map_err(name_taken(&name))?;
    rows::set_environments(conn, ctx.tenant_id, id, &environment_ids)?;
    let created = view(conn, row)?;
    ctx.record(
        conn,
        "OidcProvider",
        id,
        "create",
        None,
        Some(json!(created)),
    )?;
    Ok(created)
}

pub fn update(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    secrets: &SecretBox,
    id: Uuid,
    patch: ProviderPatch,
) -> Result<ProviderView, AdminError> {
    let row = rows::find_provider(conn, ctx.tenant_id, id).map_err(not_found(id))?;
    let before = view(conn, row.clone())?;
    let name = match patch.name {
        Some(n) => valid_provider_name(&n)?,
        None => row.name.clone(),
    };
    let issuer = match &patch.issuer {
        Some(i) => valid_url(i.trim(), "issuer")?,
        None => row.issuer.clone(),
    };
    // The stored secret was given for the old issuer: sending it to a new one would hand
    // it to whoever runs that issuer. A new issuer comes with its secret (or "" for a
    // public client).
    if issuer != row.issuer
        && row.client_secret_encrypted.is_some()
        && patch.client_secret.is_none()
    {
        return Err(AdminError::Unprocessable(
            "issuer-needs-secret",
            "changing the issuer of a provider with a client secret needs its client_secret \
             in the same request (\"\" for a public client)"
                .into(),
        ));
    }
    let fields = ProviderFields {
        issuer,
        client_id: match patch.client_id {
            Some(c) => nonempty(&c, "client_id")?,
            None => row.client_id.clone(),
        },
        client_secret_encrypted: match patch.client_secret {
            Some(s) if s.is_empty() => None,
            Some(s) => Some(secrets.seal(s.as_bytes(), &secret_context(ctx.tenant_id, id))),
            None => row.client_secret_encrypted.clone(),
        },
        scopes: match patch.scopes {
            Some(s) => valid_scopes(Some(s))?,
            None => row.scopes.clone(),
        },
        claim_mapping: match patch.claim_mapping {
            Some(m) => valid_mapping(Some(m))?,
            None => row.claim_mapping.clone(),
        },
        jit_provisioning: patch.jit_provisioning.unwrap_or(row.jit_provisioning),
        redirect_uris: match patch.redirect_uris {
            Some(r) => valid_redirects(Some(r))?,
            None => row.redirect_uris.clone(),
        },
        enabled: patch.enabled.unwrap_or(row.enabled),
        name: name.clone(),
    };
    if let Some(ids) = patch.environment_ids {
        let ids = valid_environments(conn, ctx.tenant_id, Some(ids))?;
        rows::set_environments(conn, ctx.tenant_id, id, &ids)?;
    }
    let row = rows::update_provider(conn, ctx.tenant_id, id, &fields).map_err(name_taken(&name))?;
    let after = view(conn, row)?;
    ctx.record(
        conn,
        "OidcProvider",
        id,
        "update",
        Some(json!(before)),
        Some(json!(after)),
    )?;
    Ok(after)
}

/// Deletes the provider with its linked identities and the groups its claims created;
/// roles that reached users through those groups go at once.
pub fn delete(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    pending: &mut Pending,
    id: Uuid,
) -> Result<(), AdminError> {
    let row = rows::find_provider(conn, ctx.tenant_id, id).map_err(not_found(id))?;
    let before = view(conn, row)?;
    let holders = rows::members_of_mapped_claim_groups(conn, ctx.tenant_id, id)?;
    pending.mark(conn, Users::Ids(&holders), Scope::Tenant)?;
    rows::delete_provider(conn, ctx.tenant_id, id)?;
    ctx.record(
        conn,
        "OidcProvider",
        id,
        "delete",
        Some(json!(before)),
        None,
    )?;
    Ok(())
}

pub fn claim_groups(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
) -> Result<Vec<ClaimGroup>, AdminError> {
    rows::find_provider(conn, ctx.tenant_id, id).map_err(not_found(id))?;
    Ok(rows::claim_groups(conn, ctx.tenant_id, id)?)
}

/// Registers claim values as IdP groups ahead of any login, so they can be mapped.
pub fn register_claim_groups(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    input: &ClaimGroupsInput,
) -> Result<Vec<ClaimGroup>, AdminError> {
    rows::find_provider(conn, ctx.tenant_id, id).map_err(not_found(id))?;
    let mut values: Vec<String> = Vec::new();
    for v in &input.values {
        if v.is_empty() || v.len() > 1000 {
            return Err(bad("claim values must be 1-1000 characters"));
        }
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    let (ensured, created) = rows::ensure_claim_groups(conn, ctx.tenant_id, id, &values)?;
    for (value, group) in &created {
        crate::events::group(
            conn,
            ctx.tenant_id,
            &ctx.actor,
            crate::events::EventType::GroupCreated,
            crate::events::GroupKind::Idp,
            *group,
            value,
        )?;
    }
    ctx.record(
        conn,
        "OidcProvider",
        id,
        "register_claim_groups",
        None,
        Some(json!({"values": values})),
    )?;
    let all = rows::claim_groups(conn, ctx.tenant_id, id)?;
    Ok(all
        .into_iter()
        .filter(|g| ensured.iter().any(|(_, gid)| *gid == g.id))
        .collect())
}
