//! `/static/<path>`: files under `--root`, never outside it.
//!
//! # Resolution (refusals in order)
//!
//! 1. The URL path is percent-decoded (a malformed escape or a NUL byte is
//!    400), then split on `/`. Empty and `.` segments are dropped; a `..`
//!    segment is refused with 403: there is no legitimate reason to send one,
//!    and clamping it would hide attacks in the logs.
//! 2. The joined path is canonicalized on the worker pool (`weft::fs`), which
//!    resolves every symlink. A result outside the canonical root is 403: a
//!    symlink inside the root cannot lead out of it. Missing files are 404.
//! 3. A directory is served by its `index.html` (resolved the same way);
//!    anything that is not a regular file is 404.
//! 4. The file is read on the pool (`weft::fs::read`) and sent with a
//!    content type from its extension and `Content-Length`.
//!
//! Files larger than [`MAX_FILE_BYTES`] are refused (403): responses are
//! buffered whole, and this server is a lab instrument, not a CDN.
//!
//! The check and the read are separate pool jobs, so someone who can write
//! inside the root could swap a checked file for a symlink in between; the
//! root is assumed to be writable only by its operator.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use weft_http::{percent_decode, Response, StatusCode};

/// Largest file served: 32 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// File served for a directory.
const INDEX_FILE: &str = "index.html";

/// The canonical `--root` directory, shared by every loop.
#[derive(Clone, Debug)]
pub(crate) struct StaticRoot {
    root: Arc<PathBuf>,
}

/// Why a URL path is not served, as the answer to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
}

impl Refusal {
    fn response(&self) -> Response {
        Response::error(self.status, self.reason)
    }
}

const NOT_FOUND: Refusal = Refusal {
    status: StatusCode::NOT_FOUND,
    reason: "not found",
};
const OUTSIDE_ROOT: Refusal = Refusal {
    status: StatusCode::FORBIDDEN,
    reason: "path leads outside the static root",
};

impl StaticRoot {
    /// Canonicalizes `dir` (at start-up, before any loop runs).
    pub(crate) fn new(dir: &Path) -> io::Result<StaticRoot> {
        let root = std::fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory",
            ));
        }
        Ok(StaticRoot {
            root: Arc::new(root),
        })
    }

    /// The canonical root directory.
    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Answers a request for `url_path` (the part after `/static/`).
    pub(crate) async fn serve(&self, url_path: &str) -> Response {
        match self.resolve(url_path).await {
            Ok(file) => self.send(&file).await,
            Err(refusal) => refusal.response(),
        }
    }

    /// Steps 1 to 3 of the module docs: the canonical path of a regular file
    /// under the root.
    async fn resolve(&self, url_path: &str) -> Result<PathBuf, Refusal> {
        let relative = relative_path(url_path)?;
        let file = self.canonical_inside(&self.root.join(&relative)).await?;
        let meta = weft::fs::metadata(&file)
            .await
            .map_err(|e| fs_refusal(&e))?;
        if meta.is_dir() {
            let index = self.canonical_inside(&file.join(INDEX_FILE)).await?;
            let meta = weft::fs::metadata(&index)
                .await
                .map_err(|e| fs_refusal(&e))?;
            return if meta.is_file() {
                Ok(index)
            } else {
                Err(NOT_FOUND)
            };
        }
        if !meta.is_file() {
            return Err(NOT_FOUND);
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                reason: "file larger than weft serve sends (32 MiB)",
            });
        }
        Ok(file)
    }

    async fn canonical_inside(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let canonical = weft::fs::canonicalize(path)
            .await
            .map_err(|e| fs_refusal(&e))?;
        if canonical.starts_with(&*self.root) {
            Ok(canonical)
        } else {
            Err(OUTSIDE_ROOT)
        }
    }

    async fn send(&self, file: &Path) -> Response {
        match weft::fs::read(file).await {
            Ok(bytes) => Response::new(StatusCode::OK)
                .with_content_type(content_type(file))
                .with_body(bytes),
            Err(error) => fs_refusal(&error).response(),
        }
    }
}

/// Step 1: the decoded, `..`-free relative path for `url_path`.
pub(crate) fn relative_path(url_path: &str) -> Result<PathBuf, Refusal> {
    let bad = |reason| Refusal {
        status: StatusCode::BAD_REQUEST,
        reason,
    };
    let decoded = percent_decode(url_path).ok_or(bad("malformed percent-encoding in path"))?;
    if decoded.contains(&0) {
        return Err(bad("NUL byte in path"));
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                return Err(Refusal {
                    status: StatusCode::FORBIDDEN,
                    reason: "'..' is not allowed in static paths",
                })
            }
            name => relative.push(std::ffi::OsStr::from_bytes(name)),
        }
    }
    Ok(relative)
}

fn fs_refusal(error: &io::Error) -> Refusal {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => NOT_FOUND,
        io::ErrorKind::PermissionDenied => Refusal {
            status: StatusCode::FORBIDDEN,
            reason: "permission denied",
        },
        _ => Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason: "could not read the file",
        },
    }
}

/// Content type by file extension (case-insensitive); unknown is binary.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" | "log" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "woff2" => "font/woff2",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("a/b.txt").unwrap(), PathBuf::from("a/b.txt"));
        assert_eq!(relative_path("./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(relative_path("").unwrap(), PathBuf::new());
        assert_eq!(relative_path("a%20b").unwrap(), PathBuf::from("a b"));
    }

    #[test]
    fn traversal_is_refused_in_every_spelling() {
        for path in [
            "..",
            "../etc/passwd",
            "a/../../b",
            "%2e%2e/x",
            "%2E%2e%2fetc",
            "a/%2e%2e",
        ] {
            let refusal = relative_path(path).unwrap_err();
            assert_eq!(refusal.status, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(
            relative_path("a%00b").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            relative_path("a%zz").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        // Dots that are not a whole segment are ordinary names.
        assert_eq!(relative_path("..a/b..").unwrap(), PathBuf::from("..a/b.."));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("x/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
