//! Per-request observation: a request id (taken from `X-Request-Id` or generated, and
//! returned), one log line per request, and the HTTP metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use uuid::Uuid;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, for handlers and logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The tenant a request acted for, once authenticated.
#[derive(Debug, Clone, Copy)]
pub struct RequestTenant(pub Uuid);

/// Client-supplied ids are kept only when short and plain, so they cannot forge log lines.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|h| h.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let started = Instant::now();
    let refused = match super::limits::check_head(&req) {
        Some(refused) => Some(refused),
        None => super::limits::check_declared_body(&mut req).await,
    };
    let mut response = match refused {
        Some(refused) => req.into_response(refused).map_into_right_body(),
        None if holds_one_connection(req.path()) => {
            crate::db::with_request_connection(next.call(req))
                .await?
                .map_into_left_body()
        }
        None => next.call(req).await?.map_into_left_body(),
    };
    let elapsed = started.elapsed();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = response.status().as_u16();
    let tenant = response
        .request()
        .extensions()
        .get::<RequestTenant>()
        .map(|t| t.0.to_string());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let https = response
        .request()
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .and_then(|s| s.settings.public_url.as_deref())
        .is_some_and(|url| url.starts_with("https://"));
    secure_headers(response.headers_mut(), https);
    crate::metrics::observe_request(&route, &method, status, elapsed);
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        tenant_id = tenant.as_deref().unwrap_or("-"),
        "request"
    );
    Ok(response)
}

/// SCIM and admin requests check out one connection for all their statements; login
/// requests talk to identity providers between statements and do not hold one meanwhile.
fn holds_one_connection(path: &str) -> bool {
    path.starts_with("/scim/")
        || path.starts_with("/admin/")
        || path == "/api/v1/check"
        // A console sign-in with a provider fetches its metadata: no connection held meanwhile.
        || (path.starts_with("/console/") && !path.starts_with("/console/sign-in/"))
}

/// Headers every answer carries: no content sniffing; HTML pages may not be framed nor
/// load anything; HSTS when the server is reached over https.
pub fn secure_headers(headers: &mut actix_web::http::header::HeaderMap, https: bool) {
    use actix_web::http::header;
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // The console states its own policy (its own styles and scripts); every other page loads
    // nothing.
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}
