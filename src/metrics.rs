//! Prometheus metrics. Labels carry route patterns and outcome kinds only: never tenant
//! names, user data or tokens.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::db::PgPool;

pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    scim_operations: IntCounterVec,
    pool_wait: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    effective_refreshes: IntCounterVec,
    effective_refresh_duration: HistogramVec,
    effective_rows_changed: IntCounterVec,
    oidc_logins: IntCounterVec,
    admin_denied: IntCounterVec,
    tenant_share_refused: prometheus::IntCounter,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("rolegate".into()), None)?;
    let http_requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "HTTP requests by route pattern, method and status",
        ),
        &["route", "method", "status"],
    )?;
    let http_duration = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern and method",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["route", "method"],
    )?;
    let scim_operations = IntCounterVec::new(
        Opts::new(
            "scim_operations_total",
            "SCIM operations by resource, operation and outcome",
        ),
        &["resource", "operation", "outcome"],
    )?;
    let pool_wait = HistogramVec::new(
        HistogramOpts::new(
            "db_pool_wait_seconds",
            "Time spent waiting for a database connection",
        )
        .buckets(vec![
            0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
        ]),
        &["outcome"],
    )?;
    let pool_connections = IntGauge::new("db_pool_connections", "Open database connections")?;
    let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
    let effective_refreshes = IntCounterVec::new(
        Opts::new(
            "effective_role_refreshes_total",
            "Effective-role recomputations by the kind of change that caused them",
        ),
        &["cause"],
    )?;
    let effective_refresh_duration = HistogramVec::new(
        HistogramOpts::new(
            "effective_role_refresh_seconds",
            "Time spent recomputing effective roles, by cause",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["cause"],
    )?;
    let effective_rows_changed = IntCounterVec::new(
        Opts::new(
            "effective_role_rows_changed_total",
            "Effective-role path rows inserted or deleted, by cause",
        ),
        &["cause"],
    )?;
    let oidc_logins = IntCounterVec::new(
        Opts::new(
            "oidc_logins_total",
            "Finished OIDC login callbacks by outcome (`success` or the error code)",
        ),
        &["outcome"],
    )?;
    registry.register(Box::new(oidc_logins.clone()))?;
    let admin_denied = IntCounterVec::new(
        Opts::new(
            "admin_denied_total",
            "Admin requests refused for a missing privilege, by route and privilege",
        ),
        &["route", "privilege"],
    )?;
    registry.register(Box::new(admin_denied.clone()))?;
    let tenant_share_refused = prometheus::IntCounter::new(
        "tenant_share_refused_total",
        "Requests refused with 429 because their tenant's share of the pool stayed busy",
    )?;
    registry.register(Box::new(tenant_share_refused.clone()))?;
    registry.register(Box::new(effective_refreshes.clone()))?;
    registry.register(Box::new(effective_refresh_duration.clone()))?;
    registry.register(Box::new(effective_rows_changed.clone()))?;
    registry.register(Box::new(http_requests.clone()))?;
    registry.register(Box::new(http_duration.clone()))?;
    registry.register(Box::new(scim_operations.clone()))?;
    registry.register(Box::new(pool_wait.clone()))?;
    registry.register(Box::new(pool_connections.clone()))?;
    registry.register(Box::new(pool_idle.clone()))?;
    Ok(Metrics {
        registry,
        http_requests,
        http_duration,
        scim_operations,
        pool_wait,
        pool_connections,
        pool_idle,
        effective_refreshes,
        effective_refresh_duration,
        effective_rows_changed,
        oidc_logins,
        admin_denied,
        tenant_share_refused,
    })
}

/// The process's metrics. Registration of fixed, valid names cannot fail; if it ever did,
/// metrics are simply absent rather than the server failing.
static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| build().ok());

pub fn observe_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let Some(m) = METRICS.as_ref() else { return };
    m.http_requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    m.http_duration
        .with_label_values(&[route, method])
        .observe(elapsed.as_secs_f64());
    if let Some((resource, operation)) = scim_operation(route, method) {
        let outcome = match status {
            200..=399 => "success",
            400..=499 => "client_error",
            _ => "server_error",
        };
        m.scim_operations
            .with_label_values(&[resource, operation, outcome])
            .inc();
    }
}

pub fn observe_pool_wait(elapsed: Duration, ok: bool) {
    if let Some(m) = METRICS.as_ref() {
        m.pool_wait
            .with_label_values(&[if ok { "ok" } else { "timeout" }])
            .observe(elapsed.as_secs_f64());
    }
}

/// One effective-role recomputation; `cause` is a fixed operation kind, never data.
pub fn observe_effective_refresh(cause: &'static str, elapsed: Duration, rows_changed: i64) {
    if let Some(m) = METRICS.as_ref() {
        m.effective_refreshes.with_label_values(&[cause]).inc();
        m.effective_refresh_duration
            .with_label_values(&[cause])
            .observe(elapsed.as_secs_f64());
        m.effective_rows_changed
            .with_label_values(&[cause])
            .inc_by(u64::try_from(rows_changed).unwrap_or(0));
    }
}

/// One admin request refused for a missing privilege; both labels are fixed strings.
pub fn observe_admin_denied(route: &'static str, privilege: &'static str) {
    if let Some(m) = METRICS.as_ref() {
        m.admin_denied.with_label_values(&[route, privilege]).inc();
    }
}

pub fn observe_tenant_share_refused() {
    if let Some(m) = METRICS.as_ref() {
        m.tenant_share_refused.inc();
    }
}

/// One login callback; `outcome` is `success` or a fixed error code, never data.
pub fn observe_oidc_login(outcome: &'static str) {
    if let Some(m) = METRICS.as_ref() {
        m.oidc_logins.with_label_values(&[outcome]).inc();
    }
}

/// The kind of SCIM operation a route and method perform.
fn scim_operation(route: &str, method: &str) -> Option<(&'static str, &'static str)> {
    let rest = route.strip_prefix("/scim/v2/")?;
    let resource = match rest.split('/').next()? {
        "Users" => "Users",
        "Groups" => "Groups",
        "Bulk" => "Bulk",
        ".search" => "Root",
        _ => "Discovery",
    };
    let item = rest.contains("{id}");
    let operation = match (method, item, rest.ends_with(".search")) {
        (_, _, true) => "search",
        ("GET", true, _) => "get",
        ("GET", false, _) => "list",
        ("POST", false, _) if resource == "Bulk" => "bulk",
        ("POST", false, _) => "create",
        ("PUT", true, _) => "replace",
        ("PATCH", true, _) => "patch",
        ("DELETE", true, _) => "delete",
        _ => "other",
    };
    Some((resource, operation))
}

/// The Prometheus text exposition of every metric, pool figures read now.
pub fn render(pool: &PgPool) -> String {
    let Some(m) = METRICS.as_ref() else {
        return String::new();
    };
    let state = pool.state();
    m.pool_connections.set(i64::from(state.connections));
    m.pool_idle.set(i64::from(state.idle_connections));
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&m.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}
