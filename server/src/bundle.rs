//! The app's bundle (`/pkg/…`) under content-addressed names, so a browser keeps it for good and
//! still never runs a stale one.
//!
//! Pages load `/pkg/<hash>/herald.{js,wasm,css}`, where `<hash>` is the first 16 hex digits of a
//! SHA-256 over the three files. Such an address names one build's bytes forever, so it is
//! served `Cache-Control: public, max-age=31536000, immutable`: a phone that has it never asks
//! again, and the service worker answers it from its cache first. A new build has a new hash, so
//! a page never meets another build's bundle; a hash that is not the current one is a 404 (its
//! files are gone). The plain `/pkg/herald.js`… stay, `no-cache`, for whatever still names them
//! (an earlier release's service worker, tools).
//!
//! The three files share one hash: they are built together (the script is the wasm's glue), and
//! a page needs all three of one build. The hash is taken from the files on disk, and again
//! whenever a file's size or modification time changes (`cargo leptos watch` rebuilds under a
//! running server), so a page always names the bundle it will be served. Both kinds of address
//! come from the build's precompressed copies (see [`crate::transport`]).

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use leptos::config::LeptosOptions;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// How long a hashed address may be kept: a year, the longest caches honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Hex digits of the hash in an address: 64 bits, no collision between builds in practice.
const HASH_LEN: usize = 16;

/// The bundle in a site's `pkg` directory, and its current hash.
#[derive(Clone)]
pub struct Bundle {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// `herald.js`, `herald.wasm`, `herald.css`.
    files: [String; 3],
    /// The hash, and the files' sizes and modification times it was taken at.
    known: Mutex<Option<(Vec<Stamp>, String)>>,
}

type Stamp = Option<(u64, SystemTime)>;

impl Bundle {
    pub fn new(options: &LeptosOptions) -> Self {
        let name = &options.output_name;
        Self {
            inner: Arc::new(Inner {
                dir: Path::new(&*options.site_root).join(&*options.site_pkg_dir),
                files: [
                    format!("{name}.js"),
                    format!("{name}.wasm"),
                    format!("{name}.css"),
                ],
                known: Mutex::new(None),
            }),
        }
    }

    /// The current build's hash.
    pub fn hash(&self) -> String {
        let inner = &self.inner;
        let stamps: Vec<Stamp> = inner
            .files
            .iter()
            .map(|file| {
                let meta = std::fs::metadata(inner.dir.join(file)).ok()?;
                Some((meta.len(), meta.modified().ok()?))
            })
            .collect();
        let mut known = inner.known.lock().unwrap_or_else(PoisonError::into_inner);
        match &*known {
            Some((at, hash)) if *at == stamps => hash.clone(),
            _ => {
                let hash = self.digest();
                *known = Some((stamps, hash.clone()));
                hash
            }
        }
    }

    fn digest(&self) -> String {
        let mut sha = Sha256::new();
        for file in &self.inner.files {
            sha.update(file.as_bytes());
            // A missing file (no site built) hashes as empty: its address then finds nothing.
            if let Ok(mut f) = std::fs::File::open(self.inner.dir.join(file)) {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = f.read(&mut buf) {
                    sha.update(&buf[..n]);
                }
            }
        }
        let digest = sha.finalize();
        digest
            .iter()
            .take(HASH_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// `options` as a page renders them: the bundle's directory is its hashed address, which
    /// Leptos's hydration scripts and the shell's stylesheet link are built from.
    pub fn page_options(&self, options: &LeptosOptions) -> LeptosOptions {
        let mut options = options.clone();
        options.site_pkg_dir = format!("{}/{}", options.site_pkg_dir, self.hash()).into();
        options
    }

    /// Answers `/pkg/<path>` (see the module's comment).
    pub async fn serve(self, request: Request) -> Response {
        let Some(path) = request.uri().path().strip_prefix("/pkg/") else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let (file, cache_control) = match path.split_once('/') {
            Some((hash, file)) if is_hash(hash) => {
                if hash != self.hash() || !self.inner.files.iter().any(|f| f == file) {
                    return StatusCode::NOT_FOUND.into_response();
                }
                (file.to_owned(), IMMUTABLE)
            }
            _ => (path.to_owned(), "no-cache"),
        };
        let (mut parts, body) = request.into_parts();
        parts.uri = match Uri::builder().path_and_query(format!("/{file}")).build() {
            Ok(uri) => uri,
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        };
        let files = ServeDir::new(&self.inner.dir)
            .precompressed_br()
            .precompressed_gzip();
        let Ok(response) = files.oneshot(Request::from_parts(parts, body)).await;
        let status = response.status();
        let mut response = response.map(Body::new);
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            );
        }
        response
    }
}

fn is_hash(segment: &str) -> bool {
    segment.len() == HASH_LEN && segment.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(dir: &Path) -> Bundle {
        let options = LeptosOptions::builder()
            .output_name("herald")
            .site_root(dir.to_str().unwrap())
            .site_pkg_dir("pkg")
            .build();
        Bundle::new(&options)
    }

    #[test]
    fn the_hash_changes_with_any_file_and_only_then() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for file in ["herald.js", "herald.wasm", "herald.css"] {
            std::fs::write(pkg.join(file), file).unwrap();
        }
        let bundle = bundle(site.path());
        let first = bundle.hash();
        assert!(is_hash(&first), "{first}");
        assert_eq!(bundle.hash(), first, "unchanged files, the same hash");
        assert_eq!(
            bundle
                .page_options(&LeptosOptions::builder().output_name("herald").build())
                .site_pkg_dir
                .as_ref(),
            format!("pkg/{first}")
        );

        // A rebuild of the stylesheet alone, of another length: a new address for all three.
        std::fs::write(pkg.join("herald.css"), "body { color: teal }").unwrap();
        let second = bundle.hash();
        assert_ne!(second, first);
        // A fresh server over the same files names them alike.
        assert_eq!(self::bundle(site.path()).hash(), second);
    }

    #[test]
    fn only_a_hash_shaped_segment_is_an_address() {
        assert!(is_hash("0123456789abcdef"));
        assert!(!is_hash("0123456789abcde"));
        assert!(!is_hash("snippets-0123456"));
        assert!(!is_hash("herald.wasm"));
    }
}
