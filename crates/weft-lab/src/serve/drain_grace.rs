//! The drain grace of `weft serve`: from the first SIGTERM (or SIGINT), `/readyz` answers 503
//! for `--drain-grace` while the listener still accepts and serves, so a load balancer's
//! health check takes the instance out of rotation before any connection could be refused;
//! only then does the zero-failure drain begin. A second signal during the grace ends it at
//! once.
//!
//! One process ([`Graced`]) flips its own [`Readiness`]; a cluster's supervisor tells its
//! workers with a [`Down::NotReady`] message (see `cluster`).

use std::future::Future;
use std::io;
use std::time::Duration;

use weft::signal::{SignalKind, Signals};
use weft_http::health::Readiness;

use crate::signals::ShutdownSignals;

/// Parses `--drain-grace`: `5s`, `250ms`, or a whole number of seconds (`0`: no grace).
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?}: expected a duration such as 5s, 500ms or 0");
    let number = |digits: &str| digits.trim().parse::<u64>().map_err(|_| bad());
    if let Some(ms) = text.strip_suffix("ms") {
        Ok(Duration::from_millis(number(ms)?))
    } else if let Some(s) = text.strip_suffix('s') {
        Ok(Duration::from_secs(number(s)?))
    } else {
        Ok(Duration::from_secs(number(text)?))
    }
}

/// The messages a cluster supervisor sends its workers.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Down {
    /// A stop is coming: answer `/readyz` with 503 from now on.
    NotReady,
    /// Workers restarted by the supervisor so far, for `/metrics` (see `cluster`).
    Restarts(u64),
}

/// SIGINT/SIGTERM with the grace before the drain, for a server of one process.
#[derive(Debug)]
pub(crate) struct Graced {
    /// The installed SIGINT/SIGTERM handlers.
    pub(crate) signals: ShutdownSignals,
    /// Flipped to not ready at the first signal.
    pub(crate) readiness: Readiness,
    /// How long to keep serving, not ready, before the drain.
    pub(crate) grace: Duration,
}

impl Graced {
    /// Completes when the drain should begin: the grace after the first signal has passed, or a
    /// second signal came. Must run inside a weft loop.
    pub(crate) async fn recv(self) {
        let mut signals = match self.signals.attach() {
            Ok(signals) => signals,
            Err(error) => return tracing::warn!("signal pipe failed ({error}); stopping"),
        };
        if let Err(error) = signals.recv().await {
            return tracing::warn!("signal pipe failed ({error}); stopping");
        }
        self.readiness.set_not_ready();
        if self.grace.is_zero() {
            return;
        }
        tracing::info!(
            "weft serve: not ready (/readyz 503); draining in {:?}",
            self.grace
        );
        wait_grace(&mut signals, self.grace).await;
    }
}

/// Waits `grace`, or until the next signal of `signals`.
pub(crate) async fn wait_grace(signals: &mut Signals, grace: Duration) {
    let mut sleep = std::pin::pin!(weft::time::sleep(grace));
    std::future::poll_fn(|cx| {
        if sleep.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(());
        }
        match signals.poll_recv(cx) {
            std::task::Poll::Ready(_) => std::task::Poll::Ready(()),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    })
    .await
}

/// The supervisor's own signal loop (it runs with `handle_signals(false)`): SIGTERM/SIGINT
/// broadcast [`Down::NotReady`], wait the grace (a second signal cuts it short), then stop
/// gracefully (a further one kills); SIGHUP reloads (no grace: the new workers share the
/// listener); SIGTTIN/SIGTTOU add and remove a worker.
pub(crate) async fn supervise_signals(
    mut signals: Signals,
    control: weft::cluster::SupervisorControl<Down>,
    grace: Duration,
) -> io::Result<()> {
    let mut stopping = false;
    loop {
        match signals.recv().await? {
            SignalKind::Terminate | SignalKind::Interrupt if !stopping => {
                stopping = true;
                let _ = control.broadcast(Down::NotReady).await;
                if !grace.is_zero() {
                    tracing::info!(
                        "weft serve: workers not ready (/readyz 503); draining in {grace:?}"
                    );
                    wait_grace(&mut signals, grace).await;
                }
                control.stop();
            }
            SignalKind::Terminate | SignalKind::Interrupt => control.stop(),
            SignalKind::Hangup => control.reload(),
            SignalKind::TtyIn => control.add_worker(),
            SignalKind::TtyOut => control.remove_worker(),
            _ => {}
        }
    }
}
