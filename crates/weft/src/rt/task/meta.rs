//! A task's identity: its id, where it was spawned and its optional name, fixed at spawn and
//! read by diagnostics (dumps, reports, the watchdog's signal handler). The site and the name
//! share one word of the task header (see [`SiteAndName`]).

use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;

/// A task's identity, fixed at spawn.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    /// Unique among the tasks of this process, never 0.
    pub(crate) id: u64,
    /// Where `spawn` was called, and the name if the task has one, in one word.
    site: SiteAndName,
}

impl TaskMeta {
    /// A fresh identity for a task spawned at `site`.
    pub(crate) fn new(site: &'static Location<'static>, name: Option<Box<str>>) -> TaskMeta {
        TaskMeta {
            id: crate::rt::next_actor_id(),
            site: SiteAndName::new(site, name),
        }
    }

    /// Where `spawn` was called (`#[track_caller]`).
    pub(crate) fn site(&self) -> &'static Location<'static> {
        self.site.site()
    }

    /// The name given by `task::Builder::name`, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        self.site.name()
    }
}

/// A spawn site and an optional name in one word, so that every task header pays 8 bytes for
/// both: an unnamed task's word is the `&'static Location` itself; a named task's is a boxed
/// [`Named`] with bit 0 set (a `Location` and a `Named` are both 8-aligned, so bit 0 is free).
/// Reading it is two loads and no lock, so the watchdog's signal handler may read it too.
struct SiteAndName(NonNull<()>);

/// What a named task's [`SiteAndName`] points to.
struct Named {
    site: &'static Location<'static>,
    name: Box<str>,
}

const NAMED: usize = 1;
const _: () = assert!(std::mem::align_of::<Location<'static>>() > NAMED);
const _: () = assert!(std::mem::align_of::<Named>() > NAMED);

// SAFETY: the word is written once, at spawn, and only read afterwards; what it points to (a
// `'static` location, or a `Named` that this value owns and frees only in `drop`) is itself
// `Send + Sync`.
unsafe impl Send for SiteAndName {}
// SAFETY: as for `Send`: shared access only reads immutable data.
unsafe impl Sync for SiteAndName {}

impl SiteAndName {
    fn new(site: &'static Location<'static>, name: Option<Box<str>>) -> SiteAndName {
        let word = match name {
            None => NonNull::from(site).cast::<()>(),
            Some(name) => {
                let named = Box::into_raw(Box::new(Named { site, name }));
                // The tag keeps the pointer non-null.
                NonNull::new(named.cast::<u8>().wrapping_add(NAMED).cast::<()>())
                    .expect("a boxed pointer plus one is not null")
            }
        };
        SiteAndName(word)
    }

    fn named(&self) -> Option<&Named> {
        let word = self.0.as_ptr().cast::<u8>();
        if word as usize & NAMED == 0 {
            return None;
        }
        // SAFETY: a tagged word is a `Box<Named>` from `new` plus the tag; it is freed only
        // by `drop`, which `&self` excludes.
        Some(unsafe { &*word.wrapping_sub(NAMED).cast::<Named>() })
    }

    fn site(&self) -> &'static Location<'static> {
        match self.named() {
            Some(named) => named.site,
            // SAFETY: an untagged word came from a `&'static Location` in `new`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    fn name(&self) -> Option<&str> {
        self.named().map(|named| &*named.name)
    }
}

impl Drop for SiteAndName {
    fn drop(&mut self) {
        if let Some(named) = self.named() {
            let ptr = named as *const Named as *mut Named;
            // SAFETY: from `Box::into_raw` in `new`; `&mut self` means no reader is left.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

impl fmt::Debug for SiteAndName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteAndName")
            .field("site", &self.site())
            .field("name", &self.name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::TaskMeta;
    use std::panic::Location;

    /// A named task's site and name share the word; an unnamed one has no name.
    #[test]
    fn site_and_name_share_a_word() {
        let here = Location::caller();
        let named = TaskMeta::new(here, Some("worker-3".into()));
        assert_eq!(named.name(), Some("worker-3"));
        assert_eq!(named.site(), here);
        let unnamed = TaskMeta::new(here, None);
        assert_eq!(unnamed.name(), None);
        assert_eq!(unnamed.site(), here);
        assert_ne!(named.id, unnamed.id);
    }
}
