//! Waking long-polling feed readers, and pruning old events.
//!
//! Each node keeps one connection that `LISTEN`s on `rolegate_events`; the `events` table's
//! trigger notifies it with the tenant's id when a transaction that wrote events commits (on
//! whichever node). Waiting readers of that tenant then read the feed again. Readers also
//! look again every `FALLBACK_POLL`, so a lost listener connection delays them, never
//! strands them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::prelude::*;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::PgPool;

/// How often a waiting reader looks again without being woken.
pub const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// How often the listener collects notifications that have arrived.
const LISTEN_POLL: Duration = Duration::from_millis(20);

/// Tells waiting feed readers which tenant has new events.
#[derive(Debug, Clone)]
pub struct EventHub {
    sender: Arc<broadcast::Sender<Uuid>>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub {
            sender: Arc::new(broadcast::channel(1024).0),
        }
    }
}

impl EventHub {
    /// Subscribe before reading the feed, so that a commit between the read and the wait
    /// still wakes the reader.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }

    pub fn wake(&self, tenant_id: Uuid) {
        let _ = self.sender.send(tenant_id);
    }

    /// Waits until `tenant_id` has news, `deadline` passes or `FALLBACK_POLL` elapses.
    pub async fn wait(
        receiver: &mut broadcast::Receiver<Uuid>,
        tenant_id: Uuid,
        deadline: tokio::time::Instant,
    ) {
        let until = deadline.min(tokio::time::Instant::now() + FALLBACK_POLL);
        loop {
            match tokio::time::timeout_at(until, receiver.recv()).await {
                Ok(Ok(t)) if t == tenant_id => return,
                Ok(Ok(_)) => continue,
                // Missed some notifications: one of them may have been ours.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => return,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return,
            }
        }
    }

    /// Starts the listener thread for this node; it reconnects after any failure and ends
    /// once the hub is gone (the server stopped).
    pub fn listen(&self, database_url: String) {
        let hub = Arc::downgrade(&self.sender);
        let spawned = std::thread::Builder::new()
            .name("rolegate-events-listener".into())
            .spawn(move || {
                while hub.strong_count() > 0 {
                    if let Err(e) = listen_once(&hub, &database_url) {
                        tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the event listener");
        }
    }
}

/// Listens until the connection fails (an error) or the hub is gone (Ok).
fn listen_once(hub: &Weak<broadcast::Sender<Uuid>>, database_url: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(database_url)?;
    diesel::sql_query("LISTEN rolegate_events").execute(&mut conn)?;
    loop {
        let Some(sender) = hub.upgrade() else {
            return Ok(());
        };
        for notification in conn.notifications_iter() {
            if let Ok(tenant) = notification?.payload.parse::<Uuid>() {
                let _ = sender.send(tenant);
            }
        }
        drop(sender);
        std::thread::sleep(LISTEN_POLL);
    }
}

/// Deletes events older than `retention` every `every`, in batches, for as long as the
/// process runs. Every node may run it; deleting is idempotent.
pub fn start_retention(pool: PgPool, retention: Duration, every: Duration) {
    let spawned = std::thread::Builder::new()
        .name("rolegate-events-retention".into())
        .spawn(move || loop {
            match pool.get() {
                Ok(mut conn) => loop {
                    let pruned =
                        crate::db::events::prune(&mut conn, retention, 10_000).and_then(|n| {
                            crate::db::webhooks::prune_deliveries(&mut conn, retention, 10_000)
                                .map(|m| n + m)
                        });
                    match pruned {
                        Ok(n) if n > 0 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "pruning old events failed");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "pruning old events: no connection"),
            }
            std::thread::sleep(every);
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start event retention");
    }
}
