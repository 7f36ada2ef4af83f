//! Health and readiness endpoints for load balancers and service managers.
//!
//! - `GET /healthz` ([`healthz`]): 200 while the process serves at all (liveness).
//! - `GET /readyz` ([`Readiness::handler`]): 200 while the server takes new work, 503 once
//!   [`Readiness::set_not_ready`] was called (on SIGTERM, before the drain): a balancer's
//!   health check then takes the instance out of rotation while its listener still accepts
//!   and serves, so no client meets a refused connection.
//!
//! A [`Readiness`] is a cheap handle (one shared flag); clone it into the handler and into the
//! code that reacts to the stop signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{Request, Response, StatusCode};

/// Whether the server is ready for new work; shared by every clone.
#[derive(Clone, Debug)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new()
    }
}

impl Readiness {
    /// A handle that starts ready.
    pub fn new() -> Readiness {
        Readiness {
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// From now on `/readyz` answers 503 (the server is about to drain).
    pub fn set_not_ready(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }

    /// From now on `/readyz` answers 200 again.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Relaxed);
    }

    /// The `/readyz` answer for the current state.
    pub fn response(&self) -> Response {
        if self.is_ready() {
            Response::text("ready\n")
        } else {
            Response::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "draining: not accepting new work soon",
            )
        }
    }

    /// A `/readyz` handler bound to this handle.
    pub fn handler(&self) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send {
        let readiness = self.clone();
        move |_| std::future::ready(readiness.response())
    }
}

/// `GET /healthz`: 200 `ok` while the process serves.
pub async fn healthz(_: Request) -> Response {
    Response::text("ok\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_flips_and_answers() {
        let r = Readiness::new();
        assert_eq!(r.response().status(), StatusCode::OK);
        r.clone().set_not_ready();
        assert!(!r.is_ready());
        assert_eq!(r.response().status(), StatusCode::SERVICE_UNAVAILABLE);
        r.set_ready();
        assert_eq!(r.response().status(), StatusCode::OK);
    }
}
