//! The browser front ends, served from the binary: the customer chat widget (`/widget.js`, one
//! script tag on a tenant's site; `/chat`, the standalone H5 page), the agents' workbench
//! (`/desk`) and the supervisors' board (`/board`).
//!
//! They are plain HTML, CSS and JavaScript modules from `services/gateway/web/`, compiled in
//! with `include_bytes!` so `make run` needs no JS toolchain and a deployed gateway cannot
//! serve a page from another version than its API. Pages carry a strict Content-Security-Policy
//! (scripts and styles from this origin only, no inline code); assets are revalidated by ETag.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Pages may load scripts, styles and data only from this origin (`'self'` covers the same
/// origin's `ws:`/`wss:` in CSP 3); images may come from anywhere over http(s) because cards
/// and customers' pictures live on tenants' CDNs.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: http: data:; connect-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../web/", $file)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

pub static ASSETS: &[Asset] = &[
    asset!("/chat", HTML, "chat.html"),
    asset!("/desk", HTML, "desk.html"),
    asset!("/board", HTML, "board.html"),
    asset!("/widget.js", JS, "widget.js"),
    asset!("/web/app.css", CSS, "app.css"),
    asset!("/web/common.js", JS, "common.js"),
    asset!("/web/desk.js", JS, "desk.js"),
    asset!("/web/board.js", JS, "board.js"),
    asset!("/web/icon.svg", "image/svg+xml", "icon.svg"),
];

/// Strong ETags, computed once: the bytes never change while the binary runs.
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.body);
            HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
                .expect("hex is a valid header value")
        })
        .collect()
});

/// The routes of every page and asset.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS
        .iter()
        .enumerate()
        .fold(Router::new(), |router, (i, asset)| {
            router.route(
                asset.path,
                get(move |headers: HeaderMap| async move { serve(i, &headers) }),
            )
        })
}

fn serve(i: usize, request: &HeaderMap) -> Response {
    let asset = &ASSETS[i];
    let etag = ETAGS[i].clone();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::ETAG, etag.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Pages always revalidate (a new deploy shows at once); scripts and styles may be reused
    // for five minutes, then revalidated — the ETag makes that a 304 without a body.
    let cache = if asset.content_type == HTML {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if asset.content_type == HTML {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    if asset.path == "/widget.js" {
        // Loaded by tenants' sites, which may isolate themselves (COEP).
        headers.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
    }
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == etag.to_str().unwrap_or(""))
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get_path(path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        routes::<()>()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn pages_have_a_strict_policy_and_assets_their_type() {
        for page in ["/chat", "/desk", "/board"] {
            let r = get_path(page, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{page}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], HTML);
            let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(csp.contains("script-src 'self';"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        }
        let js = get_path("/widget.js", None).await;
        assert_eq!(js.headers()[header::CONTENT_TYPE], JS);
        assert_eq!(js.headers()[header::CACHE_CONTROL], "public, max-age=300");
        let css = get_path("/web/app.css", None).await;
        assert_eq!(css.headers()[header::CONTENT_TYPE], CSS);
        assert_eq!(
            get_path("/web/nothing.js", None).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn a_known_etag_is_not_modified() {
        let first = get_path("/web/desk.js", None).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = get_path("/web/desk.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get_path("/web/desk.js", Some("\"stale\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[test]
    fn pages_load_nothing_inline() {
        // The policy forbids inline scripts, styles and handlers: a page that used them would
        // be broken in the browser, so catch it here.
        for a in ASSETS.iter().filter(|a| a.content_type == HTML) {
            let text = std::str::from_utf8(a.body).unwrap();
            for bad in ["<script>", "style=\"", " onclick=", "<style"] {
                assert!(!text.contains(bad), "{} contains {bad}", a.path);
            }
        }
    }
}
