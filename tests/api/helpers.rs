//! Starts the real server on port 0 against a fresh database per test. The PostgreSQL
//! cluster is the one `DATABASE_URL` points at, or a private embedded cluster shared by the
//! tests of this binary and stopped when the binary exits.

use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Response};
use rolegate::db::embedded::{Durability, EmbeddedCluster};
use rolegate::db::{build_pool, run_migrations, PgPool};
use rolegate::provisioning::tokens::TokenHolder;
use rolegate::provisioning::{tenants, tokens};
use rolegate::state::{AppState, Settings};
use serde_json::Value;
use uuid::Uuid;

const TEMPLATE: &str = "rolegate_test_template";

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct Cluster {
    /// URL without the database name, e.g. `postgres://postgres@127.0.0.1:5432`.
    server_url: String,
    embedded: Option<Mutex<EmbeddedCluster>>,
    dir: Option<std::path::PathBuf>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some(cluster) = CLUSTER.get() {
        if let Some(embedded) = &cluster.embedded {
            if let Ok(mut c) = embedded.lock() {
                c.stop();
            }
        }
        if let Some(dir) = &cluster.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let cluster = match std::env::var("DATABASE_URL") {
            Ok(url) => {
                let server_url = url
                    .rsplit_once('/')
                    .map(|(s, _)| s.to_string())
                    .unwrap_or(url);
                Cluster {
                    server_url,
                    embedded: None,
                    dir: None,
                }
            }
            Err(_) => {
                let dir =
                    std::env::temp_dir().join(format!("rolegate-test-{}", std::process::id()));
                let embedded = EmbeddedCluster::start(&dir, Durability::Ephemeral)
                    .expect("embedded PostgreSQL starts");
                // SAFETY: registering a plain extern "C" function with no captured state.
                unsafe {
                    libc::atexit(stop_cluster);
                }
                Cluster {
                    server_url: format!("postgres://postgres@127.0.0.1:{}", embedded.port()),
                    embedded: Some(Mutex::new(embedded)),
                    dir: Some(dir),
                }
            }
        };
        let mut admin =
            PgConnection::establish(&format!("{}/postgres", cluster.server_url)).expect("connects");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {TEMPLATE}"))
            .execute(&mut admin)
            .expect("drops template");
        diesel::sql_query(format!("CREATE DATABASE {TEMPLATE}"))
            .execute(&mut admin)
            .expect("creates template");
        let mut conn = PgConnection::establish(&format!("{}/{TEMPLATE}", cluster.server_url))
            .expect("connects");
        run_migrations(&mut conn).expect("migrates");
        cluster
    })
}

/// A fresh, migrated database cloned from the template.
pub fn fresh_database() -> String {
    let cluster = cluster();
    let name = format!("test_{}", Uuid::new_v4().simple());
    let mut admin =
        PgConnection::establish(&format!("{}/postgres", cluster.server_url)).expect("connects");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut admin)
        .expect("creates test database");
    format!("{}/{name}", cluster.server_url)
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub base: String,
    pub pool: PgPool,
    pub tenant_id: Uuid,
    pub token: String,
    pub token_id: Uuid,
    pub admin_token: String,
    pub client: reqwest::Client,
}

pub struct Options {
    pub body_limit: usize,
    pub max_page_size: i64,
    /// Requests per second per token; 0 is unlimited.
    pub rate_limit: u32,
    /// Login starts per second per client address; 0 is unlimited.
    pub login_rate_limit: u32,
    pub public_url: Option<String>,
    /// `ROLEGATE_OUTBOUND_ALLOW`; the default opens loopback for the tests' own providers.
    pub outbound_allow: String,
    /// `ROLEGATE_TRUSTED_PROXIES`.
    pub trusted_proxies: String,
    pub pool_size: u32,
    /// How long a request waits for a pool connection (and for its tenant's share).
    pub db_timeout: Duration,
    /// `ROLEGATE_TENANT_MAX_CONNECTIONS`; 0 is half the pool.
    pub tenant_max_connections: u32,
    /// Start the node's event listener (long polls wake at a commit, not at their next look).
    pub events_listener: bool,
    /// Start the node's webhook dispatcher, with this first retry wait.
    pub webhooks: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            body_limit: 64 * 1024,
            max_page_size: 50,
            rate_limit: 0,
            login_rate_limit: 0,
            public_url: None,
            outbound_allow: "127.0.0.0/8".into(),
            trusted_proxies: String::new(),
            pool_size: 4,
            db_timeout: Duration::from_secs(10),
            tenant_max_connections: 0,
            events_listener: false,
            webhooks: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let url = fresh_database();
    let pool = build_pool(&url, options.pool_size, options.db_timeout).expect("pool");
    let (tenant_id, token, token_id, admin_token) = {
        let mut conn = pool.get().expect("connection");
        let tenant = tenants::create(&mut conn, "test", "test").expect("tenant");
        let issued = tokens::create(
            &mut conn,
            tenant.id,
            "test",
            TokenHolder::Connector,
            None,
            "test",
        )
        .expect("token");
        let admin = tokens::create(
            &mut conn,
            tenant.id,
            "admin",
            TokenHolder::Owner,
            None,
            "test",
        )
        .expect("admin token");
        (tenant.id, issued.secret, issued.token.id, admin.secret)
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let mut settings = Settings::new(
        options.body_limit,
        options.max_page_size,
        options.public_url.clone(),
    );
    settings.rate_limit_per_second = options.rate_limit;
    settings.login_rate_limit_per_second = options.login_rate_limit;
    settings.tenant_max_connections = options.tenant_max_connections;
    settings.outbound =
        rolegate::outbound::Policy::parse(&options.outbound_allow).expect("an outbound policy");
    settings.trusted_proxies =
        rolegate::outbound::Networks::parse(&options.trusted_proxies).expect("networks");
    if let Some(base) = options.webhooks {
        settings.webhook_retry_base = base;
    }
    let state = AppState::new(pool.clone(), settings);
    if options.events_listener {
        state.events.listen(url.clone());
    }
    if options.webhooks.is_some() {
        state.start_webhooks(address.clone());
    }
    let server = rolegate::run(listener, state).expect("server starts");
    tokio::spawn(server);
    TestApp {
        database_url: url,
        base: format!("{address}/scim/v2"),
        address,
        pool,
        tenant_id,
        token,
        token_id,
        admin_token,
        client: reqwest::Client::new(),
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts an RFC 9457 problem-details body with this status.
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert!(
            self.body["type"].is_string()
                && self.body["title"].is_string()
                && self.body["detail"].is_string()
        );
    }

    /// Asserts a problem-details body with this status whose type names `slug`.
    pub fn assert_rule(&self, status: u16, slug: &str) {
        self.assert_problem(status);
        assert_eq!(
            self.body["type"],
            format!("https://rolegate.dev/problems/{slug}"),
            "{}",
            self.body
        );
    }

    pub async fn from(response: Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("an id").to_string()
    }

    /// Asserts a SCIM error body with this status and scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "{}",
            self.body
        );
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status.to_string(), "{}", self.body);
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.body);
    }
}

impl TestApp {
    /// A second tenant in the same database, with its own token.
    pub fn other_tenant_token(&self) -> String {
        let mut conn = self.pool.get().expect("connection");
        let tenant = tenants::create(&mut conn, "other", "test").expect("tenant");
        tokens::create(
            &mut conn,
            tenant.id,
            "other",
            TokenHolder::Connector,
            None,
            "test",
        )
        .expect("token")
        .secret
    }

    pub async fn request_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/scim+json"),
                )
                .body(body.to_string());
        }
        Reply::from(request.send().await.expect("request is answered")).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.request_as(Some(&self.token.clone()), method, path, body)
            .await
    }

    /// A request to the admin API (`path` relative to `/admin/v1`) with a given token.
    pub async fn admin_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}/admin/v1{path}", self.address));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        Reply::from(request.send().await.expect("request is answered")).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.admin_as(Some(&self.admin_token.clone()), method, path, body)
            .await
    }

    /// An admin token of this tenant acting as the given user.
    pub fn admin_token_for(&self, user_id: &str) -> String {
        let mut conn = self.pool.get().expect("connection");
        let user = Uuid::parse_str(user_id).expect("a user id");
        tokens::create(
            &mut conn,
            self.tenant_id,
            "personal",
            TokenHolder::User(user),
            None,
            "test",
        )
        .expect("token")
        .secret
    }

    /// An admin token of a second tenant.
    pub fn other_tenant_admin_token(&self) -> String {
        let mut conn = self.pool.get().expect("connection");
        let tenant = tenants::create(&mut conn, "other", "test").expect("tenant");
        tokens::create(
            &mut conn,
            tenant.id,
            "other",
            TokenHolder::Owner,
            None,
            "test",
        )
        .expect("token")
        .secret
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Sends a raw body with a given content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request is answered");
        Reply::from(response).await
    }

    pub async fn create_user(&self, user_name: &str) -> String {
        let reply = self
            .post(
                "/Users",
                &serde_json::json!({"schemas": [USER_SCHEMA], "userName": user_name}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.id()
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let reply = self
            .post("/Groups", &serde_json::json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.id()
    }

    /// (resource type, resource id, operation) of every audit entry, oldest first.
    pub fn audit_trail(&self) -> Vec<(String, String, String)> {
        let mut conn = self.pool.get().expect("connection");
        let mut entries =
            rolegate::db::audit::search(&mut conn, self.tenant_id, &Default::default(), 10_000)
                .expect("audit");
        entries.reverse();
        entries
            .into_iter()
            .map(|e| (e.resource_type, e.resource_id, e.operation))
            .collect()
    }
}

pub fn patch_ops(ops: Value) -> Value {
    serde_json::json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

/// Redactions for snapshots: ids, times, versions and locations change every run.
#[macro_export]
macro_rules! redacted_snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, {
            ".id" => "[id]",
            ".meta.created" => "[time]",
            ".meta.lastModified" => "[time]",
            ".meta.location" => "[location]",
            ".meta.version" => "[version]",
            ".members[].value" => "[id]",
            ".members[].$ref" => "[location]",
            ".groups[].value" => "[id]",
            ".groups[].$ref" => "[location]",
            ".Resources[].id" => "[id]",
            ".Resources[].meta.created" => "[time]",
            ".Resources[].meta.lastModified" => "[time]",
            ".Resources[].meta.location" => "[location]",
            ".Resources[].meta.version" => "[version]",
            ".Resources[].groups[].value" => "[id]",
            ".Resources[].groups[].$ref" => "[location]",
            ".Resources[].members[].value" => "[id]",
            ".Resources[].members[].$ref" => "[location]",
        })
    };
}

/// The sorted member ids of a rendered group.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}
