//! The web console's static files, embedded at build time from `web/dist` (see
//! `scripts/build-web` and the `shieldwall-console-assets` crate), and the security headers of
//! every response.
//!
//! The console is a client of the API like any other: these routes serve only files that hold
//! no data, to anyone, and every figure the console shows comes from an API route under the
//! signed-in account's own grants (decision 62). View paths (`/console/alerts/7`) all answer
//! with the same page, whose script draws the view from the path.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::AppState;
use super::problem::Problem;

/// Every built file, as `scripts/build-web` listed it in `web/dist/MANIFEST`.
static FILES: &[(&str, &[u8])] = shieldwall_console_assets::embed_dir!("../../web/dist");

/// The policy of every response: scripts and styles only from this origin's files, nothing
/// inline, no framing, connections only back to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One embedded file with what answering it needs.
struct Asset {
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

fn assets() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .filter(|(name, _)| *name != "MANIFEST")
            .filter_map(|(name, bytes)| {
                let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
                let hex = shieldwall_store::meta::audit::to_hex(digest.as_ref());
                let etag = HeaderValue::from_str(&format!("\"{}\"", hex.get(..32)?)).ok()?;
                Some(Asset {
                    name,
                    bytes,
                    content_type: content_type(name),
                    etag,
                })
            })
            .collect()
    })
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The console's routes: `/` and `/console` lead to `/console/`; under it, files by name and
/// the page for every other path.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route(
            "/console/",
            get(|headers: HeaderMap| async move { page(&headers) }),
        )
        .route("/console/{*path}", get(file))
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.starts_with("assets/") {
        return match assets().iter().find(|a| a.name == path) {
            Some(asset) => answer(asset, &headers),
            None => Problem::not_found("no such console file").into_response(),
        };
    }
    page(&headers)
}

fn page(headers: &HeaderMap) -> Response {
    match assets().iter().find(|a| a.name == "index.html") {
        Some(asset) => answer(asset, headers),
        None => Problem::internal("the console page was not embedded").into_response(),
    }
}

/// The file, or 304 when the client holds this version. Revalidated on every use (`no-cache`):
/// the names carry no version, and the files are small.
fn answer(asset: &Asset, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tags| tags.as_bytes() == asset.etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.bytes.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if !fresh {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
    }
    response
}

/// Adds the security headers to every response, console file or API answer; with TLS also
/// Strict-Transport-Security.
pub async fn security_headers(
    axum::extract::State(tls): axum::extract::State<bool>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        // A report page sets its own, stricter policy (no script at all, sandboxed); every
        // other header is always ours.
        if name == header::CONTENT_SECURITY_POLICY && h.contains_key(&name) {
            continue;
        }
        h.insert(name, HeaderValue::from_static(value));
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_script_and_styles_are_embedded() {
        for name in ["index.html", "assets/console.js", "assets/console.css"] {
            let asset = assets().iter().find(|a| a.name == name);
            assert!(asset.is_some_and(|a| !a.bytes.is_empty()), "{name} missing");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = assets().iter().find(|a| a.name == "index.html");
        let text = page.map(|p| String::from_utf8_lossy(p.bytes).into_owned());
        let text = text.unwrap_or_default();
        assert!(text.contains("<script type=\"module\" src=\"/console/assets/console.js\">"));
        for inline in [
            "<script>",
            "<style",
            " style=",
            "onclick=",
            "onload=",
            "javascript:",
        ] {
            assert!(!text.contains(inline), "the page holds {inline:?}");
        }
    }
}
