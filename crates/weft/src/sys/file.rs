//! Regular-file reads for `weft::fs` (run on worker-pool threads, never on a loop).
//!
//! std's safe reads need an initialized buffer (zeroing it first, a pass over memory that on a
//! fresh allocation also takes a page fault per page) or go through `read_to_end`, which grows
//! its reads from 8 KiB when it has no size hint (several syscalls per chunk). A chunked whole-file
//! read wants neither: one `read(2)` per chunk straight into the vector's spare capacity.

use super::cvt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Appends up to `max` bytes read from `file`'s current position to `buf`, with one `read(2)`
/// (retried on `EINTR`) into its spare capacity; returns the count, 0 at end of file.
///
/// `OutOfMemory` if `buf` cannot grow by `max` bytes.
pub(crate) fn read_append(file: &File, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.try_reserve(max).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("cannot grow a read buffer by {max} bytes"),
        )
    })?;
    let spare = &mut buf.spare_capacity_mut()[..max];
    let n = loop {
        // SAFETY: `spare` is `spare.len()` bytes of writable memory owned by `buf`, which we
        // borrow mutably for the call; read(2) writes at most that many bytes into it and reads
        // none of them, so their being uninitialized is fine.
        let ret = unsafe { libc::read(file.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        match cvt(ret) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
            Ok(n) => break n as usize,
        }
    };
    // SAFETY: read(2) returned `n <= spare.len()`, so the first `n` bytes of the spare capacity
    // are initialized, and `len + n` stays within the capacity reserved above.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}
