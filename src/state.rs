//! What every request handler shares.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::db::PgPool;
use crate::oidc::discovery::ProviderDirectory;
use crate::oidc::secrets::SecretBox;
use crate::outbound::Outbound;
use crate::tenant_share::TenantShares;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Largest page a list request returns.
    pub max_page_size: i64,
    /// Externally visible base URL (e.g. `https://rolegate.example.com`); when unset, it
    /// is derived from each request's Host header.
    pub public_url: Option<String>,
    /// Requests per second allowed per connector token; 0 turns limiting off.
    pub rate_limit_per_second: u32,
    /// Requests a token may send at once above the steady rate.
    pub rate_limit_burst: u32,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout_seconds: u64,
    /// Lifetime of the session tokens issued at login.
    pub session_ttl_seconds: i64,
    /// Login starts per second allowed per client address; 0 turns limiting off.
    pub login_rate_limit_per_second: u32,
    /// Requests one tenant may run at once; 0 is half the pool.
    pub tenant_max_connections: u32,
    /// Internal targets outbound calls may reach (`ROLEGATE_OUTBOUND_ALLOW`).
    pub outbound: crate::outbound::Policy,
    /// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: crate::outbound::Networks,
    /// The wait before a webhook delivery's first retry; each further one doubles it.
    pub webhook_retry_base: std::time::Duration,
}

impl Settings {
    /// Settings with every limit at its default, for embedding and tests.
    pub fn new(body_limit: usize, max_page_size: i64, public_url: Option<String>) -> Self {
        Settings {
            body_limit,
            max_page_size,
            public_url,
            rate_limit_per_second: 0,
            rate_limit_burst: 0,
            shutdown_timeout_seconds: 30,
            session_ttl_seconds: 900,
            outbound: crate::outbound::Policy::default(),
            trusted_proxies: crate::outbound::Networks::default(),
            login_rate_limit_per_second: 0,
            tenant_max_connections: 0,
            webhook_retry_base: std::time::Duration::from_secs(1),
        }
    }
}

/// Per-token request rate limiting. Counters live in this process: with several nodes each
/// enforces the limit on the requests it receives.
pub type TokenRateLimiter = DefaultKeyedRateLimiter<Uuid>;

/// Login starts per client address: each start stores a row, and nothing authenticates it.
pub type AddressRateLimiter = DefaultKeyedRateLimiter<IpAddr>;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Settings,
    pub rate_limiter: Option<Arc<TokenRateLimiter>>,
    pub login_rate_limiter: Option<Arc<AddressRateLimiter>>,
    /// Seals client secrets and signing keys at rest.
    pub secrets: SecretBox,
    /// Identity providers' metadata and keys, cached.
    pub providers: Arc<ProviderDirectory>,
    /// Each tenant's share of the pool.
    pub tenant_shares: Arc<TenantShares>,
    /// Wakes long-polling event feed readers.
    pub events: crate::events::hub::EventHub,
}

impl AppState {
    /// Starts this node's webhook dispatcher; `public_url` is the issuer's base.
    pub fn start_webhooks(&self, public_url: String) {
        crate::events::delivery::Dispatcher {
            pool: self.pool.clone(),
            secrets: self.secrets.clone(),
            outbound: crate::outbound::Outbound::new(self.settings.outbound.clone()),
            hub: self.events.clone(),
            public_url,
            retry_base: self.settings.webhook_retry_base,
            // The process id first, so an operator (or a test) can tell which process it is.
            node: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        }
        .start();
    }

    /// State with a random secret key: for tests and benchmarks, where nothing sealed has
    /// to outlive the process.
    pub fn new(pool: PgPool, settings: Settings) -> Self {
        Self::with_secrets(pool, settings, SecretBox::random())
    }

    pub fn with_secrets(pool: PgPool, settings: Settings, secrets: SecretBox) -> Self {
        let rate_limiter = NonZeroU32::new(settings.rate_limit_per_second).map(|rate| {
            let burst = NonZeroU32::new(settings.rate_limit_burst).unwrap_or(rate);
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        let login_rate_limiter =
            NonZeroU32::new(settings.login_rate_limit_per_second).map(|rate| {
                // Bursts of a few logins (a page reload, several tabs) pass.
                let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(4));
                Arc::new(RateLimiter::keyed(
                    Quota::per_second(rate).allow_burst(burst),
                ))
            });
        let providers = Arc::new(ProviderDirectory::new(Outbound::new(
            settings.outbound.clone(),
        )));
        let per_tenant = match settings.tenant_max_connections {
            0 => TenantShares::default_share(pool.max_size()),
            n => n as usize,
        };
        let tenant_shares = Arc::new(TenantShares::new(per_tenant, pool.connection_timeout()));
        AppState {
            events: crate::events::hub::EventHub::default(),
            tenant_shares,
            login_rate_limiter,
            pool,
            settings,
            rate_limiter,
            secrets,
            providers,
        }
    }
}
