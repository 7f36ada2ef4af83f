//! `/static/<path>`: files under `--root`, never outside it.
//!
//! # Resolution (refusals in order)
//!
//! 1. The URL path is percent-decoded (a malformed escape or a NUL byte is
//!    400), then split on `/`. Empty and `.` segments are dropped; a `..`
//!    segment is refused with 403: there is no legitimate reason to send one,
//!    and clamping it would hide attacks in the logs. A segment that starts
//!    with a dot (`.git`, `.env`, `.htpasswd`) is refused with 403 too, as
//!    nginx configurations deny `location ~ /\.`: a root is often a checkout
//!    or a deploy directory, and its hidden entries are its secrets.
//! 2. The joined path is canonicalized on the worker pool (`weft::fs`), which
//!    resolves every symlink. A result outside the canonical root is 403: a
//!    symlink inside the root cannot lead out of it. So is a result whose
//!    path below the root has a dot-segment (a symlink `public -> .git`
//!    cannot lead into a hidden directory either). Missing files are 404.
//!
//! Without `--root`, `weft serve` serves no files at all: `/static/...`
//! answers 404 (see [`NO_ROOT`]) and the start-up line says `root=none`.
//! Serving the current directory by default would publish whatever the
//! operator happened to start it from.
//! 3. A directory is served by its `index.html` (resolved the same way);
//!    anything that is not a regular file is 404.
//! 4. Conditional and range requests are decided from the file's
//!    modification time and length (see [`super::conditional`]): 304, 412,
//!    206 or 416 where they apply.
//! 5. The file, or the requested range of it, is read on the pool and sent
//!    with a content type from its extension, `Content-Length`,
//!    `Last-Modified`, `ETag` and `Accept-Ranges: bytes`.
//!
//! Responses are buffered whole, so at most [`MAX_FILE_BYTES`] are sent per
//! response: a larger file is refused (403) unless a range is asked for, and
//! a larger range is cut to that size (the `Content-Range` says so, and
//! clients ask for the rest). This server is a lab instrument, not a CDN.
//!
//! The check and the read are separate pool jobs, so someone who can write
//! inside the root could swap a checked file for a symlink in between; the
//! root is assumed to be writable only by its operator.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use weft::pool::Lane;
use weft_http::{http_date, percent_decode, Request, Response, StatusCode};

use super::conditional::{evaluate, Conditions, Outcome, Validators};

/// Largest body sent in one response: 32 MiB.
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
    pub(crate) fn response(&self) -> Response {
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
const HIDDEN: Refusal = Refusal {
    status: StatusCode::FORBIDDEN,
    reason: "dot-files and dot-directories are not served",
};
/// The answer to every `/static/...` request when `weft serve` runs without `--root`.
pub(crate) const NO_ROOT: Refusal = Refusal {
    status: StatusCode::NOT_FOUND,
    reason: "no static files: weft serve was started without --root",
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

    /// Answers `request` for the file at `url_path` (the part of its path
    /// after `/static/`).
    pub(crate) async fn serve(&self, request: &Request, url_path: &str) -> Response {
        let (file, meta) = match self.resolve(url_path).await {
            Ok(found) => found,
            Err(refusal) => return refusal.response(),
        };
        let len = meta.len();
        let validators = Validators::new(meta.modified().unwrap_or(UNIX_EPOCH), len);
        let mut response = match evaluate(&Conditions::of(request), &validators, len) {
            Outcome::NotModified => Response::new(StatusCode::NOT_MODIFIED),
            Outcome::PreconditionFailed => {
                return Response::error(StatusCode::PRECONDITION_FAILED, "precondition failed")
            }
            Outcome::Unsatisfiable => {
                let mut response =
                    Response::error(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
                set(&mut response, "Content-Range", format!("bytes */{len}"));
                return response;
            }
            Outcome::Full if len > MAX_FILE_BYTES => {
                return Refusal {
                    status: StatusCode::FORBIDDEN,
                    reason: "file larger than weft serve sends whole (32 MiB); ask for a range",
                }
                .response()
            }
            Outcome::Full => match weft::fs::read(&file).await {
                Ok(bytes) => file_response(StatusCode::OK, &file, bytes),
                Err(error) => return fs_refusal(&error).response(),
            },
            Outcome::Partial(range) => {
                let range = range.start..range.end.min(range.start + MAX_FILE_BYTES);
                let content_range = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                let mut response = match read_range(file.clone(), range).await {
                    Ok(bytes) => file_response(StatusCode::PARTIAL_CONTENT, &file, bytes),
                    Err(error) => return fs_refusal(&error).response(),
                };
                set(&mut response, "Content-Range", content_range);
                response
            }
        };
        set(
            &mut response,
            "Last-Modified",
            http_date(validators.modified),
        );
        set(&mut response, "ETag", validators.etag);
        response
    }

    /// Steps 1 to 3 of the module docs: the canonical path of a regular file
    /// under the root, and its metadata.
    async fn resolve(&self, url_path: &str) -> Result<(PathBuf, std::fs::Metadata), Refusal> {
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
                Ok((index, meta))
            } else {
                Err(NOT_FOUND)
            };
        }
        if !meta.is_file() {
            return Err(NOT_FOUND);
        }
        Ok((file, meta))
    }

    async fn canonical_inside(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let canonical = weft::fs::canonicalize(path)
            .await
            .map_err(|e| fs_refusal(&e))?;
        let Ok(below) = canonical.strip_prefix(&*self.root) else {
            return Err(OUTSIDE_ROOT);
        };
        if below.iter().any(|name| name.as_bytes().starts_with(b".")) {
            return Err(HIDDEN);
        }
        Ok(canonical)
    }
}

/// The root as the start-up line shows it: its path, or `none (/static/ answers 404)`.
pub(crate) fn describe(root: Option<&StaticRoot>) -> String {
    root.map_or_else(
        || "none (/static/ answers 404; give --root DIR to serve files)".to_owned(),
        |root| root.path().display().to_string(),
    )
}

/// A response carrying `bytes` of `file`.
fn file_response(status: StatusCode, file: &Path, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(status)
        .with_content_type(content_type(file))
        .with_body(bytes);
    set(&mut response, "Accept-Ranges", "bytes".to_owned());
    response
}

/// Sets a header field whose name and value are known to be valid.
fn set(response: &mut Response, name: &'static str, value: String) {
    response
        .insert_header(name, value)
        .expect("a static name and an ASCII value");
}

/// Reads `range` of the file at `path` on the pool's fs lane (one job:
/// open, then `pread` until the range is read).
async fn read_range(path: PathBuf, range: std::ops::Range<u64>) -> io::Result<Vec<u8>> {
    let job = weft::pool::submit(Lane::Fs, move || {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(&path)?;
        let mut bytes = vec![0; (range.end - range.start) as usize];
        file.read_exact_at(&mut bytes, range.start)?;
        Ok(bytes)
    });
    job.await.map_err(io::Error::other)?
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
            name if name.starts_with(b".") => return Err(HIDDEN),
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
        // Dots inside or at the end of a name are ordinary names.
        assert_eq!(
            relative_path("a..b/b..").unwrap(),
            PathBuf::from("a..b/b..")
        );
    }

    #[test]
    fn dot_files_and_dot_directories_are_refused_in_every_spelling() {
        for path in [
            ".git/config",
            ".env",
            "a/.git/HEAD",
            "%2egit/config",
            "a/%2Ehtpasswd",
            "..a",
            "./.ssh/id_rsa",
        ] {
            assert_eq!(relative_path(path).unwrap_err(), HIDDEN, "{path}");
        }
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
