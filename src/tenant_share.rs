//! Each tenant's share of the database pool. A tenant runs at most `per_tenant` requests
//! at once (each holds at most one pool connection at a time); the rest wait, in arrival
//! order, in their own tenant's queue, not in the pool's. A flood from one tenant — Bulk
//! requests, expensive filters — so fills its own queue while other tenants' requests still
//! find free connections. A request that waits longer than the pool's own connection
//! timeout is refused with 429 and `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Held for the length of a request; the tenant's slot frees when it drops.
pub struct TenantSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// The tenant's share was busy for the whole wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareBusy {
    pub retry_after_seconds: u64,
}

pub struct TenantShares {
    per_tenant: usize,
    wait: Duration,
    queues: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

/// Beyond this many tenants seen, idle tenants' queues are forgotten.
const REMEMBERED: usize = 1024;

impl TenantShares {
    pub fn new(per_tenant: usize, wait: Duration) -> Self {
        TenantShares {
            per_tenant: per_tenant.max(1),
            wait,
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// The default share: half the pool, so that a busy tenant leaves the other half to
    /// everyone else.
    pub fn default_share(pool_size: u32) -> usize {
        (pool_size as usize).div_ceil(2).max(1)
    }

    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    fn queue(&self, tenant: Uuid) -> Arc<Semaphore> {
        let mut queues = self
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if queues.len() >= REMEMBERED && !queues.contains_key(&tenant) {
            // A queue no request holds or waits on has all its permits and one reference.
            let full = self.per_tenant;
            queues.retain(|_, q| Arc::strong_count(q) > 1 || q.available_permits() < full);
        }
        queues
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant)))
            .clone()
    }

    /// Waits for one of the tenant's slots. A request that has to wait gives its pool
    /// connection back first: waiting for its turn must not hold what others need.
    pub async fn enter(&self, tenant: Uuid) -> Result<TenantSlot, ShareBusy> {
        let queue = self.queue(tenant);
        if let Ok(permit) = queue.clone().try_acquire_owned() {
            return Ok(TenantSlot(permit));
        }
        crate::db::release_request_connection();
        let busy = ShareBusy {
            retry_after_seconds: self.wait.as_secs().max(1),
        };
        match tokio::time::timeout(self.wait, queue.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(TenantSlot(permit)),
            _ => {
                crate::metrics::observe_tenant_share_refused();
                Err(busy)
            }
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.queues.lock().map(|q| q.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_slots_only() {
        let shares = TenantShares::new(2, Duration::from_millis(50));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = shares.enter(a).await.expect("a slot");
        let second = shares.enter(a).await.expect("a second slot");
        assert_eq!(
            shares.enter(a).await.err(),
            Some(ShareBusy {
                retry_after_seconds: 1
            })
        );
        assert!(
            shares.enter(b).await.is_ok(),
            "another tenant is not held up"
        );
        drop(first);
        assert!(shares.enter(a).await.is_ok(), "a freed slot is reused");
        drop(second);
    }

    #[tokio::test]
    async fn waiting_requests_are_served_in_arrival_order() {
        let shares = Arc::new(TenantShares::new(1, Duration::from_secs(5)));
        let tenant = Uuid::new_v4();
        let held = shares.enter(tenant).await.expect("a slot");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..3 {
            let (shares, order) = (shares.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _slot = shares.enter(tenant).await.expect("served");
                order.lock().expect("order").push(i);
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(held);
        for w in waiting {
            w.await.expect("joins");
        }
        assert_eq!(*order.lock().expect("order"), [0, 1, 2]);
    }

    #[tokio::test]
    async fn idle_tenants_are_forgotten_once_many_were_seen() {
        let shares = TenantShares::new(1, Duration::from_millis(10));
        let busy = Uuid::new_v4();
        let _held = shares.enter(busy).await.expect("a slot");
        for _ in 0..REMEMBERED + 10 {
            drop(shares.enter(Uuid::new_v4()).await);
        }
        assert!(shares.remembered() <= REMEMBERED + 1);
        assert!(
            shares.enter(busy).await.is_err(),
            "a busy tenant keeps its queue"
        );
        assert_eq!(TenantShares::default_share(10), 5);
        assert_eq!(TenantShares::default_share(1), 1);
        assert_eq!(TenantShares::new(0, Duration::ZERO).per_tenant(), 1);
    }
}
