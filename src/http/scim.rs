//! What every SCIM handler shares: authentication, body parsing, query parameters and
//! response building.

use crate::scim::filter::get_ci_field;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::Value;

use super::middleware::RequestTenant;
use crate::db::run_blocking;
use crate::error::{scim_error_response, ScimApiError, SCIM_CONTENT_TYPE};
use crate::provisioning::{tokens, Actor, ListQuery, Paging, Rendered, ScimContext, Sort};
use crate::scim::filter::{parse_attr_path, parse_filter};
use crate::scim::projection::Projection;
use crate::scim::schema::SEARCH_REQUEST_SCHEMA;
use crate::scim::ScimError;
use crate::state::AppState;

/// Default page size when a list request gives no `count`.
pub const DEFAULT_PAGE_SIZE: i64 = 100;

/// An authenticated SCIM request: the tenant and token come from the bearer token.
pub struct Scim(pub ScimContext);

impl FromRequest for Scim {
    type Error = ScimApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = super::bearer_token(req);
        let base_url = base_url(req);
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = state else {
                return Err(ScimError::internal().into());
            };
            let Some(presented) = presented else {
                return Err(ScimError::unauthorized("a bearer token is required").into());
            };
            let verified = run_blocking(&state.pool, move |conn| {
                tokens::verify(conn, &presented, tokens::TokenKind::Scim)
                    .map_err(ScimApiError::from)
            })
            .await?;
            let Some(token) = verified else {
                return Err(ScimError::unauthorized("the bearer token is not valid").into());
            };
            let (tenant_id, token_id) = (token.token.tenant_id, token.token.id);
            req.extensions_mut().insert(RequestTenant(tenant_id));
            if let Some(limiter) = &state.rate_limiter {
                if let Err(not_until) = limiter.check_key(&token_id) {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(
                        &governor::clock::DefaultClock::default(),
                    ));
                    return Err(ScimApiError::RateLimited(wait.as_secs().max(1)));
                }
            }
            let slot = state
                .tenant_shares
                .enter(tenant_id)
                .await
                .map_err(|busy| ScimApiError::TenantBusy(busy.retry_after_seconds))?;
            super::hold_for_request(&req, slot);
            Ok(Scim(ScimContext {
                actor: Actor::token(tenant_id, token_id),
                base_url,
            }))
        })
    }
}

/// The SCIM base URL as clients reach it.
pub fn base_url(req: &HttpRequest) -> String {
    format!("{}/scim/v2", super::public_root(req))
}

/// A JSON request body, accepted as `application/scim+json` or `application/json`, read up
/// to the configured limit.
pub struct ScimBody(pub Value);

impl FromRequest for ScimBody {
    type Error = ScimApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.body_limit)
            .unwrap_or(1024 * 1024);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .map(|s| {
                s.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|h| h.to_str().ok())
            .and_then(|s| s.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if let Some(ct) = &content_type {
                if ct != "application/scim+json" && ct != "application/json" {
                    return Err(ScimError::unsupported_media_type(format!(
                        "requests must be application/scim+json or application/json, not {ct}"
                    ))
                    .into());
                }
            }
            let too_large = || {
                ScimError::payload_too_large(format!(
                    "the request body is larger than {limit} bytes"
                ))
            };
            if declared_length.is_some_and(|l| l > limit) {
                return Err(too_large().into());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| ScimError::invalid_syntax("the request body could not be read"))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large().into());
                }
                body.extend_from_slice(&chunk);
            }
            let value: Value = serde_json::from_slice(&body).map_err(|e| {
                ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
            })?;
            Ok(ScimBody(value))
        })
    }
}

/// A SCIM JSON response.
pub fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        ))
        .body(body.to_string())
}

/// A single resource, with its ETag (and Location when created).
pub fn respond_resource(
    status: StatusCode,
    rendered: &Rendered,
    projection: &Projection,
    resource_type: &crate::scim::schema::ResourceType,
) -> HttpResponse {
    let body = projection.apply(resource_type, rendered.body.clone());
    let mut response = HttpResponse::build(status);
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    ));
    if let Ok(etag) = HeaderValue::from_str(&crate::scim::etag(rendered.version)) {
        response.insert_header((header::ETAG, etag));
    }
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&rendered.location) {
            response.insert_header((header::LOCATION, location));
        }
    }
    response.body(body.to_string())
}

/// `If-None-Match` on a GET: 304 when the client already has this version.
pub fn not_modified(req: &HttpRequest, version: i64) -> Option<HttpResponse> {
    let header = req.headers().get(header::IF_NONE_MATCH)?.to_str().ok()?;
    crate::scim::etag_matches(header, version).then(|| {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, crate::scim::etag(version)))
            .finish()
    })
}

pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct QueryParams {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub cursor: Option<String>,
}

/// Reads query parameters case-insensitively (clients spell them `startindex`, `Count`, …).
pub fn query_params(req: &HttpRequest) -> Result<QueryParams, ScimApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ScimError::invalid_syntax("the query string is malformed"))?;
    let mut q = QueryParams::default();
    for (key, value) in pairs {
        let slot = match key.to_ascii_lowercase().as_str() {
            "filter" => &mut q.filter,
            "startindex" => &mut q.start_index,
            "count" => &mut q.count,
            "attributes" => &mut q.attributes,
            "excludedattributes" => &mut q.excluded_attributes,
            "sortby" => &mut q.sort_by,
            "sortorder" => &mut q.sort_order,
            "cursor" => &mut q.cursor,
            _ => continue,
        };
        *slot = Some(value);
    }
    Ok(q)
}

pub fn projection(q: &QueryParams) -> Result<Projection, ScimApiError> {
    Ok(Projection::parse(
        q.attributes.as_deref(),
        q.excluded_attributes.as_deref(),
    )?)
}

fn integer(name: &str, value: Option<&Value>) -> Result<Option<i64>, ScimError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer"))),
        Some(_) => Err(ScimError::invalid_value(format!(
            "'{name}' must be an integer"
        ))),
    }
}

/// The parts of a list request, as sent.
struct RawListQuery<'a> {
    filter: Option<&'a str>,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<&'a str>,
    sort_order: Option<&'a str>,
    cursor: Option<&'a str>,
    projection: Projection,
}

/// Builds a list query. Index paging follows RFC 7644 §3.4.2.4 (startIndex below 1 means
/// 1, negative count means 0, count above the maximum is capped); a `cursor` parameter
/// (empty for the first page) selects cursor paging (RFC 9865).
fn list_query(raw: RawListQuery<'_>, max_page_size: i64) -> Result<ListQuery, ScimApiError> {
    let filter = match raw.filter.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(parse_filter(f)?),
        None => None,
    };
    let descending = match raw.sort_order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be 'ascending' or 'descending', not '{o}'"
            ))
            .into())
        }
    };
    let sort = match raw.sort_by.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(Sort {
            path: parse_attr_path(s).map_err(|e| ScimError::invalid_value(e.detail))?,
            descending,
        }),
        None => None,
    };
    let paging = match (raw.cursor, raw.start_index) {
        (Some(_), Some(_)) => {
            return Err(
                ScimError::invalid_value("use either 'cursor' or 'startIndex', not both").into(),
            )
        }
        (Some(cursor), None) => Paging::Cursor(Some(cursor.to_string()).filter(|c| !c.is_empty())),
        (None, start) => Paging::Index(start.unwrap_or(1).max(1)),
    };
    Ok(ListQuery {
        filter,
        sort,
        paging,
        count: raw
            .count
            .unwrap_or(DEFAULT_PAGE_SIZE.min(max_page_size))
            .clamp(0, max_page_size),
        projection: raw.projection,
    })
}

pub fn list_query_from_params(
    q: &QueryParams,
    max_page_size: i64,
) -> Result<ListQuery, ScimApiError> {
    let raw = RawListQuery {
        filter: q.filter.as_deref(),
        start_index: integer(
            "startIndex",
            q.start_index.clone().map(Value::String).as_ref(),
        )?,
        count: integer("count", q.count.clone().map(Value::String).as_ref())?,
        sort_by: q.sort_by.as_deref(),
        sort_order: q.sort_order.as_deref(),
        cursor: q.cursor.as_deref(),
        projection: projection(q)?,
    };
    list_query(raw, max_page_size)
}

/// A `POST .search` body (RFC 7644 §3.4.3).
pub fn list_query_from_search(body: &Value, max_page_size: i64) -> Result<ListQuery, ScimApiError> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax("the search request must be a JSON object").into());
    };
    let get = |name: &str| get_ci_field(fields, name);
    if let Some(Value::Array(schemas)) = get("schemas") {
        if !schemas
            .iter()
            .any(|s| s.as_str() == Some(SEARCH_REQUEST_SCHEMA))
        {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' must be [\"{SEARCH_REQUEST_SCHEMA}\"]"
            ))
            .into());
        }
    }
    let names = |name: &str| -> Result<Option<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_string).ok_or_else(|| {
                        ScimError::invalid_value(format!("'{name}' must list attribute names"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(v.join(","))),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!(
                "'{name}' must list attribute names"
            ))),
        }
    };
    let text = |name: &str| -> Result<Option<&str>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) if name == "filter" => {
                Err(ScimError::invalid_filter("'filter' must be a string"))
            }
            Some(_) => Err(ScimError::invalid_value(format!(
                "'{name}' must be a string"
            ))),
        }
    };
    let raw = RawListQuery {
        filter: text("filter")?,
        start_index: integer("startIndex", get("startIndex"))?,
        count: integer("count", get("count"))?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        cursor: text("cursor")?,
        projection: Projection::parse(
            names("attributes")?.as_deref(),
            names("excludedAttributes")?.as_deref(),
        )?,
    };
    list_query(raw, max_page_size)
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    scim_error_response(&ScimError::not_found(format!(
        "no SCIM endpoint at {}",
        req.path()
    )))
}

/// The methods a SCIM endpoint answers, by its route pattern.
fn allowed_methods(pattern: &str) -> &'static str {
    let mut segments = pattern.rsplit('/');
    let last = segments.next().unwrap_or_default();
    let is_endpoint = |segment: &str| crate::provisioning::resource::by_endpoint(segment).is_some();
    match last {
        ".search" | "Bulk" => "POST",
        "{id}" if segments.next().is_some_and(is_endpoint) => "GET, PUT, PATCH, DELETE",
        collection if is_endpoint(collection) => "GET, POST",
        _ => "GET",
    }
}

pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let mut response = scim_error_response(&ScimError::method_not_allowed(format!(
        "{} is not supported on {}",
        req.method(),
        req.path()
    )));
    let allow = allowed_methods(&req.match_pattern().unwrap_or_default());
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    response
}
