//! The command-line commands.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context;

use crate::access::{self, effective, AdminContext, MutationOptions};
use crate::config::{
    Cli, Command, DatabaseArgs, EffectiveRolesCommand, ServeArgs, TenantCommand, TokenCommand,
    UsersCommand,
};
use crate::db::embedded::{Durability, EmbeddedCluster};
use crate::db::{build_pool_with, run_migrations, tenants, tokens as token_rows, PgPool};
use crate::oidc::secrets::SecretBox;
use crate::provisioning::tokens::{TokenHolder, TokenKind};
use crate::provisioning::{tenants as tenant_ops, tokens};
use crate::state::{AppState, Settings};

const CLI_ACTOR: &str = "cli";
const EMBEDDED_DATABASE: &str = "rolegate";

/// An open database: the pool, and the embedded cluster when one was started (stopped when
/// this is dropped).
pub struct Database {
    pub pool: PgPool,
    /// For connections outside the pool (the event listener).
    pub url: String,
    pub cluster: Option<EmbeddedCluster>,
}

impl Database {
    pub fn open(args: &DatabaseArgs) -> anyhow::Result<Self> {
        let (url, cluster) = match &args.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let cluster = EmbeddedCluster::start(&args.data_dir, Durability::Full)
                    .context("starting the embedded PostgreSQL")?;
                cluster.ensure_database(EMBEDDED_DATABASE)?;
                (cluster.url(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        let pool = build_pool_with(
            &url,
            args.pool_size,
            Duration::from_secs(args.db_timeout),
            Duration::from_secs(args.statement_timeout),
        )
        .context("connecting to PostgreSQL")?;
        let mut conn = pool.get()?;
        run_migrations(&mut conn)?;
        Ok(Database { pool, url, cluster })
    }
}

pub async fn execute(cli: Cli) -> anyhow::Result<()> {
    let database = Database::open(&cli.database)?;
    match cli.command {
        Command::Serve(args) => serve(database, &cli.database, args).await,
        Command::Migrate => {
            println!("migrations are up to date");
            Ok(())
        }
        Command::Tenant(cmd) => tenant(&database, cmd),
        Command::Token(cmd) => token(&database, cmd),
        Command::Users(cmd) => users(&database, cmd),
        Command::EffectiveRoles(cmd) => effective_roles(&database, cmd),
    }
}

async fn serve(database: Database, db_args: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr()?;
    let public = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    bootstrap_first_tenant(&database.pool, &public)?;
    if args.public_url.is_none() {
        let mut conn = database.pool.get()?;
        if crate::db::oidc::any_provider(&mut conn)? {
            tracing::warn!(listen = %address, "OIDC providers are configured but ROLEGATE_PUBLIC_URL is unset: login redirect URIs and session issuers use the listen address; set it to the URL browsers reach");
        }
    }
    let secrets = match &args.secret_key {
        Some(key) => SecretBox::from_base64(key).context("ROLEGATE_SECRET_KEY")?,
        None => {
            let path = db_args.data_dir.join("secret-key");
            if database.cluster.is_none() {
                tracing::warn!(path = %path.display(), "no ROLEGATE_SECRET_KEY: using a key file; every node sharing this database needs the same key");
            }
            SecretBox::from_file(&path)
                .with_context(|| format!("secret key file {}", path.display()))?
        }
    };
    let state = AppState::with_secrets(
        database.pool.clone(),
        Settings {
            body_limit: args.body_limit,
            max_page_size: args.max_page_size,
            public_url: args.public_url,
            rate_limit_per_second: args.rate_limit,
            rate_limit_burst: args.rate_limit_burst,
            shutdown_timeout_seconds: args.shutdown_timeout,
            session_ttl_seconds: args.session_ttl,
            login_rate_limit_per_second: args.login_rate_limit,
            tenant_max_connections: args.tenant_max_connections,
            outbound: args.outbound_allow,
            trusted_proxies: args.trusted_proxies,
            webhook_retry_base: Duration::from_millis(args.webhook_retry_base_ms),
        },
        secrets,
    );
    state.events.listen(database.url.clone());
    state.start_webhooks(public.clone());
    crate::events::hub::start_retention(
        database.pool.clone(),
        Duration::from_secs(u64::from(args.event_retention_days) * 86_400),
        Duration::from_secs(300),
    );
    tracing::info!(%address, "Rolegate is listening; SCIM base URL {public}/scim/v2");
    crate::run(listener, state)?.await?;
    tracing::info!("stopped serving");
    drop(database);
    Ok(())
}

/// On the very first start there is no tenant: create one with a connector token and show
/// the token once, so the server is usable straight away.
fn bootstrap_first_tenant(pool: &PgPool, public: &str) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    if tenants::any_exists(&mut conn)? {
        return Ok(());
    }
    let tenant = tenant_ops::create(&mut conn, "default", CLI_ACTOR)?;
    let issued = tokens::create(
        &mut conn,
        tenant.id,
        "initial",
        TokenHolder::Connector,
        None,
        CLI_ACTOR,
    )?;
    println!("Created the first tenant {} (\"default\").", tenant.id);
    println!("SCIM base URL:  {public}/scim/v2");
    println!("SCIM token:     {}", issued.secret);
    println!(
        "The token is shown only now; create more with `rolegate token create --tenant {}`.",
        tenant.id
    );
    Ok(())
}

fn tenant(database: &Database, cmd: TenantCommand) -> anyhow::Result<()> {
    let mut conn = database.pool.get()?;
    match cmd {
        TenantCommand::Create { name, parent } => {
            let tenant = match parent {
                Some(parent) => tenant_ops::create_managed(&mut conn, &name, parent, CLI_ACTOR)?,
                None => tenant_ops::create(&mut conn, &name, CLI_ACTOR)?,
            };
            let issued = tokens::create(
                &mut conn,
                tenant.id,
                "initial",
                TokenHolder::Connector,
                None,
                CLI_ACTOR,
            )?;
            println!("tenant: {}", tenant.id);
            println!("token:  {}", issued.secret);
        }
        TenantCommand::List => {
            for t in tenants::list(&mut conn)? {
                let parent = t.parent_id.map(|p| p.to_string()).unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{parent}",
                    t.id,
                    t.name,
                    t.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}

fn token(database: &Database, cmd: TokenCommand) -> anyhow::Result<()> {
    let mut conn = database.pool.get()?;
    match cmd {
        TokenCommand::Create {
            tenant,
            name,
            kind,
            user,
            expires_in,
        } => {
            tenants::find(&mut conn, tenant).context("no such tenant")?;
            let user_id = match user {
                Some(user_name) => Some(
                    crate::db::users::find_by_user_name(&mut conn, tenant, &user_name)
                        .context("no user with that userName in the tenant")?,
                ),
                None => None,
            };
            let holder = match (kind, user_id) {
                (TokenKind::Scim, None) => TokenHolder::Connector,
                (TokenKind::Scim, Some(_)) => {
                    anyhow::bail!("a SCIM connector token is bound to no user; drop --user")
                }
                (TokenKind::Admin, None) => TokenHolder::Owner,
                (TokenKind::Admin, Some(user)) => TokenHolder::User(user),
                (TokenKind::Check, None) => TokenHolder::Application,
                (TokenKind::Check, Some(_)) => {
                    anyhow::bail!("a check token is bound to no user; drop --user")
                }
            };
            let expires_at = expires_in.map(|d| chrono::Utc::now() + d);
            let issued = tokens::create(&mut conn, tenant, &name, holder, expires_at, CLI_ACTOR)?;
            println!("id:    {}", issued.token.id);
            println!("kind:  {}", crate::access::tokens::kind_of(&issued.token));
            println!("token: {}", issued.secret);
        }
        TokenCommand::List { tenant } => {
            println!("id\tname\tkind\tuser\tcreated\texpires\tlast used\tstate");
            let time = |t: Option<chrono::DateTime<chrono::Utc>>, none: &str| {
                t.map_or_else(|| none.to_string(), |t| t.to_rfc3339())
            };
            for t in token_rows::list(&mut conn, tenant)? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.to_rfc3339()),
                    None if t.expires_at.is_some_and(|at| at <= chrono::Utc::now()) => {
                        "expired".to_string()
                    }
                    None if !t.owner && t.kind == "admin" && t.user_id.is_none() => {
                        "user deleted".to_string()
                    }
                    None => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    crate::access::tokens::kind_of(&t),
                    t.user_id.map_or_else(|| "-".to_string(), |u| u.to_string()),
                    t.created_at.to_rfc3339(),
                    time(t.expires_at, "never"),
                    time(t.last_used_at, "never"),
                    state
                );
            }
        }
        TokenCommand::Revoke { tenant, id } => {
            tokens::revoke(&mut conn, tenant, id, CLI_ACTOR).context("no such active token")?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn users(database: &Database, cmd: UsersCommand) -> anyhow::Result<()> {
    let mut conn = database.pool.get()?;
    match cmd {
        UsersCommand::Import {
            tenant,
            file,
            dry_run,
        } => {
            tenants::find(&mut conn, tenant).context("no such tenant")?;
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let ctx = AdminContext::internal(tenant, CLI_ACTOR);
            // The invitation links point where users reach the server.
            let public_url = std::env::var("ROLEGATE_PUBLIC_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:8080".to_string());
            let options = MutationOptions {
                dry_run,
                confirm_self_lockout: false,
            };
            let outcome =
                access::mutate(&mut conn, &ctx, options, "user_import", |conn, pending| {
                    access::users::import_csv(conn, &ctx, pending, &body, &public_url)
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&outcome)?);
        }
    }
    Ok(())
}

fn effective_roles(database: &Database, cmd: EffectiveRolesCommand) -> anyhow::Result<()> {
    let mut conn = database.pool.get()?;
    match cmd {
        EffectiveRolesCommand::Verify { tenant } => {
            tenants::find(&mut conn, tenant).context("no such tenant")?;
            let drift = effective::drift(&mut conn, tenant)?;
            let (missing, extra) = (drift.missing, drift.extra);
            println!("paths: {}; missing: {missing}; extra: {extra}", drift.held);
            if missing + extra > 0 {
                anyhow::bail!("the effective roles differ from the recomputation; run `rolegate effective-roles rebuild --tenant {tenant}`");
            }
        }
        EffectiveRolesCommand::Rebuild { tenant } => {
            tenants::find(&mut conn, tenant).context("no such tenant")?;
            let diff = effective::recompute(&mut conn, tenant)?;
            println!(
                "paths added: {}; paths removed: {}",
                diff.rows_added, diff.rows_removed
            );
        }
    }
    Ok(())
}
