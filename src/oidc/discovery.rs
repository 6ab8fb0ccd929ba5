//! Provider metadata and signing keys, fetched with reqwest and cached per issuer. Keys are
//! fetched again when an ID token names a key the cache does not hold, so a provider that
//! rotates its keys keeps working without a restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{IssuerUrl, JsonWebKey};

use crate::error::OidcError;
use crate::outbound::Outbound;

/// How long discovery results are reused before being fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Unknown key ids trigger at most one key fetch per issuer in this interval.
const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

struct Cached {
    metadata: CoreProviderMetadata,
    fetched: Instant,
    /// When an unknown key id last made us fetch the keys.
    keys_refreshed: Option<Instant>,
}

pub struct ProviderDirectory {
    http: Outbound,
    cache: Mutex<HashMap<String, Cached>>,
    /// Issuers whose discovery failed recently, so that a flood of anonymous login starts
    /// does not fetch again and again.
    failed: Mutex<HashMap<String, Instant>>,
}

/// How long a failed discovery is remembered.
const FAILURE_TTL: Duration = Duration::from_secs(30);

impl std::fmt::Debug for ProviderDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderDirectory(..)")
    }
}

impl ProviderDirectory {
    /// Talks to providers through the outbound client (its policy, no redirects — a token
    /// endpoint that redirects must not send our secrets elsewhere — capped bodies).
    pub fn new(http: Outbound) -> Self {
        ProviderDirectory {
            http,
            cache: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
        }
    }

    pub fn http(&self) -> &Outbound {
        &self.http
    }

    fn failed_recently(&self, issuer: &str) -> bool {
        self.failed.lock().is_ok_and(|mut failed| {
            failed.retain(|_, at| at.elapsed() < FAILURE_TTL);
            failed.contains_key(issuer)
        })
    }

    fn remember_failure(&self, issuer: &str) {
        if let Ok(mut failed) = self.failed.lock() {
            failed.insert(issuer.to_string(), Instant::now());
        }
    }

    fn cached(&self, issuer: &str) -> Option<(CoreProviderMetadata, Instant, Option<Instant>)> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(issuer)
            .map(|c| (c.metadata.clone(), c.fetched, c.keys_refreshed))
    }

    fn store(
        &self,
        issuer: &str,
        metadata: CoreProviderMetadata,
        fetched: Instant,
        keys_refreshed: Option<Instant>,
    ) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                issuer.to_string(),
                Cached {
                    metadata,
                    fetched,
                    keys_refreshed,
                },
            );
        }
    }

    /// The provider's metadata with its keys, from the cache while fresh.
    pub async fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        if let Some((metadata, fetched, _)) = self.cached(issuer) {
            if fetched.elapsed() < METADATA_TTL {
                return Ok(metadata);
            }
        }
        if self.failed_recently(issuer) {
            return Err(OidcError::Provider(format!(
                "discovery at {issuer} failed moments ago; not trying again yet"
            )));
        }
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| OidcError::Provider(format!("issuer URL {issuer}: {e}")))?;
        let metadata = match CoreProviderMetadata::discover_async(issuer_url, &self.http).await {
            Ok(metadata) => metadata,
            Err(e) => {
                self.remember_failure(issuer);
                return Err(OidcError::Provider(format!("discovery at {issuer}: {e}")));
            }
        };
        self.store(issuer, metadata.clone(), Instant::now(), None);
        Ok(metadata)
    }

    /// The metadata, with the keys fetched again if none of them is `kid` (the provider
    /// rotated its keys since they were cached).
    pub async fn metadata_with_key(
        &self,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let metadata = self.metadata(issuer).await?;
        let Some(kid) = kid else {
            return Ok(metadata);
        };
        if has_key(metadata.jwks(), kid) {
            return Ok(metadata);
        }
        let recently = self.cached(issuer).is_some_and(|(_, _, refreshed)| {
            refreshed.is_some_and(|at| at.elapsed() < KEY_REFRESH_INTERVAL)
        });
        if recently {
            return Ok(metadata);
        }
        tracing::info!(
            issuer,
            kid,
            "ID token signed with an unknown key; fetching the provider's keys"
        );
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| OidcError::Provider(format!("keys of {issuer}: {e}")))?;
        let fetched = self
            .cached(issuer)
            .map(|(_, f, _)| f)
            .unwrap_or_else(Instant::now);
        let metadata = metadata.set_jwks(keys);
        self.store(issuer, metadata.clone(), fetched, Some(Instant::now()));
        Ok(metadata)
    }
}

fn has_key(keys: &CoreJsonWebKeySet, kid: &str) -> bool {
    keys.keys()
        .iter()
        .any(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
}
