//! What the integration tests of the weft crates share, so that each harness exists once.
//!
//! - [`wait`]: [`DEADLINE`], the one generous bound on any wait, and [`wait_until`] (poll a
//!   condition until it holds or the deadline passes), [`within_deadline`] (run something
//!   that could hang on a helper thread). A broken build fails instead of hanging.
//! - [`child`]: a child process watched line by line ([`WatchedChild`]), and signals.
//! - [`serve`]: a server child that names its address in a start line ([`ServeChild`]), such
//!   as `weft serve`; [`cluster`]: a supervisor child and its workers' ready lines
//!   ([`Cluster`]).
//! - [`load`]: a bounded load of clients whose every request is recorded ([`Load`]);
//!   [`keep_alive`]: the keep-alive HTTP client such a load runs ([`KeepAlive`]).
//! - [`gate`]: a [`Gate`] that jobs block on until the test opens it, and the setup that
//!   holds a pool's threads busy ([`Gate::hold`]).
//! - [`postgres`]: a throw-away PostgreSQL server on a free loopback port ([`Postgres`]),
//!   run as the `postgres` user under root, stopped on drop.
//! - [`temp_dir`]: a scratch directory removed on drop ([`TempDir`]).
//! - [`runner`]: [`run_tests`], the runner of test binaries that need their own `main`
//!   (`harness = false`) because they re-execute themselves as another program.
//!
//! Timing figures are printed, never asserted: every bound here only guards against a hang.
//! A dev-dependency only; not published.

pub mod child;
pub mod cluster;
pub mod gate;
pub mod keep_alive;
pub mod limits;
pub mod load;
pub mod postgres;
pub mod runner;
pub mod serve;
pub mod temp_dir;
pub mod wait;

pub use child::{run_to_end, send_signal, signal_group, Watch, WatchedChild};
pub use cluster::{log_field, Cluster};
pub use gate::{Gate, OpenOnDrop};
pub use keep_alive::KeepAlive;
pub use limits::raise_fd_limit;
pub use load::{answered_by, tally, Load, Outcome, Record, LOAD_MAX};
pub use postgres::Postgres;
pub use runner::run_tests;
pub use serve::{ServeChild, WEFT_SERVE_START};
pub use temp_dir::TempDir;
pub use wait::{wait_until, within_deadline, DEADLINE};
