//! Size limits on the request head and body, answered in the format of the interface the
//! request was for — a SCIM error under `/scim/v2`, a problem under `/admin/v1`, an OAuth
//! error elsewhere — rather than the bare status the HTTP layer would send.

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

use crate::error::{scim_error_response, AdminError, OidcError};
use crate::scim::ScimError;

/// Longest request target (path and query). Filters may be 8 KiB, three times that
/// percent-encoded.
pub const MAX_REQUEST_TARGET: usize = 32 * 1024;
/// Largest total of header names and values. Beyond 128 KiB, or 96 headers, the HTTP layer
/// itself refuses the request with a bare 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// A body declared too large is read and discarded up to this many bytes before the 413,
/// so that the client, still sending, reads the answer instead of a reset connection.
pub const MAX_DISCARDED_BODY: u64 = 16 * 1024 * 1024;
/// Admin API bodies.
pub const ADMIN_BODY_LIMIT: usize = 1024 * 1024;
/// Permission-check bodies (100 checks).
pub const CHECK_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interface {
    Scim,
    Admin,
    Other,
}

fn interface(path: &str) -> Interface {
    if path.starts_with("/scim/") {
        Interface::Scim
    } else if path.starts_with("/admin/") {
        Interface::Admin
    } else {
        Interface::Other
    }
}

fn refusal(path: &str, status: u16, slug: &'static str, detail: String) -> HttpResponse {
    match interface(path) {
        Interface::Scim => scim_error_response(&ScimError::new(status, None, detail)),
        Interface::Admin => AdminError::TooLarge {
            status,
            slug,
            detail,
        }
        .error_response(),
        Interface::Other => OidcError::refused(status, "invalid_request", detail).error_response(),
    }
}

/// 414 for an over-long request target, 431 for over-large headers.
pub fn check_head(req: &ServiceRequest) -> Option<HttpResponse> {
    let path = req.path();
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_REQUEST_TARGET {
        return Some(refusal(
            path,
            414,
            "uri-too-long",
            format!("the request URL is longer than {MAX_REQUEST_TARGET} bytes"),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Some(refusal(
            path,
            431,
            "headers-too-large",
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    None
}

/// The body limit of the request's interface.
fn body_limit(req: &ServiceRequest) -> usize {
    match interface(req.path()) {
        Interface::Admin => ADMIN_BODY_LIMIT,
        _ if req.path() == "/api/v1/check" => CHECK_BODY_LIMIT,
        _ => req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map_or(ADMIN_BODY_LIMIT, |s| s.settings.body_limit),
    }
}

/// 413 for a body whose declared length is over the limit, after reading (and
/// discarding) it when it is not absurdly large.
pub async fn check_declared_body(req: &mut ServiceRequest) -> Option<HttpResponse> {
    let limit = body_limit(req);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())?;
    if declared <= limit as u64 {
        return None;
    }
    let discarded = declared <= MAX_DISCARDED_BODY;
    if discarded {
        let mut payload = req.take_payload();
        while let Some(Ok(_)) = payload.next().await {}
    }
    let mut response = refusal(
        req.path(),
        413,
        "payload-too-large",
        format!("the request body is larger than {limit} bytes"),
    );
    if !discarded {
        // Whatever the client still sends is not read: the connection closes after this.
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_interface_answers_in_its_own_format() {
        assert_eq!(interface("/scim/v2/Users"), Interface::Scim);
        assert_eq!(interface("/admin/v1/roles"), Interface::Admin);
        assert_eq!(interface("/oidc/x/y/login"), Interface::Other);
        let scim = refusal("/scim/v2/Users", 414, "uri-too-long", "long".into());
        assert_eq!(scim.status(), 414);
        assert_eq!(
            scim.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/scim+json")
        );
        let admin = refusal("/admin/v1/roles", 431, "headers-too-large", "big".into());
        assert_eq!(admin.status(), 431);
        assert_eq!(
            admin
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let other = refusal("/api/v1/me", 413, "payload-too-large", "big".into());
        assert_eq!(other.status(), 413);
        assert_eq!(
            other
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
}
