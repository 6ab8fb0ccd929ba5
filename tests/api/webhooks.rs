//! Webhooks: events pushed to a receiver on loopback as signed Security Event Tokens, retried
//! until accepted, given up on a 400, in order, each verifiable with the tenant's JWKS.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{patch_ops, spawn_app_with, Options, TestApp};

/// What the receiver answers next and what it has been sent.
#[derive(Default)]
struct Receiver {
    /// Answer this many requests with 503 before accepting.
    refuse: usize,
    /// Answer the next request with a 400 (the SET is refused for good).
    reject_next: bool,
    /// Every request: (content type, body, the status answered).
    seen: Vec<(String, String, u16)>,
}

async fn receive(
    req: HttpRequest,
    body: String,
    state: web::Data<Arc<Mutex<Receiver>>>,
) -> HttpResponse {
    let mut r = state.lock().expect("receiver");
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let status = if r.refuse > 0 {
        r.refuse -= 1;
        503
    } else if r.reject_next {
        r.reject_next = false;
        400
    } else {
        202
    };
    r.seen.push((content_type, body, status));
    match status {
        202 => HttpResponse::Accepted().finish(),
        400 => HttpResponse::BadRequest()
            .json(json!({"err": "invalid_request", "description": "not for us"})),
        _ => HttpResponse::ServiceUnavailable().finish(),
    }
}

fn start_receiver(state: Arc<Mutex<Receiver>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .listen(listener)
    .expect("listens")
    .run();
    tokio::spawn(server);
    url
}

async fn jwks(app: &TestApp) -> jsonwebtoken::jwk::JwkSet {
    app.client
        .get(format!(
            "{}/oidc/{}/.well-known/jwks.json",
            app.address, app.tenant_id
        ))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a JWK set")
}

/// Verifies a SET as a receiver would and returns its claims.
fn verify(app: &TestApp, keys: &jsonwebtoken::jwk::JwkSet, url: &str, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let jwk = keys
        .find(header.kid.as_deref().expect("kid"))
        .expect("the SET's key is in the tenant's JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_audience(&[url]);
    validation.set_issuer(&[format!("{}/oidc/{}", app.address, app.tenant_id)]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the SET verifies with the tenant's JWKS")
        .claims
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn events_arrive_signed_in_order_after_refusals_and_a_400_is_given_up() {
    let app = spawn_app_with(Options {
        events_listener: true,
        webhooks: Some(Duration::from_millis(100)),
        ..Options::default()
    })
    .await;
    let receiver = Arc::new(Mutex::new(Receiver {
        refuse: 3,
        ..Receiver::default()
    }));
    let url = start_receiver(receiver.clone());
    let reply = app
        .admin(
            Method::POST,
            "/webhooks",
            Some(&json!({"url": url, "events": ["user.created", "user.deactivated", "session.revoked"]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let hook = reply.body["id"].as_str().expect("id").to_string();

    let mut users = Vec::new();
    for name in ["ann", "ben", "cat"] {
        users.push(app.create_user(name).await);
    }
    let reply = app
        .patch(
            &format!("/Users/{}", users[1]),
            &patch_ops(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // An event type the webhook did not ask for is not sent.
    app.create_group("not-sent", &[]).await;

    let delivered = |r: &Receiver| r.seen.iter().filter(|s| s.2 == 202).count();
    wait_for("five deliveries", || {
        delivered(&receiver.lock().expect("r")) >= 5
    })
    .await;
    let keys = jwks(&app).await;
    let seen = receiver.lock().expect("r").seen.clone();
    assert_eq!(seen.iter().filter(|s| s.2 == 503).count(), 3);
    let mut accepted = Vec::new();
    for (content_type, body, status) in &seen {
        assert_eq!(content_type, "application/secevent+jwt");
        let claims = verify(&app, &keys, &url, body);
        if *status == 202 {
            accepted.push(claims);
        }
    }
    let txns: Vec<i64> = accepted
        .iter()
        .map(|c| c["txn"].as_str().expect("txn").parse().expect("a number"))
        .collect();
    let mut sorted = txns.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(txns, sorted, "delivered out of order or twice");
    let kinds: Vec<String> = accepted
        .iter()
        .map(|c| {
            let events = c["events"].as_object().expect("events");
            assert_eq!(events.len(), 1);
            events.values().next().expect("one")["rolegate_type"]
                .as_str()
                .expect("type")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.created",
            "user.created",
            "user.deactivated",
            "session.revoked"
        ]
    );
    let first = &accepted[0];
    assert_eq!(first["sub_id"], json!({"format": "opaque", "id": users[0]}));
    let created = &first["events"]["urn:ietf:params:SCIM:event:prov:create:notice"];
    assert_eq!(
        created["ref"],
        format!("{}/scim/v2/Users/{}", app.address, users[0])
    );
    assert!(accepted[4]["events"]
        .get("https://schemas.openid.net/secevent/caep/event-type/session-revoked")
        .is_some());

    // A 400 is the receiver's final word on that SET: it is not sent again.
    receiver.lock().expect("r").reject_next = true;
    app.create_user("dan").await;
    app.create_user("eve").await;
    wait_for("two more answers", || {
        receiver.lock().expect("r").seen.len() >= seen.len() + 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = receiver.lock().expect("r").seen.clone();
    assert_eq!(
        after.len(),
        seen.len() + 2,
        "the refused SET was sent again"
    );
    assert_eq!(after[seen.len()].2, 400);
    assert_eq!(after[seen.len() + 1].2, 202);

    let reply = app
        .admin(Method::GET, &format!("/webhooks/{hook}/deliveries"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let outcomes: Vec<(String, Option<i64>)> = reply.body["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .rev()
        .map(|d| {
            (
                d["outcome"].as_str().expect("outcome").to_string(),
                d["status_code"].as_i64(),
            )
        })
        .collect();
    let expected: Vec<(String, Option<i64>)> = [
        ("retrying", 503),
        ("retrying", 503),
        ("retrying", 503),
        ("delivered", 202),
        ("delivered", 202),
        ("delivered", 202),
        ("delivered", 202),
        ("delivered", 202),
        ("failed", 400),
        ("delivered", 202),
    ]
    .iter()
    .map(|(o, s)| (o.to_string(), Some(*s)))
    .collect();
    assert_eq!(outcomes, expected);
    let list = app.admin(Method::GET, "/webhooks", None).await;
    assert_eq!(list.body["webhooks"][0]["attempts"], 0, "{}", list.body);
    assert_eq!(
        app.admin(Method::DELETE, &format!("/webhooks/{hook}"), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn a_webhook_goes_only_where_outbound_calls_may() {
    let app = spawn_app_with(Options {
        outbound_allow: String::new(),
        ..Options::default()
    })
    .await;
    for url in [
        "http://127.0.0.1:9/hook",
        "https://10.0.0.1/hook",
        "ftp://example.com/x",
        "not a url",
    ] {
        let reply = app
            .admin(
                Method::POST,
                "/webhooks",
                Some(&json!({"url": url, "events": ["user.created"]})),
            )
            .await;
        reply.assert_problem(400);
    }
    let reply = app
        .admin(
            Method::POST,
            "/webhooks",
            Some(
                &json!({"url": "https://hooks.example.com/rolegate", "events": ["user.exploded"]}),
            ),
        )
        .await;
    reply.assert_problem(400);
    // Accepted (and never called: no dispatcher runs in this test).
    let reply = app
        .admin(
            Method::POST,
            "/webhooks",
            Some(
                &json!({"url": "https://hooks.example.com/rolegate", "events": ["access.changed"]}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["events"], json!(["access.changed"]));
}
