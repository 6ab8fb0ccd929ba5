//! PostgreSQL access: the connection pool, the one helper that runs blocking Diesel code,
//! embedded migrations, the embedded cluster, and the queries per table.

pub mod applications;
pub mod assignments;
pub mod audit;
pub mod authorization;
pub mod collaborator_groups;
pub mod console_sessions;
pub mod embedded;
pub mod end_user_groups;
pub mod environments;
pub mod events;
pub mod filter;
pub mod group_mappings;
pub mod groups;
pub mod invitations;
pub mod moderators;
pub mod oidc;
pub mod query;
pub mod role_suggestions;
pub mod roles;
pub mod schema;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspaces;

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::tenant_share::TenantSlot;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why a database call failed, before the interface decides what to answer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

/// Sets per-connection limits as connections are opened.
#[derive(Debug)]
struct ConnectionSettings {
    statement_timeout: Duration,
}

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for ConnectionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        // JIT compilation pays off for long analytical queries, not for this workload: a
        // refresh of 100,000 users spent 120 ms compiling 300 functions to save less.
        conn.batch_execute(&format!(
            "SET statement_timeout = {}; SET jit = off",
            self.statement_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool whose connections cancel statements running longer than `statement_timeout`,
/// and whose callers wait at most `timeout` for a connection. The pool does not need the
/// database to be up: connections are made (and remade after a failure) on demand.
pub fn build_pool(database_url: &str, size: u32, timeout: Duration) -> anyhow::Result<PgPool> {
    build_pool_with(database_url, size, timeout, Duration::from_secs(30))
}

pub fn build_pool_with(
    database_url: &str,
    size: u32,
    timeout: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        // No `SELECT 1` on checkout (a round trip on every request, a third of a user
        // read's time): a connection whose server went away (a restart, a failover) is
        // found by the statement that fails on it, which `run_blocking` answers with 503
        // and whose connection it discards (`discard_if_unusable`) — so after a restart
        // each idle connection fails one request, which clients retry.
        .test_on_check_out(false)
        .connection_timeout(timeout)
        .connection_customizer(Box::new(ConnectionSettings { statement_timeout }))
        .build_unchecked(manager);
    Ok(pool)
}

/// Applies every pending migration.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    Ok(())
}

/// What one request holds while it runs: the connection it checked out (kept for its later
/// statements, so that the token check and the work share one checkout) and its tenant's
/// slot (see `tenant_share`).
#[derive(Default)]
struct RequestHold {
    conn: Option<PgPooled>,
    /// Shared with every blocking call of the request, so that a client that disconnects
    /// does not free its tenant's slot while its statement still runs.
    slot: Option<std::sync::Arc<TenantSlot>>,
}

tokio::task_local! {
    /// Set for SCIM, admin and check requests by the request middleware; login requests,
    /// which call identity providers between statements, check out per statement.
    static REQUEST_HOLD: std::cell::RefCell<RequestHold>;
}

/// Runs `future` (one request) with a slot that `run_blocking` fills with a connection on
/// first use and reuses after; everything held goes back when the request is done.
pub async fn with_request_connection<F: std::future::Future>(future: F) -> F::Output {
    REQUEST_HOLD
        .scope(std::cell::RefCell::new(RequestHold::default()), future)
        .await
}

/// Gives the request's connection back to the pool, before the request waits for
/// something other than the database (its tenant's turn, the rest of its body).
pub fn release_request_connection() {
    let _ = REQUEST_HOLD.try_with(|hold| hold.borrow_mut().conn.take());
}

/// Gives the tenant's slot back before the request waits for a long time (a long poll);
/// its later statements run outside the share.
pub fn release_tenant_slot() {
    let _ = REQUEST_HOLD.try_with(|hold| hold.borrow_mut().slot.take());
}

/// Keeps the tenant's slot for the rest of the request (and for any statement of it still
/// running). Outside a request scope the slot is handed back for the caller to hold.
pub fn hold_tenant_slot(slot: TenantSlot) -> Option<TenantSlot> {
    let mut slot = Some(slot);
    let _ = REQUEST_HOLD.try_with(|hold| {
        hold.borrow_mut().slot = slot.take().map(std::sync::Arc::new);
    });
    slot
}

fn take_request_connection() -> (Option<PgPooled>, Option<std::sync::Arc<TenantSlot>>) {
    REQUEST_HOLD
        .try_with(|hold| {
            let mut hold = hold.borrow_mut();
            (hold.conn.take(), hold.slot.clone())
        })
        .unwrap_or((None, None))
}

fn keep_request_connection(conn: PgPooled) {
    let _ = REQUEST_HOLD.try_with(|hold| {
        let mut hold = hold.borrow_mut();
        if hold.conn.is_none() {
            hold.conn = Some(conn);
        }
    });
}

/// Runs synchronous Diesel code on the blocking thread pool, with the request's connection
/// or one taken from the pool inside the closure's thread. This is the only place that
/// touches the pool from request handlers.
pub async fn run_blocking<F, T, E>(pool: &PgPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + FromDatabase + Send + 'static,
{
    let pool = pool.clone();
    let (held, slot) = take_request_connection();
    let (result, conn) = actix_web::web::block(move || {
        let _slot = slot;
        let mut conn = match held {
            Some(conn) => conn,
            None => {
                let waited = std::time::Instant::now();
                let conn = pool.get();
                crate::metrics::observe_pool_wait(waited.elapsed(), conn.is_ok());
                match conn {
                    Ok(conn) => conn,
                    Err(e) => return (Err(E::from(DbError::from(e))), None),
                }
            }
        };
        let result = f(&mut conn);
        if let Err(e) = &result {
            if e.database_error().is_some_and(is_unavailable) {
                discard_if_unusable(&mut conn);
            }
        }
        (result, Some(conn))
    })
    .await
    .map_err(|e| E::from(DbError::Blocking(e.to_string())))?;
    // A connection whose statement failed is not kept for the request's later statements:
    // it goes back to the pool (or is closed, when `discard_if_unusable` found it dead).
    if let Some(conn) = conn {
        if result.is_ok() {
            keep_request_connection(conn);
        }
    }
    result
}

/// An interface error that may carry a failure the database reported.
pub trait FromDatabase {
    fn database_error(&self) -> Option<&diesel::result::Error>;
}

impl FromDatabase for DbError {
    fn database_error(&self) -> Option<&diesel::result::Error> {
        match self {
            DbError::Query(e) => Some(e),
            DbError::Pool(_) | DbError::Blocking(_) => None,
        }
    }
}

/// After a failed call: a connection whose server is gone, or is a standby (a primary
/// demoted in a failover, or a host name that now points at a standby), is marked broken, so
/// the pool closes it instead of handing it out again and the next checkout connects anew
/// — through a multi-host URL with `target_session_attrs=read-write`, to the new primary.
/// A connection to a healthy primary is kept (one cheap round trip, on failures only).
fn discard_if_unusable(conn: &mut PgConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if AnsiTransactionManager::is_broken_transaction_manager(conn) {
        return;
    }
    let usable = matches!(server_role(conn), Ok(ServerRole::Primary));
    if !usable {
        AnsiTransactionManager::transaction_manager_status_mut(conn).set_in_error();
    }
}

/// Whether the connected server takes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRole {
    Primary,
    /// A standby (in recovery) or a server whose sessions default to read-only.
    ReadOnly,
}

pub fn server_role(conn: &mut PgConnection) -> diesel::QueryResult<ServerRole> {
    use diesel::sql_types::Bool;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        read_only: bool,
    }
    let row: Row = diesel::sql_query(
        "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only",
    )
    .get_result(conn)?;
    Ok(if row.read_only {
        ServerRole::ReadOnly
    } else {
        ServerRole::Primary
    })
}

/// Errors meaning "the database is not answering right now" (lost connection, server
/// shutting down, statement timeout, a standby that cannot take writes — during a failover,
/// or when the configured host is not the primary): the request may be retried, so they
/// are 503s.
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            // A write sent to a standby (SQLSTATE 25006).
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        ) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message().to_ascii_lowercase();
            [
                "terminating connection",
                "server closed the connection",
                "connection",
                "shutting down",
                "statement timeout",
                "canceling statement",
                "read-only transaction",
                "recovery is in progress",
                "during recovery",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// Whether PostgreSQL refused a value the client sent: a character it cannot store (NUL),
/// a value too long for its column or for an index entry. Input checks refuse these
/// first with a clearer message; this is the net under them, so that such a value is a
/// client error and never a 500.
pub fn is_invalid_input(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            [
                "invalid byte sequence",
                "index row",
                "value too long",
                "out of range",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Whether an error is PostgreSQL's unique violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A search term as a `LIKE` pattern's body: case-folded like the indexed columns, with
/// `%`, `_` and `\` taken literally.
pub fn like_pattern(search: &str) -> String {
    crate::casefold::fold(search)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
