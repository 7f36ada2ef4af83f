//! File callbacks, as Node's `fs.readFile(path, cb)`: the work runs on the
//! worker pool's `fs` lane and the callback runs on the loop that asked,
//! with the result.
//!
//! The callback receives `Err` for any failure; the error keeps the
//! `std::fs` error kind and names the operation and the path (see
//! [`crate::fs`]). It never runs inside the call that started the work.

use std::io;
use std::path::Path;

use super::handles::{expect_loop, Ref};
use crate::fs as async_fs;

/// Runs one operation and its callback as a local task that keeps `callback::run` going
/// until the callback returned.
fn pending(op: impl std::future::Future<Output = ()> + 'static) {
    let handle = Ref::new();
    crate::task::spawn_local(async move {
        op.await;
        drop(handle);
    })
    .detach();
}

/// Reads the whole file at `path`, then calls `callback` with its contents
/// or the error.
///
/// # Panics
///
/// Outside an event loop.
pub fn read_file(path: impl AsRef<Path>, callback: impl FnOnce(io::Result<Vec<u8>>) + 'static) {
    expect_loop("fs::read_file");
    let read = async_fs::read(path.as_ref().to_owned());
    pending(async move { callback(read.await) });
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
    expect_loop("fs::read_file_to_string");
    let read = async_fs::read_to_string(path.as_ref().to_owned());
    pending(async move { callback(read.await) });
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
    expect_loop("fs::write_file");
    let write = async_fs::write(path.as_ref().to_owned(), contents.into());
    pending(async move { callback(write.await) });
}
