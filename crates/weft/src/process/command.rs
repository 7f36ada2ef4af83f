//! [`Command`]: std's process builder, plus `kill_on_drop` and asynchronous waits.

use super::child::Child;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder, shaped like `std::process::Command` (and `tokio::process::Command`):
/// configure with `&mut self` methods, then [`spawn`](Self::spawn),
/// [`output`](Self::output) or [`status`](Self::status).
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::process::Command;
/// let output = Command::new("echo").arg("hello").output().await?;
/// assert!(output.status.success());
/// assert_eq!(output.stdout, b"hello\n");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which stdio streams the caller configured (std cannot tell us), so that
    /// [`output`](Self::output) applies its defaults only to the others.
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("command", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

impl From<std::process::Command> for Command {
    /// Adopts a std builder (with whatever it was configured with, `pre_exec` included: see
    /// the module docs on what that costs).
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl Command {
    /// A builder for running `program`: a path, or a name looked up in `PATH`. Arguments none,
    /// environment and working directory inherited, stdio inherited (for `spawn` and `status`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory. A relative program path is then looked up
    /// relative to it on some platforms; prefer absolute program paths with this.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input: [`Stdio::piped`] (then [`Child::stdin`] is a
    /// [`ChildStdin`](super::ChildStdin)), [`Stdio::null`], [`Stdio::inherit`], or a file or
    /// descriptor (`Stdio::from`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's standard output; see [`stdin`](Self::stdin).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's standard error; see [`stdin`](Self::stdin).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Whether dropping the [`Child`] (before it was reaped) sends it `SIGKILL`. Off by
    /// default, as in std and tokio: a dropped child runs on (and is still reaped when it
    /// exits).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// Puts the child in process group `pgroup` (`0`: a new group led by the child), so that
    /// a signal sent to the group (`kill(-pgid, …)`) reaches its descendants too. Still a
    /// `posix_spawn` (`POSIX_SPAWN_SETPGROUP`).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.std, pgroup);
        self
    }

    /// Runs the child as user `id` (`setuid`; the caller needs the privilege). Moves std to
    /// its `fork`+`exec` path (see the module docs), which is still safe.
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.std, id);
        self
    }

    /// Runs the child with group `id` (`setgid`); as [`uid`](Self::uid).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.std, id);
        self
    }

    /// Sets the child's `argv[0]` (what `ps` shows) independently of the program run.
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        std::os::unix::process::CommandExt::arg0(&mut self.std, arg);
        self
    }

    /// The program this builder runs.
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The std builder inside, for what this one does not wrap.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std builder inside, mutably. Adding a `pre_exec` closure through it moves std from
    /// `posix_spawn` to `fork`+`exec` (see the module docs).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child. Need not run inside a loop; waiting and pipe I/O do.
    ///
    /// # Errors
    ///
    /// What the spawn failed with (a missing program is `NotFound`, a file that is not
    /// executable `PermissionDenied`), with the program's name in the message.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let process = self.std.spawn().map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "weft::process: cannot spawn {:?}: {err}",
                    self.std.get_program()
                ),
            )
        })?;
        Child::from_spawned(process, self.kill_on_drop)
    }

    /// Runs the child to completion and collects its output: stdout and stderr are piped
    /// unless configured otherwise, stdin is null unless configured otherwise (as std's
    /// `output`). The defaults stay set on this builder afterwards.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the child: it is killed if `kill_on_drop` is set, and
    /// reaped either way.
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.stderr(Stdio::piped());
        }
        self.spawn()?.wait_with_output().await
    }

    /// Runs the child to completion and returns its exit status. Stdio is inherited unless
    /// configured otherwise; pipes asked for are closed at once (the child sees end of file
    /// or a broken pipe).
    ///
    /// # Cancel safety
    ///
    /// As [`output`](Self::output).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        drop(child.stdin.take());
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().await
    }
}
