//! A throw-away PostgreSQL server for a test: `initdb` in a [`TempDir`], `pg_ctl start` on a
//! free loopback port with its Unix socket in the same directory, stopped (and the directory
//! removed) when the [`Postgres`] is dropped, also when the test panics.
//!
//! - **Finding it.** `initdb` and `pg_ctl` are looked up in `$WEFT_POSTGRES_BIN` (a directory),
//!   then `PATH`, then Debian's `/usr/lib/postgresql/<version>/bin` (the newest), then
//!   `/usr/local/bin` and `/usr/local/pgsql/bin`. Missing, the test fails with the install
//!   command ([`NOT_FOUND`]); it does not skip.
//! - **Root.** PostgreSQL refuses to run as root. When the test runs as root, every PostgreSQL
//!   program runs as the `postgres` user (the Debian package creates it): the scratch directory
//!   is handed to that user and the programs are started with its uid and gid (std's
//!   `CommandExt::uid/gid`, as `runuser -u postgres` would).
//! - **Throw-away.** `trust` authentication for the superuser `postgres`, `fsync`,
//!   `synchronous_commit` and `full_page_writes` off, TCP only on 127.0.0.1.
//! - **Bounded.** Every program runs within [`DEADLINE`]; `pg_ctl` waits for the server to
//!   accept connections (`-w`) and for it to stop.

use std::ffi::{CStr, CString};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::child::run_to_end;
use crate::temp_dir::TempDir;
use crate::wait::DEADLINE;

/// The message a test fails with when PostgreSQL's programs are not installed.
pub const NOT_FOUND: &str = "PostgreSQL not found: apt-get install -y postgresql";

/// The superuser `initdb` creates (and the user PostgreSQL runs as under root).
pub const SUPERUSER: &str = "postgres";

/// How many free ports [`Postgres::start`] tries before it fails (another process may take a
/// port between the probe and the server's bind).
const START_ATTEMPTS: usize = 3;

/// A running throw-away PostgreSQL server; stopped and removed when dropped.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    port: u16,
    running: bool,
    /// Holds `data/` (the cluster), the Unix socket and `server.log`; removed last.
    dir: TempDir,
}

impl Postgres {
    /// Creates a cluster in a fresh temporary directory and starts a server on a free port of
    /// 127.0.0.1; returns once it accepts connections. Panics with [`NOT_FOUND`] when
    /// PostgreSQL is not installed, or with the server's log when it does not start.
    pub fn start() -> Postgres {
        let bin = find_bin_dir().unwrap_or_else(|| panic!("{NOT_FOUND}"));
        let dir = TempDir::new("postgres");
        let run_as = if is_root() {
            let ids = user_ids(SUPERUSER).unwrap_or_else(|| {
                panic!("running as root, but there is no `{SUPERUSER}` user to run PostgreSQL as ({NOT_FOUND})")
            });
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1))
                .unwrap_or_else(|e| panic!("chown {} to {SUPERUSER}: {e}", dir.path().display()));
            Some(ids)
        } else {
            None
        };
        let mut pg = Postgres {
            bin,
            run_as,
            port: 0,
            running: false,
            dir,
        };
        pg.initdb();
        pg.start_server();
        pg
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's TCP address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A connection URL for the superuser and the `postgres` database over TCP.
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs `sql` with `psql` over the Unix socket and returns its unaligned, tuples-only
    /// output (`psql -At`), trimmed; panics with psql's error if it fails.
    pub fn psql(&self, sql: &str) -> String {
        let mut command = self.command("psql");
        command
            .arg("-X")
            .arg("-At")
            .arg("-v")
            .arg("ON_ERROR_STOP=1")
            .arg("-h")
            .arg(self.socket_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg(SUPERUSER)
            .arg("-d")
            .arg("postgres")
            .arg("-c")
            .arg(sql);
        let output = self.run(command, "psql");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Whether the server is running, as `pg_ctl status` tells.
    pub fn is_running(&self) -> bool {
        let mut command = self.command("pg_ctl");
        command.arg("status").arg("-D").arg(self.data_dir());
        run_to_end(command, DEADLINE).status.success()
    }

    /// Stops the server (fast shutdown: sessions are ended) and waits until it is gone; panics
    /// with the log if it does not stop.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let output = self.stop_with("fast");
        self.running = false;
        assert!(
            output.status.success(),
            "pg_ctl stop failed: {}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `program` from the PostgreSQL directory, run as the `postgres` user under root, from
    /// the scratch directory (the user may not be allowed into the test's own).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Runs `command` to its end within [`DEADLINE`]; panics with its output if it fails.
    fn run(&self, command: Command, what: &str) -> Output {
        let output = run_to_end(command, DEADLINE);
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn initdb(&self) {
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8"])
            .arg("--locale=C");
        self.run(command, "initdb");
    }

    fn start_server(&mut self) {
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            self.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off",
                self.port,
                self.dir.path().display()
            );
            let mut command = self.command("pg_ctl");
            command
                .arg("start")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_path())
                .arg("-w")
                .args(["-t", &pg_ctl_timeout()])
                .arg("-o")
                .arg(options);
            let output = run_to_end(command, DEADLINE + DEADLINE / 2);
            if output.status.success() {
                self.running = true;
                return;
            }
            last = format!(
                "pg_ctl start on port {} failed ({}): {}\nserver log:\n{}",
                self.port,
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.log()
            );
            // A server that came up after pg_ctl gave up must not outlive the attempt.
            let _ = self.stop_with("immediate");
        }
        panic!("{last}");
    }

    fn stop_with(&self, mode: &str) -> Output {
        let mut command = self.command("pg_ctl");
        command.arg("stop").arg("-D").arg(self.data_dir()).args([
            "-m",
            mode,
            "-w",
            "-t",
            &pg_ctl_timeout(),
        ]);
        run_to_end(command, DEADLINE + DEADLINE / 2)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            // Immediate: the test is over (or failed); nothing needs to be kept.
            let _ = self.stop_with("immediate");
            self.running = false;
        }
    }
}

/// `pg_ctl`'s own wait bound in seconds: [`DEADLINE`], which the harness's deadline exceeds.
fn pg_ctl_timeout() -> String {
    DEADLINE.as_secs().to_string()
}

/// A port of 127.0.0.1 nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("probing a free port on 127.0.0.1: {e}"))
}

/// The directory holding both `initdb` and `pg_ctl` (see the module docs for the order).
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("WEFT_POSTGRES_BIN") {
        candidates.push(PathBuf::from(dir));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.extend(debian_bin_dirs());
    candidates.push(PathBuf::from("/usr/local/bin"));
    candidates.push(PathBuf::from("/usr/local/pgsql/bin"));
    candidates
        .into_iter()
        .find(|dir| has_both(dir))
        // Debian links /usr/local/bin's programs into /usr/lib/postgresql/<v>/bin; the real
        // directory is the one that also holds `postgres` and `psql`.
        .map(|dir| {
            std::fs::canonicalize(dir.join("pg_ctl"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .filter(|real| has_both(real))
                .unwrap_or(dir)
        })
}

/// Debian's `/usr/lib/postgresql/<version>/bin`, newest version first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of `user`, from the password database.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let name = CString::new(user).ok()?;
    // SAFETY: `passwd` is a C struct of integers and raw pointers, for which all-zero bytes
    // (zeros and null pointers) are a valid value; getpwnam_r overwrites it.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `name` is NUL-terminated, `pwd` and
    // `result` are live locals, `buf` is a live buffer of the length passed; getpwnam_r
    // writes only inside them and is thread-safe.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success `pw_name` points into `buf`, NUL-terminated, and `buf` is alive.
    let found = unsafe { CStr::from_ptr(pwd.pw_name) };
    (found.to_bytes() == user.as_bytes()).then_some((pwd.pw_uid, pwd.pw_gid))
}
