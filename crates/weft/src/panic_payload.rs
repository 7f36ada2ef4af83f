//! A panic's payload as text, for the places that catch a panic and report it (a task's
//! [`JoinError`](crate::JoinError), a closure posted to a loop, a callback timer, a connection
//! callback).
//!
//! `panic!("literal")` carries a `&'static str`, `panic!("{x}")` a `String`; anything else
//! (`std::panic::panic_any`) has no text, and is reported as [`NOT_TEXT`].

use std::any::Any;

/// What a payload that is neither `&str` nor `String` is reported as.
pub(crate) const NOT_TEXT: &str = "<non-string panic payload>";

/// The payload's message, if it has one.
pub(crate) fn text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// The payload's message, or [`NOT_TEXT`].
pub(crate) fn describe(payload: &(dyn Any + Send)) -> &str {
    text(payload).unwrap_or(NOT_TEXT)
}
