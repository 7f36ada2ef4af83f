//! PostgreSQL through tokio-postgres on weft, and a small connection pool.
//!
//! # Connecting without a tokio runtime
//!
//! tokio-postgres is written against `tokio::io`; its `runtime` feature (tokio's sockets and
//! timers) is off here. weft's `tokio-io` feature makes `weft::net::TcpStream` and
//! `UnixStream` implement tokio's `AsyncRead`/`AsyncWrite`, so [`connect`] opens the socket
//! with weft, hands it to `Config::connect_raw(stream, NoTls)`, and spawns the returned
//! `Connection` future (the half that does the socket I/O) as a weft task. A host given as a
//! directory (`host=/var/run/postgresql`) is a Unix socket, `.s.PGSQL.<port>` in it, as libpq
//! does.
//!
//! # The pool
//!
//! [`Pool`] is a `weft::sync::Semaphore` of `size` permits and a list of idle clients. A
//! checkout takes a permit (waiting at most [`CHECKOUT_TIMEOUT`]: a saturated database gives
//! callers a 503, not an unbounded queue), then reuses an idle client that is still open or
//! connects a new one. The [`Conn`] it returns puts its client back when dropped, unless the
//! connection broke. The idle list is behind a `std::sync::Mutex`, not an async one: it is
//! held for one push or pop, never across an `.await`, and it must be taken in `Drop`.

use std::io;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls};
use weft::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a checkout waits for a free connection.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one connection attempt (socket, startup, authentication) may take when the URL
/// sets no `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The tables, created when missing. `jobs.status` is one of queued, running, succeeded,
/// failed, timed_out, interrupted.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    quantity   INT4 NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS jobs (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued',
    exit_code   INT4,
    stdout      TEXT,
    stderr      TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
";

/// Why a database call failed: no connection to be had, or PostgreSQL said no.
#[derive(Debug)]
pub enum DbError {
    /// The pool could not hand out a connection (timeout, or connecting failed).
    Unavailable(String),
    /// A query failed.
    Query(tokio_postgres::Error),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable(why) => write!(f, "database unavailable: {why}"),
            DbError::Query(e) => write!(f, "database error: {e}"),
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> DbError {
        DbError::Query(e)
    }
}

/// A pool of at most `size` PostgreSQL connections; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    config: tokio_postgres::Config,
    permits: Arc<Semaphore>,
    idle: std::sync::Mutex<Vec<Client>>,
}

impl Pool {
    /// A pool for `url` (`postgres://...` or libpq's `key=value` form); connects lazily.
    pub fn new(url: &str, size: usize) -> Result<Pool, String> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("--database-url {url:?}: {e}"))?;
        if config.get_hosts().is_empty() {
            return Err(format!("--database-url {url:?}: no host"));
        }
        Ok(Pool {
            inner: Arc::new(Inner {
                config,
                permits: Arc::new(Semaphore::new(size)),
                idle: std::sync::Mutex::new(Vec::with_capacity(size)),
            }),
        })
    }

    /// A connection: an idle one, or a new one while fewer than `size` are out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped checkout holds no permit and leaks no connection (one being
    /// opened is closed).
    pub async fn get(&self) -> Result<Conn, DbError> {
        let permit =
            weft::time::timeout(CHECKOUT_TIMEOUT, self.inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| {
                    DbError::Unavailable(format!("no free connection within {CHECKOUT_TIMEOUT:?}"))
                })?
                .map_err(|_| DbError::Unavailable("the pool is closed".into()))?;
        let reused = {
            let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|client| !client.is_closed());
            idle.pop()
        };
        let client = match reused {
            Some(client) => client,
            None => connect(&self.inner.config)
                .await
                .map_err(|e| DbError::Unavailable(e.to_string()))?,
        };
        Ok(Conn {
            client: Some(client),
            pool: self.inner.clone(),
            _permit: permit,
        })
    }

    /// Creates the tables when missing, and marks jobs a previous run left queued or running
    /// as `interrupted` (their process died with that run).
    pub async fn migrate(&self) -> Result<(), DbError> {
        let conn = self.get().await?;
        conn.batch_execute(SCHEMA).await?;
        let stale = conn
            .execute(
                "UPDATE jobs SET status = 'interrupted', finished_at = now()
                 WHERE status IN ('queued', 'running')",
                &[],
            )
            .await?;
        if stale > 0 {
            tracing::warn!(
                stale,
                "jobs left unfinished by a previous run marked interrupted"
            );
        }
        Ok(())
    }
}

/// A checked-out connection; derefs to tokio-postgres's `Client`, returns to the pool on drop.
pub struct Conn {
    client: Option<Client>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !client.is_closed() {
                let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
                idle.push(client);
            }
        }
        // The permit is released after the client is back, so the next checkout finds it.
    }
}

/// Opens one connection with weft's sockets (each host of the config in turn) and spawns its
/// I/O half on the current weft loop.
pub async fn connect(config: &tokio_postgres::Config) -> io::Result<Client> {
    let timeout = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_TIMEOUT);
    let ports = config.get_ports();
    let mut last = None;
    for (i, host) in config.get_hosts().iter().enumerate() {
        // As libpq: one port for every host, or one per host.
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let attempt = weft::time::timeout(timeout, connect_host(config, host, port));
        match attempt.await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(e)) => last = Some(e),
            Err(_) => {
                last = Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "connecting to {} took over {timeout:?}",
                        describe(host, port)
                    ),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no host to connect to")))
}

async fn connect_host(
    config: &tokio_postgres::Config,
    host: &Host,
    port: u16,
) -> io::Result<Client> {
    let name = describe(host, port);
    let failed = |e: &dyn std::fmt::Display| io::Error::other(format!("{name}: {e}"));
    match host {
        Host::Tcp(h) => {
            let stream = weft::net::TcpStream::connect((h.as_str(), port))
                .await
                .map_err(|e| failed(&e))?;
            let _ = stream.set_nodelay(true);
            let (client, connection) = config
                .connect_raw(stream, NoTls)
                .await
                .map_err(|e| failed(&e))?;
            spawn_connection(connection);
            Ok(client)
        }
        Host::Unix(dir) => {
            let stream = weft::net::UnixStream::connect(socket_path(dir, port))
                .await
                .map_err(|e| failed(&e))?;
            let (client, connection) = config
                .connect_raw(stream, NoTls)
                .await
                .map_err(|e| failed(&e))?;
            spawn_connection(connection);
            Ok(client)
        }
    }
}

/// Runs a connection's I/O half until the client is dropped or the socket fails.
fn spawn_connection<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    weft::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "PostgreSQL connection ended with an error");
        }
    })
    .detach();
}

fn socket_path(dir: &Path, port: u16) -> std::path::PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

fn describe(host: &Host, port: u16) -> String {
    match host {
        Host::Tcp(h) => format!("PostgreSQL at {h}:{port}"),
        Host::Unix(dir) => format!("PostgreSQL at {}", socket_path(dir, port).display()),
    }
}
