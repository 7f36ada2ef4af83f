//! The one application every model serves, and what it means for each route.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | `Hello, World!` |
//! | `GET /io?ms=N` | after waiting N ms on a simulated backend, in the model's own style (a blocking sleep on a thread, an async sleep on a loop, a green sleep on a green thread, a timer callback) |
//! | `GET /cpu?ms=N` | after burning N ms of CPU where the handler runs |
//! | `GET /cpu?ms=N&offload=1` | the same on weft's worker pool, in the models that run on a loop |
//! | `GET /crash` | never: the handler aborts the process it runs in |
//!
//! [`Route::parse`] is shared by every model, so they all refuse the same bad input the same
//! way (400 with the reason). [`http1`] is the blocking-style connection loop of the thread,
//! process and green models.

pub(crate) mod http1;

use std::time::{Duration, Instant};

/// Body of `GET /`.
pub(crate) const HELLO: &str = "Hello, World!";

/// Longest `/io` wait: 60 s, so that a typo cannot park a connection for hours.
pub(crate) const MAX_IO_MS: u64 = 60_000;

/// Longest `/cpu` burn: 10 s; beyond that it is a mistake, not a measurement.
pub(crate) const MAX_CPU_MS: u64 = 10_000;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /`.
    Hello,
    /// `GET /io?ms=N`.
    Io(Duration),
    /// `GET /cpu?ms=N[&offload=1]`.
    Cpu {
        /// How long to burn.
        burn: Duration,
        /// Whether to burn on the worker pool.
        offload: bool,
    },
    /// `GET /crash`.
    Crash,
    /// Unknown path: 404.
    NotFound,
    /// A known path with bad parameters: 400 with the reason.
    Bad(String),
}

impl Route {
    /// The route of `path` with `query` (without the `?`).
    pub(crate) fn parse(path: &str, query: Option<&str>) -> Route {
        let param = |name: &str| {
            query.and_then(|q| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v)
            })
        };
        let millis = |max: u64| match param("ms").map(str::parse::<u64>) {
            None => Err("missing query parameter ms (milliseconds)".to_string()),
            Some(Err(_)) => Err("ms must be a whole number of milliseconds".to_string()),
            Some(Ok(ms)) if ms > max => Err(format!("ms must be at most {max}")),
            Some(Ok(ms)) => Ok(Duration::from_millis(ms)),
        };
        match path {
            "/" => Route::Hello,
            "/io" => millis(MAX_IO_MS).map_or_else(Route::Bad, Route::Io),
            "/cpu" => match millis(MAX_CPU_MS) {
                Ok(burn) => Route::Cpu {
                    burn,
                    offload: matches!(param("offload"), Some("1" | "true")),
                },
                Err(why) => Route::Bad(why),
            },
            "/crash" => Route::Crash,
            _ => Route::NotFound,
        }
    }

    /// The route of a request target (`/path?query`).
    pub(crate) fn of_target(target: &str) -> Route {
        match target.split_once('?') {
            Some((path, query)) => Route::parse(path, Some(query)),
            None => Route::parse(target, None),
        }
    }
}

/// The body of an `/io` answer.
pub(crate) fn io_body(waited: Duration) -> String {
    format!("waited {} ms\n", waited.as_millis())
}

/// The body of a `/cpu` answer; `place` says where the burn ran.
pub(crate) fn cpu_body(burned: Duration, place: &str) -> String {
    format!("burned {} ms on {place}\n", burned.as_millis())
}

/// What `/crash` does: abort the process, as a fatal bug in a handler would.
pub(crate) fn crash() -> ! {
    std::process::abort()
}

/// Spins the current thread for `duration` (real work that the optimizer keeps).
pub(crate) fn burn(duration: Duration) {
    let start = Instant::now();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while start.elapsed() < duration {
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        std::hint::black_box(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_refuse() {
        assert_eq!(Route::of_target("/"), Route::Hello);
        assert_eq!(
            Route::of_target("/io?ms=10"),
            Route::Io(Duration::from_millis(10))
        );
        assert_eq!(
            Route::of_target("/cpu?ms=5&offload=1"),
            Route::Cpu {
                burn: Duration::from_millis(5),
                offload: true
            }
        );
        assert!(matches!(Route::of_target("/io"), Route::Bad(_)));
        assert!(matches!(Route::of_target("/io?ms=x"), Route::Bad(_)));
        assert!(matches!(Route::of_target("/cpu?ms=999999"), Route::Bad(_)));
        assert_eq!(Route::of_target("/nope"), Route::NotFound);
    }
}
