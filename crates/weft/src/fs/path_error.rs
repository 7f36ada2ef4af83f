//! Errors that say which path failed.
//!
//! Every `weft::fs` error is an `io::Error` with the **same `ErrorKind`** as
//! the underlying call's, whose payload is a [`PathError`]: the operation,
//! the path (and the second path of `rename`/`copy`), and the original error
//! as its `source()`, which keeps `raw_os_error()` reachable.
//!
//! ```text
//! could not open `/srv/data/missing.txt`: No such file or directory (os error 2)
//! ```

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::pool::JobError;

/// The payload of every `weft::fs` error: what was done to which path.
///
/// Reach it with `err.get_ref().and_then(|e| e.downcast_ref::<PathError>())`.
#[derive(Debug)]
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl PathError {
    /// The operation that failed, as a verb phrase (`"open"`, `"read"`, ...).
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The path the operation was on (the source, for `rename` and `copy`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The destination of `rename` or `copy`.
    pub fn to(&self) -> Option<&Path> {
        self.to.as_deref()
    }

    /// The error of the underlying call, without the path.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not {} `{}`", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to `{}`", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `err` with the operation and path, keeping its kind.
pub(crate) fn path_error(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    wrap(err, op, path, None)
}

/// As [`path_error`], for operations with a source and a destination.
pub(crate) fn two_path_error(
    err: io::Error,
    op: &'static str,
    from: &Path,
    to: &Path,
) -> io::Error {
    wrap(err, op, from, Some(to))
}

/// A pool failure (panic in the file call, pool shut down) as an `io::Error`
/// carrying the path.
pub(crate) fn job_error(err: JobError, op: &'static str, path: &Path) -> io::Error {
    wrap(err.into(), op, path, None)
}

fn wrap(err: io::Error, op: &'static str, path: &Path, to: Option<&Path>) -> io::Error {
    io::Error::new(
        err.kind(),
        PathError {
            op,
            path: path.to_owned(),
            to: to.map(Path::to_owned),
            source: err,
        },
    )
}
