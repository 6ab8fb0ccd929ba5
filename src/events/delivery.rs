//! Pushing events to webhooks as Security Event Tokens (RFC 8417) with RFC 8935 push
//! semantics: a 2xx answer is delivered, a 400 is the receiver's permanent refusal of that
//! SET, anything else (or no answer) is retried with exponential backoff for up to 24 hours.
//!
//! Each node runs one dispatcher. It leases due webhooks (`FOR UPDATE SKIP LOCKED`, so two
//! nodes never take the same one) and delivers each webhook's events one at a time in feed
//! order — hence in order per subject — renewing the lease after every attempt. A node that
//! dies mid-delivery leaves its lease to run out; another node then delivers the same event
//! again (at-least-once: receivers drop duplicates by `txn`). No database transaction is
//! open while a request is out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{EventType, Subject};
use crate::db::events::{self as event_rows, EventRow};
use crate::db::webhooks::{self as rows, NewDelivery, Progress, WebhookRow};
use crate::db::{run_blocking, DbError, PgPool};
use crate::oidc::secrets::SecretBox;
use crate::outbound::Outbound;

/// How long a lease lasts without renewal: longer than one attempt (the outbound timeout).
const LEASE: Duration = Duration::from_secs(30);
/// How long an event is retried before it is given up.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How often an idle webhook looks for new events (a commit wakes it sooner).
const IDLE: Duration = Duration::from_secs(1);
/// Events one lease delivers before giving other webhooks their turn.
const PER_LEASE: usize = 100;

/// The SET event type for each event: the standard one where there is one.
pub fn event_uri(t: EventType) -> &'static str {
    match t {
        EventType::UserCreated | EventType::GroupCreated => {
            "urn:ietf:params:SCIM:event:prov:create:notice"
        }
        EventType::UserUpdated | EventType::GroupUpdated | EventType::MembershipChanged => {
            "urn:ietf:params:SCIM:event:prov:patch:notice"
        }
        EventType::UserDeleted | EventType::GroupDeleted => {
            "urn:ietf:params:SCIM:event:prov:delete"
        }
        EventType::UserDeactivated => "urn:ietf:params:SCIM:event:prov:deactivate",
        EventType::UserReactivated => "urn:ietf:params:SCIM:event:prov:activate",
        EventType::UserArchived => "https://rolegate.dev/secevent/user.archived",
        EventType::UserUnarchived => "https://rolegate.dev/secevent/user.unarchived",
        EventType::AccessChanged => {
            "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
        }
        EventType::SessionRevoked => {
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
        }
    }
}

/// The claims of the SET for one event.
pub fn set_claims(row: &EventRow, issuer: &str, audience: &str, scim_base: &str) -> Value {
    let event_type = row.event_type.parse::<EventType>().ok();
    let subject = match (row.subject_user_id, row.subject_group_id) {
        (Some(u), _) => Some(Subject::User(u)),
        (None, Some(g)) => Some(Subject::Group(g)),
        _ => None,
    };
    let (sub_id, reference) = match subject {
        Some(Subject::User(u)) => (
            json!({"format": "opaque", "id": u}),
            Some(format!("{scim_base}/Users/{u}")),
        ),
        Some(Subject::Group(g)) => (
            json!({"format": "opaque", "id": g}),
            (row.data["kind"] == "idp").then(|| format!("{scim_base}/Groups/{g}")),
        ),
        None => (Value::Null, None),
    };
    let mut payload = json!({
        "rolegate_type": row.event_type,
        "event_timestamp": row.created_at.timestamp(),
        "data": row.data,
    });
    if let Some(reference) = reference {
        payload["ref"] = json!(reference);
    }
    match event_type {
        Some(EventType::AccessChanged) => payload["claims"] = row.data.clone(),
        Some(EventType::SessionRevoked) => {
            payload["reason_admin"] = json!({"en": row.data["reason"]});
        }
        _ => {}
    }
    let uri = event_type
        .map(event_uri)
        .unwrap_or("https://rolegate.dev/secevent/unknown");
    json!({
        "iss": issuer,
        "aud": audience,
        "iat": Utc::now().timestamp(),
        "jti": row.id.to_string(),
        "txn": row.id.to_string(),
        "toe": row.created_at.timestamp(),
        "sub_id": sub_id,
        "events": {uri: payload},
    })
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(DateTime<Utc>),
    GiveUp,
}

/// Exponential backoff from `base` (doubling per attempt, at most an hour), until the event
/// has failed for `GIVE_UP_AFTER`.
pub fn after_failure(
    attempts: i32,
    failing_since: DateTime<Utc>,
    now: DateTime<Utc>,
    base: Duration,
) -> AfterFailure {
    if now - failing_since >= GIVE_UP_AFTER {
        return AfterFailure::GiveUp;
    }
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = base
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF);
    AfterFailure::RetryAt(
        now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
    )
}

/// How a receiver answered one SET.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Delivered(u16),
    /// 400: this SET will never be accepted.
    Refused(u16, String),
    /// Anything else: try again later.
    Failed(Option<u16>, String),
}

/// One attempt, as recorded.
struct Attempt {
    event_id: i64,
    attempt: i32,
    outcome: &'static str,
    status: Option<u16>,
    error: Option<String>,
}

async fn push(outbound: &Outbound, url: &str, token: &str) -> Answer {
    let request = openidconnect::http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/secevent+jwt")
        .header("accept", "application/json")
        .body(token.as_bytes().to_vec());
    let request = match request {
        Ok(r) => r,
        Err(e) => return Answer::Failed(None, format!("building the request: {e}")),
    };
    match outbound.send(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = String::from_utf8_lossy(response.body());
            let body: String = body.chars().take(500).collect();
            match status {
                200..=299 => Answer::Delivered(status),
                400 => Answer::Refused(status, body),
                _ => Answer::Failed(Some(status), body),
            }
        }
        Err(e) => Answer::Failed(None, e.to_string()),
    }
}

/// What the dispatcher needs.
#[derive(Clone)]
pub struct Dispatcher {
    pub pool: PgPool,
    pub secrets: SecretBox,
    pub outbound: Outbound,
    pub hub: super::hub::EventHub,
    /// The externally visible base URL (issuer and SCIM references).
    pub public_url: String,
    /// The first retry's wait; each further one doubles it.
    pub retry_base: Duration,
    /// This node, as leases and delivery records name it.
    pub node: String,
}

impl Dispatcher {
    /// Runs for as long as the process does.
    pub fn start(self) {
        tokio::spawn(async move { self.run().await });
    }

    async fn run(self) {
        let mut news = self.hub.subscribe();
        loop {
            let node = self.node.clone();
            let claimed = run_blocking(&self.pool, move |conn| {
                rows::claim_due(conn, &node, LEASE, 16).map_err(DbError::from)
            })
            .await;
            let claimed = match claimed {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatcher: cannot claim webhooks");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                // Sleep until a commit anywhere (or a moment passes), then look again.
                let _ = tokio::time::timeout(Duration::from_millis(250), news.recv()).await;
                continue;
            }
            let handles: Vec<_> = claimed
                .into_iter()
                .map(|hook| {
                    let me = self.clone();
                    tokio::spawn(async move { me.deliver(hook).await })
                })
                .collect();
            for h in handles {
                let _ = h.await;
            }
        }
    }

    /// Delivers one leased webhook's next events, then gives the lease back.
    async fn deliver(&self, hook: WebhookRow) {
        if let Err(e) = self.deliver_inner(&hook).await {
            tracing::warn!(webhook = %hook.id, error = %e, "webhook delivery stopped");
        }
    }

    async fn deliver_inner(&self, hook: &WebhookRow) -> Result<(), DbError> {
        let types = hook.types();
        let mut position = (hook.position_txid, hook.position_id);
        let mut attempts = hook.attempts;
        let mut failing_since = hook.failing_since;
        for _ in 0..PER_LEASE {
            let (tenant, t) = (hook.tenant_id, types.clone());
            let secrets = self.secrets.clone();
            let next = run_blocking(&self.pool, move |conn| -> Result<_, DbError> {
                let Some(row) = event_rows::after(conn, tenant, position, Some(&t), 1)?
                    .into_iter()
                    .next()
                else {
                    return Ok(None);
                };
                let key = crate::oidc::keys::active(conn, tenant, &secrets)
                    .map_err(|e| DbError::Blocking(e.to_string()))?;
                Ok(Some((row, key)))
            })
            .await?;
            let Some((row, key)) = next else {
                // Caught up: look again in a moment (a commit wakes the dispatcher sooner).
                self.save(
                    hook,
                    None,
                    Progress {
                        position,
                        attempts,
                        failing_since,
                        next_attempt_at: Utc::now()
                            + chrono::Duration::from_std(IDLE).unwrap_or_default(),
                        keep_lease: None,
                    },
                )
                .await?;
                return Ok(());
            };
            let base = self.public_url.trim_end_matches('/');
            let claims = set_claims(
                &row,
                &crate::oidc::session::issuer(base, hook.tenant_id),
                &hook.url,
                &format!("{base}/scim/v2"),
            );
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.typ = Some("secevent+jwt".into());
            header.kid = Some(key.kid.clone());
            let token = jsonwebtoken::encode(&header, &claims, &key.key)
                .map_err(|e| DbError::Blocking(format!("signing a SET: {e}")))?;
            let answer = push(&self.outbound, &hook.url, &token).await;
            let now = Utc::now();
            let attempt = attempts + 1;
            let (outcome, status, error, advance) = match &answer {
                Answer::Delivered(s) => ("delivered", Some(*s), None, true),
                Answer::Refused(s, body) => ("failed", Some(*s), Some(body.clone()), true),
                Answer::Failed(s, e) => {
                    let since = failing_since.unwrap_or(now);
                    match after_failure(attempt, since, now, self.retry_base) {
                        AfterFailure::GiveUp => ("failed", *s, Some(e.clone()), true),
                        AfterFailure::RetryAt(at) => {
                            let delivery = Attempt {
                                event_id: row.id,
                                attempt,
                                outcome: "retrying",
                                status: *s,
                                error: Some(e.clone()),
                            };
                            self.save(
                                hook,
                                Some(delivery),
                                Progress {
                                    position,
                                    attempts: attempt,
                                    failing_since: Some(since),
                                    next_attempt_at: at,
                                    keep_lease: None,
                                },
                            )
                            .await?;
                            return Ok(());
                        }
                    }
                }
            };
            debug_assert!(advance);
            let delivery = Attempt {
                event_id: row.id,
                attempt,
                outcome,
                status,
                error,
            };
            position = (row.txid, row.id);
            attempts = 0;
            failing_since = None;
            let still_mine = self
                .save(
                    hook,
                    Some(delivery),
                    Progress {
                        position,
                        attempts,
                        failing_since,
                        next_attempt_at: now,
                        keep_lease: Some(LEASE),
                    },
                )
                .await?;
            if !still_mine {
                return Ok(());
            }
        }
        // Delivered a full batch: give others a turn; this one is due again at once.
        self.save(
            hook,
            None,
            Progress {
                position,
                attempts,
                failing_since,
                next_attempt_at: Utc::now(),
                keep_lease: None,
            },
        )
        .await?;
        Ok(())
    }

    /// Records the attempt (if any) and the webhook's progress in one transaction; false
    /// when this node no longer holds the lease (nothing is written then).
    async fn save(
        &self,
        hook: &WebhookRow,
        delivery: Option<Attempt>,
        progress: Progress,
    ) -> Result<bool, DbError> {
        let (hook, node) = (hook.clone(), self.node.clone());
        run_blocking(&self.pool, move |conn| {
            use diesel::Connection;
            conn.transaction::<bool, diesel::result::Error, _>(|conn| {
                if !rows::record_progress(conn, &hook, &node, &progress)? {
                    return Ok(false);
                }
                if let Some(a) = delivery {
                    rows::record_delivery(
                        conn,
                        NewDelivery {
                            tenant_id: hook.tenant_id,
                            webhook_id: hook.id,
                            event_id: a.event_id,
                            attempt: a.attempt,
                            outcome: a.outcome,
                            status_code: a.status.map(i32::from),
                            error: a.error,
                            node: &node,
                        },
                    )?;
                }
                Ok(true)
            })
            .map_err(DbError::from)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_give_up_after_a_day() {
        let start = Utc::now();
        let base = Duration::from_secs(1);
        let wait = |attempts, now| match after_failure(attempts, start, now, base) {
            AfterFailure::RetryAt(at) => (at - now).num_seconds(),
            AfterFailure::GiveUp => -1,
        };
        assert_eq!(wait(1, start), 1);
        assert_eq!(wait(2, start), 2);
        assert_eq!(wait(5, start), 16);
        assert_eq!(wait(40, start), 3600);
        assert_eq!(wait(3, start + chrono::Duration::hours(23)), 4);
        assert_eq!(wait(3, start + GIVE_UP_AFTER), -1);
    }

    #[test]
    fn every_type_has_a_set_event_uri_and_standard_ones_are_used() {
        for t in EventType::ALL {
            assert!(!event_uri(t).is_empty());
        }
        assert!(event_uri(EventType::SessionRevoked).ends_with("caep/event-type/session-revoked"));
        assert!(
            event_uri(EventType::AccessChanged).ends_with("caep/event-type/token-claims-change")
        );
        assert!(event_uri(EventType::UserCreated).starts_with("urn:ietf:params:SCIM:event:prov:"));
    }
}
