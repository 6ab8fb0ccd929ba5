//! Errors per interface and how they become HTTP responses. Causes are logged, never sent.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::db::{is_invalid_input, is_unavailable, is_unique_violation, DbError, FromDatabase};
use crate::scim::ScimError;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// Everything a SCIM request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ScimApiError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The token sent more requests than its rate allows; retry after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// The tenant's share of the database pool stayed busy; retry after this many seconds.
    #[error("tenant busy")]
    TenantBusy(u64),
}

impl From<diesel::result::Error> for ScimApiError {
    fn from(e: diesel::result::Error) -> Self {
        ScimApiError::Db(DbError::Query(e))
    }
}

impl FromDatabase for ScimApiError {
    fn database_error(&self) -> Option<&diesel::result::Error> {
        match self {
            ScimApiError::Db(e) => e.database_error(),
            _ => None,
        }
    }
}

impl ScimApiError {
    /// The error as the client sees it.
    pub fn to_scim(&self) -> ScimError {
        match self {
            ScimApiError::Scim(e) => e.clone(),
            ScimApiError::Db(DbError::Query(diesel::result::Error::NotFound)) => {
                ScimError::not_found("resource not found")
            }
            ScimApiError::Db(DbError::Query(e)) if is_unique_violation(e) => {
                ScimError::uniqueness("a resource with this unique attribute value already exists")
            }
            ScimApiError::Db(DbError::Query(e)) if is_invalid_input(e) => ScimError::invalid_value(
                "a value holds a character that cannot be stored or is too long",
            ),
            ScimApiError::Db(DbError::Pool(_)) => ScimError::unavailable(),
            ScimApiError::Db(DbError::Query(e)) if is_unavailable(e) => ScimError::unavailable(),
            ScimApiError::Db(_) => ScimError::internal(),
            ScimApiError::RateLimited(_) => {
                ScimError::new(429, None, "too many requests for this token; retry later")
            }
            ScimApiError::TenantBusy(_) => ScimError::new(
                429,
                None,
                "this tenant has too many requests in progress; retry later",
            ),
        }
    }
}

/// Builds a SCIM error response.
pub fn scim_error_response(error: &ScimError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    ));
    if error.status == 401 {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        ));
    }
    response.body(error.to_json().to_string())
}

impl ResponseError for ScimApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.to_scim().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let scim = self.to_scim();
        if scim.status >= 500 {
            tracing::error!(error = %self, "SCIM request failed");
        } else if let ScimApiError::Db(e) = self {
            tracing::debug!(error = %e, "SCIM request refused by the database");
        }
        let mut response = scim_error_response(&scim);
        if let ScimApiError::RateLimited(seconds) | ScimApiError::TenantBusy(seconds) = self {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Everything an admin API request can fail with; answered as RFC 9457 problem details.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A rule of the access model refuses the change; the slug names the rule.
    #[error("{1}")]
    Rule(crate::access::Rule, String),
    /// The request is well-formed but asks for something the model cannot hold.
    #[error("{1}")]
    Unprocessable(&'static str, String),
    #[error("an admin API token is required")]
    Unauthorized,
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The tenant's share of the database pool stayed busy; retry after this many seconds.
    #[error("this tenant has too many requests in progress")]
    TenantBusy(u64),
    /// The request is over a size limit (413 body, 414 URL, 431 headers).
    #[error("{detail}")]
    TooLarge {
        status: u16,
        slug: &'static str,
        detail: String,
    },
    /// The principal lacks the privilege the route needs where it needs it.
    #[error("this needs {} in {}", .0.privilege, .0.scope)]
    Forbidden(crate::access::authorization::Denial),
    /// A fault of Rolegate itself; the text is logged, never sent.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        AdminError::Db(DbError::Query(e))
    }
}

impl FromDatabase for AdminError {
    fn database_error(&self) -> Option<&diesel::result::Error> {
        match self {
            AdminError::Db(e) => e.database_error(),
            _ => None,
        }
    }
}

impl AdminError {
    /// (status, problem type slug, title, detail) as the client sees them.
    pub fn problem(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            AdminError::BadRequest(d) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                d.clone(),
            ),
            AdminError::NotFound(d) => (StatusCode::NOT_FOUND, "not-found", "Not found", d.clone()),
            AdminError::Conflict(d) => (StatusCode::CONFLICT, "conflict", "Conflict", d.clone()),
            AdminError::Rule(rule, d) => (
                StatusCode::CONFLICT,
                rule.slug(),
                "Refused by an access rule",
                d.clone(),
            ),
            AdminError::Unprocessable(slug, d) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                "Unprocessable request",
                d.clone(),
            ),
            AdminError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                self.to_string(),
            ),
            AdminError::MethodNotAllowed(d) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                d.clone(),
            ),
            AdminError::Forbidden(denial) => (
                StatusCode::FORBIDDEN,
                "insufficient-privilege",
                "Insufficient privilege",
                format!(
                    "this needs the privilege {} in {}",
                    denial.privilege, denial.scope
                ),
            ),
            AdminError::TooLarge {
                status,
                slug,
                detail,
            } => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::PAYLOAD_TOO_LARGE),
                slug,
                "Request too large",
                detail.clone(),
            ),
            AdminError::TenantBusy(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "tenant-busy",
                "Too many requests",
                "this tenant has too many requests in progress; retry later".into(),
            ),
            AdminError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "internal server error".into(),
            ),
            AdminError::Db(DbError::Query(diesel::result::Error::NotFound)) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such resource".into(),
            ),
            AdminError::Db(DbError::Query(e)) if is_unique_violation(e) => (
                StatusCode::CONFLICT,
                "uniqueness",
                "Conflict",
                "a resource with this unique value already exists".into(),
            ),
            AdminError::Db(DbError::Query(e)) if is_invalid_input(e) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                "a value holds a character that cannot be stored or is too long".into(),
            ),
            AdminError::Db(DbError::Query(e)) if is_unavailable(e) => unavailable(),
            AdminError::Db(DbError::Pool(_)) => unavailable(),
            AdminError::Db(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "internal server error".into(),
            ),
        }
    }
}

fn unavailable() -> (StatusCode, &'static str, &'static str, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "Service unavailable",
        "the service is temporarily unavailable; retry later".into(),
    )
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem-details body, as the admin API sends it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://rolegate.dev/problems/<slug>`; the slug names the rule or kind of error.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For `insufficient-privilege`: the privilege that was needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privilege: Option<String>,
    /// For `insufficient-privilege`: where it was needed (`tenant`, `environment:<id>`,
    /// `application:<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.problem().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title, detail) = self.problem();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin request failed");
        }
        let body = serde_json::to_string(&Problem {
            kind: format!("https://rolegate.dev/problems/{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            privilege: match self {
                AdminError::Forbidden(d) => Some(d.privilege.key().to_string()),
                _ => None,
            },
            scope: match self {
                AdminError::Forbidden(d) => Some(d.scope.clone()),
                _ => None,
            },
        })
        .unwrap_or_default();
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        ));
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"admin\""),
            ));
        }
        if let AdminError::TenantBusy(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(body)
    }
}

/// Errors of the login flow and the session API (`/oidc`, `/api/v1`). Bodies are JSON
/// `{"error": slug, "error_description": text}`, as OAuth clients expect.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// A refusal the user or the application can act on.
    #[error("{message}")]
    Refused {
        status: u16,
        slug: &'static str,
        message: String,
    },
    /// The identity provider could not be reached or answered nonsense.
    #[error("the identity provider failed: {0}")]
    Provider(String),
    /// Rolegate's own key material failed (a broken stored key, a signing error).
    #[error("{0}")]
    Internal(String),
    #[error("stored secret: {0}")]
    Secret(#[from] crate::oidc::secrets::SecretError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for OidcError {
    fn from(e: diesel::result::Error) -> Self {
        OidcError::Db(DbError::Query(e))
    }
}

impl FromDatabase for OidcError {
    fn database_error(&self) -> Option<&diesel::result::Error> {
        match self {
            OidcError::Db(e) => e.database_error(),
            _ => None,
        }
    }
}

impl OidcError {
    pub fn refused(status: u16, slug: &'static str, message: impl Into<String>) -> Self {
        OidcError::Refused {
            status,
            slug,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::refused(400, "invalid_request", message)
    }

    /// An ID token that fails validation: nothing about the user changes.
    pub fn invalid_id_token(message: impl Into<String>) -> Self {
        Self::refused(401, "invalid_id_token", message)
    }

    /// A uniqueness conflict another transaction caused (e.g. the same person's first login
    /// committing first): trying again sees its result.
    pub fn is_conflict(&self) -> bool {
        match self {
            OidcError::Refused { slug, .. } => *slug == "user_name_taken",
            OidcError::Db(DbError::Query(e)) => is_unique_violation(e),
            _ => false,
        }
    }

    /// The error code clients and metrics see.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The error as a small HTML page, for a person in a browser.
    pub fn page(&self) -> HttpResponse {
        let (status, slug, description) = self.parts();
        let escape = |text: &str| {
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Login failed</title></head>\
             <body><h1>Login failed</h1><p>{}</p><p><small>Error code: {slug}</small></p></body></html>",
            escape(&description)
        );
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .content_type("text/html; charset=utf-8")
            .body(body)
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            OidcError::Refused {
                status,
                slug,
                message,
            } => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                slug,
                message.clone(),
            ),
            OidcError::Provider(_) => (
                StatusCode::BAD_GATEWAY,
                "provider_unavailable",
                "the identity provider could not be reached or answered unexpectedly; retry later"
                    .into(),
            ),
            OidcError::Db(DbError::Query(diesel::result::Error::NotFound)) => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such tenant, provider or user".into(),
            ),
            OidcError::Db(DbError::Pool(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
            OidcError::Db(DbError::Query(e)) if is_invalid_input(e) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "a value holds a character that cannot be stored or is too long".into(),
            ),
            OidcError::Db(DbError::Query(e)) if is_unavailable(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; retry later".into(),
            ),
            OidcError::Db(_) | OidcError::Secret(_) | OidcError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal server error".into(),
            ),
        }
    }
}

impl ResponseError for OidcError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, description) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "login or session request failed");
        } else {
            tracing::info!(error = %self, "login or session request refused");
        }
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED && slug == "invalid_token" {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            ));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        response
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(serde_json::json!({ "error": slug, "error_description": description }))
    }
}
