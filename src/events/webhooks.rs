//! Webhook subscriptions: a URL and the event types it wants, managed over the admin API.
//! Delivery is in `delivery`.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::EventType;
use crate::access::AdminContext;
use crate::db::webhooks::{self as rows, DeliveryRow, WebhookRow};
use crate::error::AdminError;
use crate::outbound::Policy;

/// The longest URL a webhook may have.
const MAX_URL: usize = 2048;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookCreate)]
pub struct CreateInput {
    /// Where SETs are POSTed: https, or an internal address allowed by
    /// `ROLEGATE_OUTBOUND_ALLOW`.
    pub url: String,
    /// The event types to deliver (at least one).
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Failed attempts at the next event to deliver (0 when all is well).
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

impl From<WebhookRow> for WebhookView {
    fn from(row: WebhookRow) -> Self {
        WebhookView {
            events: row.types(),
            id: row.id,
            url: row.url,
            created_at: row.created_at,
            attempts: row.attempts,
            failing_since: row.failing_since,
            next_attempt_at: row.next_attempt_at,
        }
    }
}

/// A URL deliveries may go to under the outbound policy, checked when the webhook is made
/// (and again, with its resolved addresses, at every delivery).
fn valid_url(url: &str, policy: &Policy) -> Result<String, AdminError> {
    if url.len() > MAX_URL {
        return Err(AdminError::BadRequest(format!(
            "a webhook URL has at most {MAX_URL} characters"
        )));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| AdminError::BadRequest(format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(AdminError::BadRequest("a webhook URL is https".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err(AdminError::BadRequest(
            "a webhook URL carries no credentials or fragment".into(),
        ));
    }
    policy
        .check_url(&parsed)
        .map_err(|e| AdminError::BadRequest(format!("deliveries to {url} are not allowed: {e}")))?;
    Ok(parsed.to_string())
}

fn valid_types(types: &[String]) -> Result<Vec<String>, AdminError> {
    if types.is_empty() {
        return Err(AdminError::BadRequest(
            "name at least one event type".into(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for t in types {
        let t = t.parse::<EventType>().map_err(AdminError::BadRequest)?;
        if !out.iter().any(|o| o == t.as_str()) {
            out.push(t.as_str().to_string());
        }
    }
    Ok(out)
}

pub fn create(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    policy: &Policy,
    input: &CreateInput,
) -> Result<WebhookView, AdminError> {
    let url = valid_url(&input.url, policy)?;
    let types = valid_types(&input.events)?;
    let row = rows::insert(conn, ctx.tenant_id, &url, &types)?;
    let view = WebhookView::from(row);
    ctx.record(conn, "Webhook", view.id, "create", None, Some(json!(view)))?;
    Ok(view)
}

pub fn list(conn: &mut PgConnection, ctx: &AdminContext) -> Result<Vec<WebhookView>, AdminError> {
    Ok(rows::list(conn, ctx.tenant_id)?
        .into_iter()
        .map(WebhookView::from)
        .collect())
}

fn find(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<WebhookRow, AdminError> {
    rows::find(conn, ctx.tenant_id, id).map_err(|e| match e {
        diesel::result::Error::NotFound => AdminError::NotFound(format!("no webhook {id}")),
        e => e.into(),
    })
}

pub fn delete(conn: &mut PgConnection, ctx: &AdminContext, id: Uuid) -> Result<(), AdminError> {
    let before = WebhookView::from(find(conn, ctx, id)?);
    rows::delete(conn, ctx.tenant_id, id)?;
    ctx.record(conn, "Webhook", id, "delete", Some(json!(before)), None)?;
    Ok(())
}

pub fn deliveries(
    conn: &mut PgConnection,
    ctx: &AdminContext,
    id: Uuid,
    limit: Option<i64>,
) -> Result<Vec<DeliveryRow>, AdminError> {
    find(conn, ctx, id)?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AdminError::BadRequest("limit is between 1 and 1000".into()));
    }
    Ok(rows::deliveries(conn, ctx.tenant_id, id, limit)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_must_be_deliverable() {
        let none = Policy::default();
        assert!(valid_url("https://hooks.example.com/rolegate", &none).is_ok());
        for bad in [
            "hooks.example.com",
            "ftp://hooks.example.com/x",
            "http://hooks.example.com/x",
            "https://user:pw@hooks.example.com/x",
            "https://hooks.example.com/x#frag",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
        ] {
            assert!(valid_url(bad, &none).is_err(), "{bad} was taken");
        }
        let loopback = Policy::parse("127.0.0.0/8").expect("policy");
        assert!(valid_url("http://127.0.0.1:9000/hook", &loopback).is_ok());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(valid_url(&long, &none).is_err());
    }

    #[test]
    fn event_types_are_known_and_listed_once() {
        let types = valid_types(&["access.changed".into(), "access.changed".into()]);
        assert_eq!(types.ok(), Some(vec!["access.changed".to_string()]));
        assert!(valid_types(&[]).is_err());
        assert!(valid_types(&["user.exploded".into()]).is_err());
    }
}
