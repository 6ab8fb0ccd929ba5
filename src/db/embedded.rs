//! A private PostgreSQL cluster started from the server binaries installed on the machine,
//! used when no `DATABASE_URL` is configured. When running as root, the cluster runs as
//! the `postgres` system user, since PostgreSQL refuses to run as root.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{anyhow, Context};
use sha2::{Digest, Sha256};

/// Where clusters go when running as root and the requested directory is out of the
/// postgres user's reach.
const FALLBACK_ROOT: &str = "/var/lib/rolegate/clusters";

fn short_hash(path: &Path) -> String {
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// How the cluster is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Production defaults.
    Full,
    /// fsync off: for throwaway test clusters only.
    Ephemeral,
}

#[derive(Debug)]
pub struct EmbeddedCluster {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    /// False when the cluster was already running (started by another process), so this
    /// handle must not stop it.
    owned: bool,
}

impl EmbeddedCluster {
    /// Starts the cluster in `dir` (initialising it on first use), or attaches to it when
    /// another Rolegate process already runs it.
    pub fn start(dir: &Path, durability: Durability) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let run_as = postgres_user_if_root()?;
        let bin_dir = find_bin_dir()?;
        let mut cluster = EmbeddedCluster {
            data_dir: PathBuf::new(),
            bin_dir,
            port: 0,
            run_as,
            owned: false,
        };
        if let Some((uid, gid)) = run_as {
            chown(&dir, uid, gid)?;
            if !cluster.reachable(&dir) {
                // A directory under /root (say) cannot be entered by the postgres user: keep
                // the cluster in a place it can reach, one per requested directory.
                let fallback = Path::new(FALLBACK_ROOT).join(short_hash(&dir));
                fs::create_dir_all(&fallback)
                    .with_context(|| format!("creating {}", fallback.display()))?;
                chown(&fallback, uid, gid)?;
                tracing::warn!(
                    requested = %dir.display(),
                    used = %fallback.display(),
                    "the postgres user cannot reach the data directory; keeping the cluster elsewhere"
                );
                dir = fallback;
            }
        }
        cluster.data_dir = dir.join("pgdata");
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        if let Some(port) = cluster.running_port() {
            cluster.port = port;
            return Ok(cluster);
        }
        cluster.port = free_port()?;
        cluster.launch(durability)?;
        cluster.owned = true;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` if it does not exist yet.
    pub fn ensure_database(&self, database: &str) -> anyhow::Result<()> {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        let mut conn = PgConnection::establish(&self.url("postgres"))?;
        let exists: i64 =
            diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "(SELECT count(*) FROM pg_database WHERE datname = '{}')",
                database.replace('\'', "''")
            )))
            .get_result(&mut conn)?;
        if exists == 0 {
            diesel::sql_query(format!(
                "CREATE DATABASE \"{}\"",
                database.replace('"', "\"\"")
            ))
            .execute(&mut conn)?;
        }
        Ok(())
    }

    /// Stops the cluster if this handle started it. Safe to call more than once.
    pub fn stop(&mut self) {
        if !self.owned {
            return;
        }
        self.owned = false;
        let result = self.pg_ctl(&["stop", "-m", "fast", "-w", "-D"]);
        if let Err(e) = result {
            tracing::warn!(error = %e, "stopping the embedded PostgreSQL failed");
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        // The postgres user may not be able to enter the caller's working directory.
        cmd.current_dir("/");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn init(&self) -> anyhow::Result<()> {
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ])
            .output()
            .context("running initdb")?;
        check(output, "initdb")
    }

    fn launch(&self, durability: Durability) -> anyhow::Result<()> {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300",
            self.port
        );
        if durability == Durability::Ephemeral {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.join("postgres.log");
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-w")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options)
            .output()
            .context("running pg_ctl start")?;
        check(output, "pg_ctl start")
    }

    fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let output = self
            .command("pg_ctl")
            .args(args)
            .arg(&self.data_dir)
            .output()
            .context("running pg_ctl")?;
        check(output, "pg_ctl")
    }

    /// The port of a postmaster already serving this data directory, if any.
    fn running_port(&self) -> Option<u16> {
        let status = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.data_dir)
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        // postmaster.pid: line 4 is the port.
        let pid_file = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// Whether the user the cluster runs as can enter `dir`.
    fn reachable(&self, dir: &Path) -> bool {
        self.command("postgres")
            .arg("--version")
            .current_dir(dir)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn check(output: Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    Err(anyhow!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The uid and gid of the `postgres` system user when this process runs as root.
fn postgres_user_if_root() -> anyhow::Result<Option<(u32, u32)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .context("looking up the postgres system user")?
        .ok_or_else(|| {
            anyhow!("running as root needs a 'postgres' system user to run PostgreSQL as")
        })?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

fn chown(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("giving {} to the postgres user", path.display()))
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir` when it
/// has them, else the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("ROLEGATE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, p)| p).ok_or_else(|| {
        anyhow!("no PostgreSQL server binaries found (install the postgresql package, or set DATABASE_URL or ROLEGATE_PG_BIN)")
    })
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
