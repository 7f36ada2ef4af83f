//! A per-thread cache of small heap blocks for the allocations a primitive makes and frees
//! at a high rate (a oneshot channel's shared state: one per request in a typical server).
//!
//! With glibc's allocator, a `malloc` and a `free` of a 128-byte block cost about 125
//! instructions, more than a oneshot's send and receive together; a pop and a push on a
//! thread-local free list, with the thread-local access, about 40. Blocks come in [`CLASSES`]
//! size classes, multiples of [`CLASS_BYTES`], so a block freed on another thread than the one
//! that allocated it (a oneshot sender dropped on another loop) fits that thread's cache just
//! as well. Each thread keeps at most [`PER_CLASS`] blocks per class (40 KiB in all), the rest
//! go back to the allocator; a thread's blocks are freed when the thread ends. A value too large
//! or too aligned for the classes is boxed as usual.
//!
//! The cost: blocks reused from the cache are invisible to AddressSanitizer's use-after-free
//! checks (as with any pool), and up to 40 KiB per thread stays allocated.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ptr::{self, NonNull};

/// The step between classes, in bytes.
const CLASS_BYTES: usize = 64;
/// Classes of 64, 128, 192 and 256 bytes.
const CLASSES: usize = 4;
/// The alignment of every block (what `malloc` gives anyway).
const BLOCK_ALIGN: usize = 16;
/// The most blocks one thread keeps per class.
const PER_CLASS: u32 = 64;

/// The class of blocks that holds a `T`, if any.
const fn class_of<T>() -> Option<usize> {
    let size = std::mem::size_of::<T>();
    if size == 0 || size > CLASS_BYTES * CLASSES || std::mem::align_of::<T>() > BLOCK_ALIGN {
        None
    } else {
        Some(size.div_ceil(CLASS_BYTES) - 1)
    }
}

fn block_layout(class: usize) -> Layout {
    match Layout::from_size_align((class + 1) * CLASS_BYTES, BLOCK_ALIGN) {
        Ok(layout) => layout,
        Err(_) => unreachable!("the class sizes are small multiples of the alignment"),
    }
}

/// A free block, linked through its first word.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// One thread's free lists.
struct Cache {
    heads: [Cell<*mut FreeBlock>; CLASSES],
    lens: [Cell<u32>; CLASSES],
}

impl Cache {
    const fn new() -> Cache {
        Cache {
            heads: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            lens: [const { Cell::new(0) }; CLASSES],
        }
    }

    fn pop(&self, class: usize) -> Option<NonNull<u8>> {
        let head = NonNull::new(self.heads[class].get())?;
        // SAFETY: a block on the list was pushed by `push`, which wrote its `next` word, and
        // belongs to this list alone until popped.
        let next = unsafe { head.as_ref().next };
        self.heads[class].set(next);
        self.lens[class].set(self.lens[class].get() - 1);
        Some(head.cast())
    }

    /// Keeps `block` (of `class`'s layout, no longer used); false if the list is full.
    fn push(&self, class: usize, block: NonNull<u8>) -> bool {
        if self.lens[class].get() >= PER_CLASS {
            return false;
        }
        let block = block.cast::<FreeBlock>();
        // SAFETY: the block is at least `CLASS_BYTES` long and `BLOCK_ALIGN`-aligned, and
        // nobody uses it any more (the caller's contract): its first word is ours to write.
        unsafe {
            block.as_ptr().write(FreeBlock {
                next: self.heads[class].get(),
            })
        };
        self.heads[class].set(block.as_ptr());
        self.lens[class].set(self.lens[class].get() + 1);
        true
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        for class in 0..CLASSES {
            while let Some(block) = self.pop(class) {
                // SAFETY: every cached block of `class` was allocated with its layout.
                unsafe { alloc::dealloc(block.as_ptr(), block_layout(class)) };
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const { Cache::new() };
}

/// Moves the value `make` returns into a block (from this thread's cache if it has one); give
/// it back with [`free`]. The value is made once the block is there: inlined, it is built in
/// the block itself, where a value made first is built on the stack and copied in (a `memmove`
/// of words just stored, which stalls on loads that cannot be forwarded from those stores).
#[inline]
pub(crate) fn alloc_with<T>(make: impl FnOnce() -> T) -> NonNull<T> {
    let Some(class) = class_of::<T>() else {
        return NonNull::from(Box::leak(Box::new(make())));
    };
    let block = CACHE
        .try_with(|c| c.pop(class))
        .ok()
        .flatten()
        .unwrap_or_else(|| allocate(class));
    let ptr = block.cast::<T>();
    // SAFETY: the block is free, at least `size_of::<T>()` long and aligned enough for `T`
    // (`class_of`).
    unsafe { ptr.as_ptr().write(make()) };
    ptr
}

#[cold]
fn allocate(class: usize) -> NonNull<u8> {
    let layout = block_layout(class);
    // SAFETY: the layout has a non-zero size.
    let raw = unsafe { alloc::alloc(layout) };
    NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Drops the value at `ptr` and gives its block back (to this thread's cache, or the allocator
/// when the cache is full).
///
/// # Safety
///
/// `ptr` came from [`alloc_with`] with the same `T`, holds a live value, and is not used after.
#[inline]
pub(crate) unsafe fn free<T>(ptr: NonNull<T>) {
    let Some(class) = class_of::<T>() else {
        // SAFETY: `alloc_with` boxed values of types without a class.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
        return;
    };
    // SAFETY: the caller's contract: a live `T` nobody uses any more.
    unsafe { ptr::drop_in_place(ptr.as_ptr()) };
    let block = ptr.cast::<u8>();
    let kept = CACHE.try_with(|c| c.push(class, block)).unwrap_or(false);
    if !kept {
        // SAFETY: the block was allocated with its class's layout (`allocate`).
        unsafe { alloc::dealloc(block.as_ptr(), block_layout(class)) };
    }
}

#[cfg(test)]
mod tests {
    use super::{alloc_with, class_of, free, PER_CLASS};
    use std::rc::Rc;

    #[test]
    fn a_freed_block_is_reused_and_its_value_dropped() {
        let marker = Rc::new(());
        let first = alloc_with(|| [marker.clone(), marker.clone()]);
        assert_eq!(Rc::strong_count(&marker), 3);
        let addr = first.as_ptr() as usize;
        // SAFETY: from `alloc_with`, not used after.
        unsafe { free(first) };
        assert_eq!(Rc::strong_count(&marker), 1, "free drops the value");
        let second = alloc_with(|| [marker.clone(), marker.clone()]);
        assert_eq!(
            second.as_ptr() as usize,
            addr,
            "the cached block comes back"
        );
        // SAFETY: as above.
        unsafe { free(second) };
    }

    #[test]
    fn a_block_freed_on_another_thread_joins_that_threads_cache() {
        let block = alloc_with(|| [1u64; 10]);
        let addr = block.as_ptr() as usize;
        // Raw pointers are not Send; the address crosses as a number and comes back as the
        // same block (the test thread does not touch it meanwhile).
        let other = std::thread::spawn(move || {
            let ptr = std::ptr::NonNull::new(addr as *mut [u64; 10]).unwrap();
            // SAFETY: from `alloc_with` on the test thread, not used there after this.
            unsafe { free(ptr) };
            let again = alloc_with(|| [2u64; 10]);
            let reused = again.as_ptr() as usize;
            // SAFETY: from `alloc_with`, not used after.
            unsafe { free(again) };
            reused
        });
        assert_eq!(
            other.join().unwrap(),
            addr,
            "the freeing thread reuses the block"
        );
    }

    #[test]
    fn values_outside_the_classes_are_boxed_and_a_full_cache_gives_blocks_back() {
        assert_eq!(class_of::<[u8; 300]>(), None);
        assert_eq!(class_of::<()>(), None);
        assert_eq!(class_of::<[u64; 16]>(), Some(1));
        let big = alloc_with(|| [7u8; 300]);
        // SAFETY: from `alloc_with`.
        assert_eq!(unsafe { big.as_ref() }[299], 7);
        // SAFETY: from `alloc_with`, not used after.
        unsafe { free(big) };
        // More blocks than a class keeps: the extra ones go back to the allocator.
        let many: Vec<_> = (0..PER_CLASS * 2)
            .map(|i| alloc_with(|| [i as u64; 20]))
            .collect();
        for (i, p) in many.into_iter().enumerate() {
            // SAFETY: from `alloc_with`.
            assert_eq!(unsafe { p.as_ref() }[19], i as u64);
            // SAFETY: from `alloc_with`, not used after.
            unsafe { free(p) };
        }
    }
}
