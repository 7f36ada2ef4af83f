//! Callbacks: Node-style asynchronous programming on the event loop.
//!
//! "Run this function when the work completes": instead of awaiting a
//! future (tasks) or parking (green threads), the caller registers a
//! closure and returns at once; the loop calls the closure later. This
//! module offers the Node.js vocabulary for it:
//!
//! - timers: [`set_timeout`], [`set_interval`], [`clear_timeout`],
//!   [`clear_interval`];
//! - files: [`fs::read_file`], [`fs::write_file`] (through the worker pool);
//! - TCP: [`net::create_server`] and [`net::connect`] with `data`, `end`,
//!   `drain`, `error` and `close` events on each [`net::Socket`];
//! - [`EventEmitter`] for an application's own events.
//!
//! # Contract
//!
//! - Callbacks run on the loop thread that registered them, one at a time,
//!   never inside the call that registered them. They may register and
//!   cancel other callbacks freely.
//! - Errors are values: a failed operation calls its callback with
//!   `Err(io::Error)` (or emits `error`), and the error says what was being
//!   done and to what. Nothing in this module panics on an I/O error.
//! - A callback that panics is caught and logged where the layer owns the
//!   dispatch (timers, the accept loop); a socket listener that panics
//!   closes that socket only. [`EventEmitter::emit`] is synchronous and
//!   propagates a listener's panic to its caller, as Node's does.
//! - Everything is built from ordinary local tasks, so callbacks mix
//!   freely with async tasks and green threads on the same loop, and the
//!   runtime's shutdown drops pending callbacks without running them.
//!
//! # Running a callback program
//!
//! [`run`] is `node app.js`: it calls the program's main function on a fresh loop and returns
//! once nothing is left that could call back: no timer pending, no server listening, no
//! socket open, no file operation or connect waiting for its callback (libuv's count of
//! live handles, kept in `handles`). An [`EventEmitter`] alone keeps nothing alive: its
//! listeners only fire when something else emits. A callback API used outside a loop
//! panics with a message that names it.
//!
//! These types are `!Send`: callbacks capture loop-local state (`Rc`,
//! `Cell`) the way Node code captures variables.

mod emitter;
pub mod fs;
mod handles;
mod listeners;
pub mod net;
mod run;
mod timers;

pub use self::emitter::EventEmitter;
pub use self::listeners::ListenerId;
pub use self::run::run;
pub use self::timers::{clear_interval, clear_timeout, set_interval, set_timeout, TimerId};
