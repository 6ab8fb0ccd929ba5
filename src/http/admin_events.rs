//! The change-event feed: `GET /admin/v1/events`, resumable and long-polling.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::admin::{principal_of, Admin};
use super::admin_routes::Answer::Body;
use super::admin_routes::Route;
use crate::access::authorization::{Privilege, Requirement, Target};
use crate::access::AdminContext;
use crate::db::run_blocking;
use crate::error::AdminError;
use crate::events::hub::EventHub;
use crate::events::{self, Cursor, EventType, FeedPage};
use crate::provisioning::tokens::{self, TokenKind};
use crate::state::AppState;

/// Reading events needs what reading the audit log needs.
const FEED: Requirement = Requirement::Tenant(Privilege::ActivityAudit);

/// The longest a feed read waits for an event.
pub const MAX_WAIT_SECONDS: u64 = 30;

pub const ROUTES: &[Route] = &[Route::read(
    "/events",
    |r| r.to(feed),
    FEED,
    "events",
    "Change events in commit order, after a cursor; waits up to `wait` seconds for the first",
    Body(200, "FeedPage"),
    &[
        (
            "after",
            "string",
            "the next_cursor of the previous page; from the oldest kept event when absent",
        ),
        (
            "types",
            "string",
            "comma-separated event types, e.g. access.changed,session.revoked",
        ),
        (
            "limit",
            "integer",
            "at most this many events (1-1000, default 100)",
        ),
        (
            "wait",
            "integer",
            "seconds to wait when there is nothing new (0-30, default 0)",
        ),
    ],
)];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    after: Option<String>,
    types: Option<String>,
    limit: Option<i64>,
    wait: Option<u64>,
}

/// A feed request, parsed: every value known to be usable.
struct FeedRequest {
    after: Option<Cursor>,
    types: Option<Vec<String>>,
    limit: i64,
    wait: Duration,
}

impl TryFrom<FeedQuery> for FeedRequest {
    type Error = AdminError;

    fn try_from(q: FeedQuery) -> Result<Self, AdminError> {
        let after = q
            .after
            .map(|c| c.parse::<Cursor>())
            .transpose()
            .map_err(AdminError::BadRequest)?;
        let types = q
            .types
            .map(|list| {
                list.split(',')
                    .map(|t| {
                        t.trim()
                            .parse::<EventType>()
                            .map(|t| t.as_str().to_string())
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(AdminError::BadRequest)?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(AdminError::BadRequest("limit is between 1 and 1000".into()));
        }
        let wait = q.wait.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            return Err(AdminError::BadRequest(format!(
                "wait is at most {MAX_WAIT_SECONDS} seconds"
            )));
        }
        Ok(FeedRequest {
            after,
            types,
            limit,
            wait: Duration::from_secs(wait),
        })
    }
}

async fn feed(
    state: web::Data<AppState>,
    Admin(ctx): Admin,
    req: HttpRequest,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, AdminError> {
    let request = std::sync::Arc::new(FeedRequest::try_from(query.into_inner())?);
    let deadline = tokio::time::Instant::now() + request.wait;
    let presented = super::bearer_token(&req).ok_or(AdminError::Unauthorized)?;
    // Subscribed before the first read, so that a commit right after it still wakes us.
    let mut news = state.events.subscribe();
    let tenant = ctx.tenant_id;
    let mut ctx = Some(ctx);
    loop {
        let first = ctx.take();
        let (r, presented) = (request.clone(), presented.clone());
        let page: FeedPage = run_blocking(&state.pool, move |conn| {
            // Every read after the first checks the token and the privilege again, so a
            // revoked token or a lost privilege ends the wait at the next look.
            let ctx = match first {
                Some(ctx) => ctx,
                None => recheck(conn, &presented)?,
            };
            ctx.authorize(conn, Target::Tenant)?;
            let page =
                events::read_page(conn, ctx.tenant_id, r.after, r.types.as_deref(), r.limit)?;
            ctx.ensure_authorized()?;
            Ok::<_, AdminError>(page)
        })
        .await?;
        if !page.events.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(HttpResponse::Ok().json(page));
        }
        // Nothing yet: wait without holding a connection or the tenant's slot.
        crate::db::release_request_connection();
        crate::db::release_tenant_slot();
        EventHub::wait(&mut news, tenant, deadline).await;
    }
}

/// The admin context of a token presented again (for each further look of a long poll).
fn recheck(conn: &mut diesel::PgConnection, presented: &str) -> Result<AdminContext, AdminError> {
    let verified =
        tokens::verify(conn, presented, TokenKind::Admin)?.ok_or(AdminError::Unauthorized)?;
    let principal = principal_of(verified.holder)?;
    Ok(AdminContext::for_route(
        verified.token.tenant_id,
        format!("admin-token:{}", verified.token.id),
        principal,
        FEED,
        "GET /admin/v1/events",
    ))
}
