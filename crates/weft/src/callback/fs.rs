//! File callbacks, as Node's `fs.readFile(path, cb)`: the work runs on the
//! worker pool's `fs` lane and the callback runs on the loop that asked,
//! with the result.
//!
//! The callback receives `Err` for any failure; the error keeps the
//! `std::fs` error kind and names the operation and the path (see
//! [`crate::fs`]). It never runs inside the call that started the work.

use std::io;
use std::path::Path;

use crate::fs as async_fs;

/// Reads the whole file at `path`, then calls `callback` with its contents
/// or the error.
///
/// # Panics
///
/// Outside an event loop.
pub fn read_file(path: impl AsRef<Path>, callback: impl FnOnce(io::Result<Vec<u8>>) + 'static) {
    let read = async_fs::read(path.as_ref().to_owned());
    crate::task::spawn_local(async move { callback(read.await) }).detach();
}

/// Reads the whole file at `path` as UTF-8, then calls `callback`.
///
/// # Panics
///
/// Outside an event loop.
pub fn read_file_to_string(
    path: impl AsRef<Path>,
    callback: impl FnOnce(io::Result<String>) + 'static,
) {
    let read = async_fs::read_to_string(path.as_ref().to_owned());
    crate::task::spawn_local(async move { callback(read.await) }).detach();
}

/// Creates or truncates the file at `path`, writes `contents`, then calls
/// `callback` with the outcome.
///
/// # Panics
///
/// Outside an event loop.
pub fn write_file(
    path: impl AsRef<Path>,
    contents: impl Into<Vec<u8>>,
    callback: impl FnOnce(io::Result<()>) + 'static,
) {
    let write = async_fs::write(path.as_ref().to_owned(), contents.into());
    crate::task::spawn_local(async move { callback(write.await) }).detach();
}
