//! Protocol errors: what was wrong with a request, as the status the client
//! gets and a one-line reason that becomes the answer's body.

use std::fmt;

use crate::StatusCode;

/// A request the server refuses at the protocol level. The connection answers
/// with [`status`](HttpError::status) and the reason, then closes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    status: StatusCode,
    reason: &'static str,
}

impl HttpError {
    /// A refusal with `status` and `reason`, for drivers of [`crate::proto`]
    /// that refuse on their own account (a request that did not arrive in
    /// time is `408`, say).
    pub const fn new(status: StatusCode, reason: &'static str) -> HttpError {
        HttpError { status, reason }
    }

    pub(crate) const fn bad_request(reason: &'static str) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, reason)
    }

    /// The status to answer with (400, 408, 413, 414, 417, 431, 501 or 505).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What was wrong, in a few words (sent as the answer's body).
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Debug for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpError({}: {})", self.status.as_u16(), self.reason)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for HttpError {}
