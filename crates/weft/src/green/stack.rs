//! Stacks for green threads, and a per-thread cache of them.
//!
//! A green thread runs on a stack of its own: a `mmap`ed region reserved by
//! corosensei's `DefaultStack`, whose lowest page is left `PROT_NONE` as a
//! guard page. A green thread that overflows its stack touches that page and
//! faults (`SIGSEGV`) instead of writing over whatever lies below. Frames
//! larger than a page cannot jump over the guard: rustc emits stack probes on
//! x86_64 and aarch64 Linux, which touch each page of a large frame in order.
//!
//! Only the pages a green thread touches become resident, so the configured
//! size is mostly address space; resident memory per green thread is what
//! its deepest call chain used.
//!
//! # The cache
//!
//! Creating a stack costs two system calls (`mmap`, `mprotect`) and freeing
//! it a third (`munmap`). A loop that runs many short green threads (one per
//! connection) would pay them on every spawn, so each OS thread keeps up to
//! [`STACK_CACHE_LIMIT`] finished stacks of the default size and hands them
//! to the next spawn. Stacks of other sizes are not cached (they are rare and
//! would need a cache per size). A cached stack keeps the pages its last green
//! thread touched resident; the limit bounds that memory.
//!
//! Invariants: only stacks whose coroutine has finished (`into_stack`) enter
//! the cache, so a cached stack holds no live frame. The cache is
//! thread-local and never shared; it is freed (each stack unmapped) when its
//! thread exits.

use std::cell::RefCell;
use std::io;

pub(crate) use corosensei::stack::DefaultStack;

/// Default usable size of a green thread's stack, in bytes (the guard page
/// comes on top).
///
/// 256 KiB: deep enough for ordinary blocking-style code (formatting,
/// collections, a parser, the default panic hook printing a message) with
/// room to spare, while only the pages actually touched are resident. The
/// default panic hook with `RUST_BACKTRACE=1` symbolizes on the panicking
/// stack and has been seen to need well over 64 KiB, which is why this is
/// not smaller. Configure per green thread with `Builder::stack_size`.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Smallest stack size a builder accepts, in bytes.
///
/// 16 KiB: below this, the green thread's own start-up (catching panics,
/// the park loop) plus one syscall wrapper leaves almost nothing for user
/// code, and an overflow becomes the likely outcome. Smaller requests are
/// rounded up to this.
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// How many finished default-size stacks each OS thread keeps for reuse.
///
/// 256: a burst of 256 short green threads (say, connections accepted in one
/// tick) reuses stacks without `mmap`/`munmap`; the resident memory held
/// idle is bounded by 256 × the pages each stack's last user touched
/// (typically 8–16 KiB, so a few MiB at most). Arbitrary within that range.
pub const STACK_CACHE_LIMIT: usize = 256;

thread_local! {
    /// Finished default-size stacks of this OS thread, ready for reuse.
    static CACHE: RefCell<Vec<DefaultStack>> = const { RefCell::new(Vec::new()) };
}

/// Returns a stack with at least `size` usable bytes: a cached one when
/// `size` is the default and the cache is not empty, else a fresh mapping.
pub(crate) fn take(size: usize) -> io::Result<DefaultStack> {
    if size == DEFAULT_STACK_SIZE {
        let cached = CACHE
            .try_with(|cache| cache.borrow_mut().pop())
            .ok()
            .flatten();
        if let Some(stack) = cached {
            return Ok(stack);
        }
    }
    DefaultStack::new(size.max(MIN_STACK_SIZE))
}

/// Gives back the stack of a finished green thread that was created with
/// `size`; kept for reuse if it is of the default size and the cache has
/// room, unmapped otherwise.
pub(crate) fn give_back(stack: DefaultStack, size: usize) {
    if size != DEFAULT_STACK_SIZE {
        return;
    }
    // During thread exit the cache may already be gone; the stack is then
    // simply dropped (unmapped).
    let _ = CACHE.try_with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() < STACK_CACHE_LIMIT {
            cache.push(stack);
        }
    });
}
