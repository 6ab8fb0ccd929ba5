//! Configuration, from command-line flags or environment variables:
//!
//! | flag | variable | default | meaning |
//! |---|---|---|---|
//! | `--database-url` | `DATABASE_URL` | unset | PostgreSQL to use; unset starts the embedded cluster |
//! | `--data-dir` | `ROLEGATE_DATA_DIR` | `./rolegate-data` | where the embedded cluster keeps its data |
//! | `--pool-size` | `ROLEGATE_POOL_SIZE` | `10` | database connections per process |
//! | `--db-timeout` | `ROLEGATE_DB_TIMEOUT` | `5` | seconds to wait for a database connection |
//! | `--statement-timeout` | `ROLEGATE_STATEMENT_TIMEOUT` | `30` | seconds one SQL statement may run |
//! | `--log-level` | `ROLEGATE_LOG` | `info` | log filter (`debug`, `rolegate=debug,info`, …) |
//! | `--log-format` | `ROLEGATE_LOG_FORMAT` | `text` | `text` or `json` |
//! | `--listen` | `ROLEGATE_LISTEN` | `127.0.0.1:8080` | address `serve` binds |
//! | `--public-url` | `ROLEGATE_PUBLIC_URL` | from Host | base URL clients reach the server at |
//! | `--body-limit` | `ROLEGATE_BODY_LIMIT` | `1048576` | largest request body, bytes |
//! | `--max-page-size` | `ROLEGATE_MAX_PAGE_SIZE` | `1000` | largest page of a list request |
//! | `--rate-limit` | `ROLEGATE_RATE_LIMIT` | `0` (off) | requests per second per connector token |
//! | `--rate-limit-burst` | `ROLEGATE_RATE_LIMIT_BURST` | the rate | burst above the rate |
//! | `--shutdown-timeout` | `ROLEGATE_SHUTDOWN_TIMEOUT` | `30` | seconds in-flight requests get after SIGTERM |
//! | `--tenant-max-connections` | `ROLEGATE_TENANT_MAX_CONNECTIONS` | `0` (half the pool) | requests one tenant runs at once; more wait in its queue, then 429 |
//! | `--event-retention-days` | `ROLEGATE_EVENT_RETENTION_DAYS` | `7` | days change events stay in the feed |
//! | `--webhook-retry-base-ms` | `ROLEGATE_WEBHOOK_RETRY_BASE_MS` | `1000` | wait before a failed webhook delivery's first retry; doubles per retry (at most 1 h), given up after 24 h |
//! | `--login-rate-limit` | `ROLEGATE_LOGIN_RATE_LIMIT` | `0` (off) | login starts per second per client address (burst 5×) |
//! | `--session-ttl` | `ROLEGATE_SESSION_TTL` | `900` | seconds a login's session token is valid |
//! | `--secret-key` | `ROLEGATE_SECRET_KEY` | from `<data-dir>/secret-key` | base64 of 32 bytes; seals OIDC client secrets and signing keys (every node needs the same) |

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "rolegate",
    version,
    about = "SCIM 2.0 provisioning server and OIDC claim mapper"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL; when unset, an embedded cluster is started.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory of the embedded cluster.
    #[arg(
        long,
        env = "ROLEGATE_DATA_DIR",
        default_value = "rolegate-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database connections per process.
    #[arg(long, env = "ROLEGATE_POOL_SIZE", default_value_t = 10, global = true)]
    pub pool_size: u32,
    /// Seconds to wait for a database connection before failing the request.
    #[arg(long, env = "ROLEGATE_DB_TIMEOUT", default_value_t = 5, global = true)]
    pub db_timeout: u64,
    /// Seconds any one SQL statement may run before PostgreSQL cancels it.
    #[arg(
        long,
        env = "ROLEGATE_STATEMENT_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub statement_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter, e.g. `info` or `rolegate=debug,info`.
    #[arg(long, env = "ROLEGATE_LOG", default_value = "info", global = true)]
    pub log_level: String,
    /// Log line format.
    #[arg(long, env = "ROLEGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage SCIM connector and admin API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Invite users from a CSV file.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Check or rebuild the materialised effective roles.
    #[command(subcommand, name = "effective-roles")]
    EffectiveRoles(EffectiveRolesCommand),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Invite every row of a CSV file (header `email,name,external_id,environment,role,
    /// end_user_groups`); prints the per-row report as JSON.
    Import {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        file: std::path::PathBuf,
        /// Report what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EffectiveRolesCommand {
    /// Compare the maintained effective roles with a from-scratch recomputation; exits
    /// with status 1 when they differ.
    Verify {
        #[arg(long)]
        tenant: Uuid,
    },
    /// Recompute a tenant's effective roles from scratch, repairing any difference.
    Rebuild {
        #[arg(long)]
        tenant: Uuid,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROLEGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL clients reach this server at (used in `Location` and `meta.location`).
    #[arg(long, env = "ROLEGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "ROLEGATE_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Largest page a list request returns.
    #[arg(long, env = "ROLEGATE_MAX_PAGE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_page_size: i64,
    /// Requests per second allowed per connector token (0: no limit).
    #[arg(long, env = "ROLEGATE_RATE_LIMIT", default_value_t = 0)]
    pub rate_limit: u32,
    /// Requests a token may send in a burst above the rate (default: the rate).
    #[arg(long, env = "ROLEGATE_RATE_LIMIT_BURST", default_value_t = 0)]
    pub rate_limit_burst: u32,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    #[arg(long, env = "ROLEGATE_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Login starts per second allowed per client address (0: no limit); the burst is five
    /// times the rate. Behind a proxy every client has the proxy's address: limit there.
    #[arg(long, env = "ROLEGATE_LOGIN_RATE_LIMIT", default_value_t = 0)]
    pub login_rate_limit: u32,
    /// Requests one tenant may run at once, each holding at most one pool connection (0:
    /// half the pool). More wait in the tenant's own queue, then get 429.
    #[arg(long, env = "ROLEGATE_TENANT_MAX_CONNECTIONS", default_value_t = 0)]
    pub tenant_max_connections: u32,
    /// Days change events are kept for the feed; older ones are deleted (every node prunes).
    #[arg(long, env = "ROLEGATE_EVENT_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub event_retention_days: u32,
    /// Milliseconds before a failed webhook delivery is first retried; each retry waits
    /// twice as long as the one before (at most an hour); an event is given up after 24 h.
    #[arg(long, env = "ROLEGATE_WEBHOOK_RETRY_BASE_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub webhook_retry_base_ms: u64,
    /// Internal targets that outbound calls (OIDC discovery, keys, token endpoints) may
    /// reach besides public https addresses: comma-separated `host:port` or CIDR networks,
    /// e.g. `keycloak.corp:8443,10.20.0.0/16`.
    #[arg(long, env = "ROLEGATE_OUTBOUND_ALLOW", default_value = "", value_parser = crate::outbound::Policy::parse)]
    pub outbound_allow: crate::outbound::Policy,
    /// Proxies (addresses or CIDR networks, comma-separated) whose `Forwarded` and
    /// `X-Forwarded-Host`/`-Proto` headers are believed when `ROLEGATE_PUBLIC_URL` is unset.
    /// Requests from anywhere else cannot choose the URLs Rolegate hands out.
    #[arg(long, env = "ROLEGATE_TRUSTED_PROXIES", default_value = "", value_parser = crate::outbound::Networks::parse)]
    pub trusted_proxies: crate::outbound::Networks,
    /// Seconds a session token issued at login is valid.
    #[arg(long, env = "ROLEGATE_SESSION_TTL", default_value_t = 900, value_parser = clap::value_parser!(i64).range(30..=86400))]
    pub session_ttl: i64,
    /// Key sealing OIDC client secrets and session signing keys at rest (base64 of 32
    /// bytes). Unset: kept in `<data-dir>/secret-key`, created on first start. Nodes
    /// sharing a database must share this key.
    #[arg(long, env = "ROLEGATE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (with its first connector token).
    Create {
        #[arg(long)]
        name: String,
        /// Make it a managed workspace of this tenant (by id).
        #[arg(long)]
        parent: Option<Uuid>,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long, default_value = "scim")]
        name: String,
        /// `scim` for a provisioning connector, `admin` for the admin API, `check` for an
        /// application's permission checks (`/api/v1/check`) only.
        #[arg(long, value_enum, default_value_t = crate::provisioning::tokens::TokenKind::Scim)]
        kind: crate::provisioning::tokens::TokenKind,
        /// For an admin token: the userName of the person it acts as, with exactly that
        /// person's effective privileges at each request. Without it an admin token is an
        /// *owner* token: full access, for bootstrap and automation.
        #[arg(long)]
        user: Option<String>,
        /// Lifetime, e.g. `90d`, `12h`, `30m`, `3600s`; none: until revoked.
        #[arg(long, value_parser = parse_lifetime)]
        expires_in: Option<chrono::Duration>,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[arg(long)]
        tenant: Uuid,
    },
    /// Revoke a token: requests using it are refused from now on.
    Revoke {
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        id: Uuid,
    },
}

/// A token lifetime: a positive number followed by `s`, `m`, `h` or `d` (at most ten years).
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: s, m, h or d"))?;
    let (number, unit) = text.split_at(unit_at);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number"))?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(|| format!("{text:?}: the unit is s, m, h or d"))?;
    if seconds <= 0 || seconds > 3650 * 86_400 {
        return Err(format!("{text:?} is not between 1s and 3650d"));
    }
    Ok(chrono::Duration::seconds(seconds))
}

#[cfg(test)]
mod lifetime_tests {
    use super::parse_lifetime;

    #[test]
    fn lifetimes_parse_with_their_unit() {
        assert_eq!(parse_lifetime("90d").unwrap().num_days(), 90);
        assert_eq!(parse_lifetime("12h").unwrap().num_hours(), 12);
        assert_eq!(parse_lifetime("30m").unwrap().num_minutes(), 30);
        assert_eq!(parse_lifetime("3600s").unwrap().num_seconds(), 3600);
    }

    #[test]
    fn bad_lifetimes_are_refused() {
        for bad in [
            "",
            "d",
            "10",
            "0d",
            "-1d",
            "10y",
            "3651d",
            "1.5h",
            "99999999999999999999d",
            "5 d",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
