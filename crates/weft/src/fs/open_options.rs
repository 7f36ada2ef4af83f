//! How a [`File`] is opened: [`OpenOptions`] (`std`'s, with `open` run on the pool) and the
//! `File::open`, `File::create` and `File::options` shorthands.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::{run, File};

/// Options for opening a file, as [`std::fs::OpenOptions`]; `open` runs on
/// the pool.
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off (as [`std::fs::OpenOptions::new`]).
    pub fn new() -> Self {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self
    }

    /// Open for appending: every write goes to the end.
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.0.append(on);
        self
    }

    /// Truncate to length 0 on open (needs `write`).
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self
    }

    /// Permission bits of a newly created file (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// As [`std::fs::OpenOptions::open`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it completes, the file is not opened, or is opened by the job already
    /// started and closed with its unread result (with `create`/`truncate`, that may already
    /// have created or truncated it).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let options = self.0.clone();
        let job_path = Arc::clone(&path);
        let std = run("open", &path, move || options.open(&job_path)).await?;
        Ok(File::from_parts(std, path, super::pool()))
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl File {
    /// Opens `path` read-only.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::open`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped before it completes, the file is not opened, or is closed with the
    /// unread result of the job already started.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens `path` write-only, creating it or truncating it.
    ///
    /// # Errors
    ///
    /// As [`std::fs::File::create`], with the path in the message.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it completes, the file may already have been created or truncated by the
    /// job already started (the open file is closed with its unread result).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options to open a file with.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }
}
