//! Health, readiness, metrics, request ids, logs and rate limits.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Options, USER_SCHEMA};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, as JSON, from the moment it is first asked for.
fn captured_logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
}

fn log_text() -> String {
    captured_logs()
        .0
        .lock()
        .map(|b| String::from_utf8_lossy(&b).to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("answer");
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.expect("json")["status"],
        "ready"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_without_tenant_data() {
    let app = spawn_app().await;
    let id = app.create_user("metered@example.com").await;
    app.get(&format!("/Users/{id}")).await;
    app.get("/Users/nope").await;
    let text = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("text");
    for needle in [
        "rolegate_http_requests_total{method=\"POST\",route=\"/scim/v2/Users\",status=\"201\"}",
        "rolegate_http_requests_total{method=\"GET\",route=\"/scim/v2/Users/{id}\",status=\"404\"}",
        "rolegate_http_request_duration_seconds_bucket{method=\"GET\",route=\"/scim/v2/Users/{id}\"",
        "rolegate_scim_operations_total{operation=\"create\",outcome=\"success\",resource=\"Users\"}",
        "rolegate_scim_operations_total{operation=\"get\",outcome=\"client_error\",resource=\"Users\"}",
        "rolegate_db_pool_wait_seconds_count{outcome=\"ok\"}",
        "rolegate_db_pool_connections",
        "rolegate_db_pool_idle_connections",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    for secret in [
        id.as_str(),
        "metered",
        &app.token,
        &app.tenant_id.to_string(),
    ] {
        assert!(!text.contains(secret), "metrics leak {secret}");
    }
}

#[tokio::test]
async fn request_ids_are_propagated_or_generated() {
    let app = spawn_app().await;
    let given = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("X-Request-Id", "req-abc.123")
        .send()
        .await
        .expect("answer");
    assert_eq!(
        given
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("req-abc.123")
    );
    let generated = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("answer");
    let id = generated
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // A forged id (log injection) is replaced.
    let forged = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "x\" evil=1")
        .send()
        .await
        .expect("answer");
    assert_ne!(
        forged
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("x\" evil=1")
    );
}

#[tokio::test]
async fn one_log_line_per_request_and_no_secrets() {
    captured_logs();
    let app = spawn_app().await;
    let request_id = format!("trace-{}", uuid::Uuid::new_v4());
    let body =
        json!({"schemas": [USER_SCHEMA], "userName": "logged", "password": "Sup3r-Secret-Pw"});
    let reply = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("X-Request-Id", &request_id)
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(reply.status(), 201);
    app.request_as(
        Some("rg_not-a-real-token"),
        reqwest::Method::GET,
        "/Users",
        None,
    )
    .await;
    let logs = log_text();
    let line = logs
        .lines()
        .find(|l| l.contains(&request_id))
        .expect("a line for the request");
    let entry: serde_json::Value = serde_json::from_str(line).expect("json log line");
    assert_eq!(entry["fields"]["status"], 201);
    assert_eq!(entry["fields"]["route"], "/scim/v2/Users");
    assert_eq!(entry["fields"]["tenant_id"], app.tenant_id.to_string());
    assert!(entry["fields"]["latency_ms"].is_number());
    for secret in [app.token.as_str(), "Sup3r-Secret-Pw", "rg_not-a-real-token"] {
        assert!(!logs.contains(secret), "the logs contain {secret}");
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let app = spawn_app_with(Options {
        rate_limit: 2,
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = app.get("/Users").await;
        if reply.status == 429 {
            reply.assert_error(429, None);
            let retry: u64 = reply
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .expect("Retry-After");
            assert!(retry >= 1);
        }
        statuses.push(reply.status);
    }
    assert_eq!(&statuses[..2], [200, 200]);
    assert!(statuses.contains(&429), "{statuses:?}");
    // Another token of the same server is limited separately; unlimited servers never limit.
    let other = app.other_tenant_token();
    assert_eq!(
        app.request_as(Some(&other), reqwest::Method::GET, "/Users", None)
            .await
            .status,
        200
    );
    let free = spawn_app().await;
    for _ in 0..10 {
        assert_eq!(free.get("/Users").await.status, 200);
    }
}
