//! Routing by method and path.
//!
//! A [`Router`] is a list of routes, each a method, a path pattern and a
//! handler, built by chaining [`Router::route`] (or `get`, `post`, ...).
//! Patterns are exact paths (`/json`) or prefixes ending in `/*`
//! (`/static/*` matches `/static/a/b.css`). The first route registered that
//! matches wins. A path that matches only under other methods is answered
//! `405 Method Not Allowed` with an `Allow` header; no match at all is
//! `404 Not Found`. `HEAD` falls back to the `GET` route of the same path
//! (the server then sends the headers without the body).
//!
//! Matching uses the raw path (before percent-decoding), so `/a%2Fb` never
//! matches `/a/b/*`.
//!
//! The route list is a nested type (`Route<H3, Route<H2, Route<H1, End>>>`)
//! rather than a vector of boxed handlers. That keeps each handler's future
//! its own concrete type: dispatching is a chain of integer comparisons, the
//! future lives inline in the connection, and answering a request allocates
//! nothing. The price is a longer type name; a route list is meant to have
//! tens of routes, not thousands (lookup is linear).
//!
//! The dispatch future is as large as the largest route's future, and every
//! request moves one into its connection. A route whose future is large and
//! slow anyway (file serving, pool jobs, long sleeps) should box it,
//! `|req| Box::pin(serve_file(req))`, so that it does not make every other
//! route's requests pay for its size: in `weft serve` that took the future
//! from 768 bytes to 88.

use std::future::Future;

use crate::handler::Branch;
use crate::{Handler, Method, Request, Response, StatusCode};

/// A path pattern: exact, or a prefix (written with a trailing `/*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(&'static str),
    Prefix(&'static str),
}

impl Pattern {
    fn parse(pattern: &'static str) -> Pattern {
        assert!(
            pattern.starts_with('/') || pattern == "*",
            "route pattern {pattern:?} must start with '/'"
        );
        match pattern.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => Pattern::Prefix(prefix),
            Some(_) if pattern != "*" => {
                panic!("route pattern {pattern:?}: '*' is only allowed as a final '/*'")
            }
            _ => Pattern::Exact(pattern),
        }
    }

    #[inline(always)]
    fn matches(self, path: &[u8]) -> bool {
        match self {
            Pattern::Exact(p) => path == p.as_bytes(),
            Pattern::Prefix(p) => path.starts_with(p.as_bytes()),
        }
    }
}

/// A list of routes the router searches. Implemented by [`End`] and
/// [`Route`]; it is the router's machinery, not meant to be implemented
/// elsewhere.
pub trait RouteTable: 'static {
    /// The index of the first route (in registration order) matching
    /// `method` and `path`; ORs the method bits of routes whose path matches
    /// into `allowed`.
    fn lookup(&self, method: Method, path: &[u8], allowed: &mut u16) -> Option<usize>;

    /// Runs the handler of route `index` (as returned by `lookup`).
    fn dispatch(&self, index: usize, request: Request) -> impl Future<Output = Response> + '_;

    /// [`Handler::streams_body`] of the handler of route `index`.
    fn streams_body(&self, index: usize, request: &Request) -> bool;

    /// The pattern of route `index` as registered (`/static/*`), for labels in metrics.
    fn pattern(&self, index: usize) -> Option<&'static str>;
}

/// The empty route list.
#[derive(Clone, Copy, Debug, Default)]
pub struct End;

impl RouteTable for End {
    fn lookup(&self, _: Method, _: &[u8], _: &mut u16) -> Option<usize> {
        None
    }

    fn dispatch(&self, _: usize, _: Request) -> impl Future<Output = Response> + '_ {
        std::future::ready(not_found())
    }

    fn streams_body(&self, _: usize, _: &Request) -> bool {
        false
    }

    fn pattern(&self, _: usize) -> Option<&'static str> {
        None
    }
}

/// One route followed by the routes registered before it.
#[derive(Clone, Debug)]
pub struct Route<H, Earlier> {
    method: Method,
    pattern: Pattern,
    /// The pattern as written, for [`Router::route_pattern`].
    written: &'static str,
    index: usize,
    handler: H,
    earlier: Earlier,
}

impl<H: Handler, Earlier: RouteTable> RouteTable for Route<H, Earlier> {
    #[inline(always)]
    fn lookup(&self, method: Method, path: &[u8], allowed: &mut u16) -> Option<usize> {
        if let Some(index) = self.earlier.lookup(method, path, allowed) {
            return Some(index);
        }
        if !self.pattern.matches(path) {
            return None;
        }
        if self.method == method {
            return Some(self.index);
        }
        *allowed |= self.method.bit();
        None
    }

    #[inline(always)]
    fn dispatch(&self, index: usize, request: Request) -> impl Future<Output = Response> + '_ {
        if index == self.index {
            Branch::First {
                future: self.handler.call(request),
            }
        } else {
            Branch::Second {
                future: self.earlier.dispatch(index, request),
            }
        }
    }

    fn streams_body(&self, index: usize, request: &Request) -> bool {
        if index == self.index {
            self.handler.streams_body(request)
        } else {
            self.earlier.streams_body(index, request)
        }
    }

    fn pattern(&self, index: usize) -> Option<&'static str> {
        if index == self.index {
            Some(self.written)
        } else {
            self.earlier.pattern(index)
        }
    }
}

/// Routes requests by method and path to handlers. See the `router` module docs.
///
/// ```
/// use weft_http::{Request, Response, Router};
/// let router = Router::new()
///     .get("/", |_req: Request| async { Response::text("home") })
///     .get("/static/*", |req: Request| async move { Response::text(req.path().to_owned()) });
/// # let _ = router;
/// ```
#[derive(Clone, Debug)]
pub struct Router<T = End> {
    table: T,
    len: usize,
}

impl Router<End> {
    /// A router with no routes (every request is 404).
    pub fn new() -> Router<End> {
        Router { table: End, len: 0 }
    }
}

impl Default for Router<End> {
    fn default() -> Self {
        Router::new()
    }
}

impl<T: RouteTable> Router<T> {
    /// Adds a route. `pattern` is an exact path (`/json`) or a prefix ending
    /// in `/*` (`/static/*`); `*` alone matches the `OPTIONS *` target.
    ///
    /// # Panics
    /// If `pattern` does not start with `/` or has `*` anywhere but a final
    /// `/*` (a bug in the program, found at startup).
    pub fn route<H: Handler>(
        self,
        method: Method,
        pattern: &'static str,
        handler: H,
    ) -> Router<Route<H, T>> {
        Router {
            table: Route {
                method,
                pattern: Pattern::parse(pattern),
                written: pattern,
                index: self.len,
                handler,
                earlier: self.table,
            },
            len: self.len + 1,
        }
    }

    /// Adds a `GET` route (which also answers `HEAD`).
    pub fn get<H: Handler>(self, pattern: &'static str, handler: H) -> Router<Route<H, T>> {
        self.route(Method::Get, pattern, handler)
    }

    /// Adds a `POST` route.
    pub fn post<H: Handler>(self, pattern: &'static str, handler: H) -> Router<Route<H, T>> {
        self.route(Method::Post, pattern, handler)
    }

    /// Adds a `PUT` route.
    pub fn put<H: Handler>(self, pattern: &'static str, handler: H) -> Router<Route<H, T>> {
        self.route(Method::Put, pattern, handler)
    }

    /// Adds a `DELETE` route.
    pub fn delete<H: Handler>(self, pattern: &'static str, handler: H) -> Router<Route<H, T>> {
        self.route(Method::Delete, pattern, handler)
    }

    /// Adds a `PATCH` route.
    pub fn patch<H: Handler>(self, pattern: &'static str, handler: H) -> Router<Route<H, T>> {
        self.route(Method::Patch, pattern, handler)
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pattern, as registered, of the route that answers `request` (`/static/*` for
    /// `/static/a.css`; a `HEAD` finds its `GET` route); `None` if none matches (404, 405).
    /// A label of bounded cardinality for metrics, unlike the path.
    pub fn route_pattern(&self, request: &Request) -> Option<&'static str> {
        self.find(request)
            .0
            .and_then(|index| self.table.pattern(index))
    }
}

impl<T: RouteTable> Router<T> {
    /// The route that answers `request`, and the methods its path allows otherwise.
    #[inline(always)]
    fn find(&self, request: &Request) -> (Option<usize>, u16) {
        let method = request.method();
        let mut allowed = 0u16;
        let path = request.path_bytes();
        let mut found = self.table.lookup(method, path, &mut allowed);
        if found.is_none() && method == Method::Head {
            found = self.table.lookup(Method::Get, path, &mut allowed);
        }
        (found, allowed)
    }
}

impl<T: RouteTable> Router<T> {
    /// The answer once the route is found: its handler's future, or a 405 or 404.
    #[inline(always)]
    fn answer(
        &self,
        (found, allowed): (Option<usize>, u16),
        request: Request,
    ) -> impl Future<Output = Response> + '_ {
        match found {
            Some(index) => Branch::First {
                future: self.table.dispatch(index, request),
            },
            None if allowed != 0 => Branch::Second {
                future: std::future::ready(method_not_allowed(allowed)),
            },
            None => Branch::Second {
                future: std::future::ready(not_found()),
            },
        }
    }

    /// [`Handler::call`] and [`route_pattern`](Self::route_pattern) with one match of the
    /// route list (what [`Metrics::record`](crate::metrics::Metrics::record) needs).
    #[inline(always)]
    pub(crate) fn call_with_pattern(
        &self,
        request: Request,
    ) -> (Option<&'static str>, impl Future<Output = Response> + '_) {
        let found = self.find(&request);
        let pattern = found.0.and_then(|index| self.table.pattern(index));
        (pattern, self.answer(found, request))
    }
}

impl<T: RouteTable> Handler for Router<T> {
    #[inline(always)]
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        let found = self.find(&request);
        self.answer(found, request)
    }

    fn streams_body(&self, request: &Request) -> bool {
        match self.find(request) {
            (Some(index), _) => self.table.streams_body(index, request),
            (None, _) => false,
        }
    }
}

fn not_found() -> Response {
    Response::error(StatusCode::NOT_FOUND, "not found")
}

fn method_not_allowed(mut allowed: u16) -> Response {
    if allowed & Method::Get.bit() != 0 {
        allowed |= Method::Head.bit();
    }
    let names: Vec<&str> = Method::NAMED
        .iter()
        .filter(|m| allowed & m.bit() != 0)
        .map(|m| m.as_str())
        .collect();
    Response::error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        .with_header("Allow", names.join(", "))
        .expect("method names are valid header values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct NoWake;
    impl Wake for NoWake {
        fn wake(self: Arc<Self>) {}
    }

    /// Polls a future that must complete without waiting.
    fn now<F: Future>(f: F) -> F::Output {
        let waker = Waker::from(Arc::new(NoWake));
        match pin!(f).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("future was pending"),
        }
    }

    fn request(method: &str, target: &str) -> Request {
        Request::from_bytes(format!("{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap()
    }

    fn answer(router: &impl Handler, method: &str, target: &str) -> (u16, String) {
        let r = now(router.call(request(method, target)));
        let body = String::from_utf8(r.body().as_bytes().unwrap_or_default().to_vec()).unwrap();
        (r.status().as_u16(), body)
    }

    fn router() -> impl Handler {
        Router::new()
            .get("/", |_: Request| async { Response::text("root") })
            .get("/a", |_: Request| async { Response::text("get a") })
            .post("/a", |req: Request| async move {
                Response::text(format!("post a {}", req.body().len()))
            })
            .get("/files/*", |req: Request| async move {
                Response::text(req.path().to_owned())
            })
            .get("/files/special", |_: Request| async {
                Response::text("shadowed")
            })
            .route(Method::Head, "/h", |_: Request| async {
                Response::text("head")
            })
    }

    #[test]
    fn dispatches_by_method_and_path() {
        let r = router();
        assert_eq!(answer(&r, "GET", "/"), (200, "root".into()));
        assert_eq!(answer(&r, "GET", "/a?x=1"), (200, "get a".into()));
        assert_eq!(answer(&r, "POST", "/a"), (200, "post a 0".into()));
        assert_eq!(
            answer(&r, "GET", "/files/x/y.txt"),
            (200, "/files/x/y.txt".into())
        );
        assert_eq!(
            answer(&r, "GET", "/files/special"),
            (200, "/files/special".into()),
            "first registered wins"
        );
        assert_eq!(answer(&r, "GET", "/nope").0, 404);
        assert_eq!(answer(&r, "GET", "/files").0, 404);
    }

    #[test]
    fn head_falls_back_to_get() {
        let r = router();
        assert_eq!(answer(&r, "HEAD", "/a"), (200, "get a".into()));
        assert_eq!(answer(&r, "HEAD", "/h"), (200, "head".into()));
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let r = router();
        let resp = now(r.call(request("DELETE", "/a")));
        assert_eq!(resp.status().as_u16(), 405);
        assert_eq!(resp.header("Allow"), Some("GET, HEAD, POST"));
        assert_eq!(answer(&r, "BREW", "/a").0, 405);
    }

    #[test]
    #[should_panic(expected = "must start with '/'")]
    fn bad_pattern_panics() {
        let _ = Router::new().get("nope", |_: Request| async { Response::text("") });
    }

    #[test]
    fn pattern_forms() {
        assert_eq!(Pattern::parse("/x/*"), Pattern::Prefix("/x/"));
        assert_eq!(Pattern::parse("/x"), Pattern::Exact("/x"));
        assert_eq!(Pattern::parse("*"), Pattern::Exact("*"));
    }
}
