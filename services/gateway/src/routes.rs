//! A router that remembers what it registered (method and path), so a test can hold the
//! OpenAPI document (`crate::openapi`) to every route the gateway serves.
//!
//! Not utoipa-axum's `OpenApiRouter`, which would take method and path from the handlers'
//! `#[utoipa::path]` alone: its latest release (0.2) is built on utoipa 5, and the workspace is
//! on utoipa 6, so it would build a second major of utoipa and its derive macros. The test in
//! `openapi.rs` keeps the two lists in step instead; revisit when utoipa-axum follows utoipa 6.

use crate::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};

pub struct Routes {
    pub router: axum::Router<AppState>,
    pub registered: Vec<(Method, &'static str)>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: axum::Router::new(),
            registered: Vec::new(),
        }
    }

    /// Routes `method path` to `handler`.
    pub fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        self.router = self.router.route(path, on(filter, handler));
        self.registered.push((method, path));
        self
    }

    /// Both sets of routes.
    #[must_use]
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.registered.extend(other.registered);
        self
    }
}

/// Every route outside the desk: the document itself, the channels' endpoints, the admin API
/// (tenants, channels, configuration documents, deliveries, customers).
pub fn platform() -> Routes {
    use crate::{admin, channels, customers, tenant_config};
    use Method as M;
    Routes::new()
        .add(M::GET, "/openapi.json", crate::openapi::serve)
        .add(
            M::GET,
            "/v1/channels/{channel_id}/messages",
            channels::receive,
        )
        .add(
            M::POST,
            "/v1/channels/{channel_id}/messages",
            channels::receive,
        )
        .add(
            M::GET,
            "/v1/channels/{channel_id}/ws",
            channels::web::connect,
        )
        .add(
            M::GET,
            "/v1/channels/{channel_id}/media/{media_id}",
            channels::media::serve,
        )
        .add(M::PUT, "/v1/admin/tenants/{tenant_id}", admin::put_tenant)
        .add(
            M::PUT,
            "/v1/admin/channels/{channel_id}",
            admin::put_channel,
        )
        .add(
            M::GET,
            "/v1/admin/channels/{channel_id}",
            admin::get_channel,
        )
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/config",
            tenant_config::list_config,
        )
        .add(
            M::PUT,
            "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}",
            tenant_config::put_config,
        )
        .add(
            M::GET,
            "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}",
            tenant_config::get_config,
        )
        .add(
            M::DELETE,
            "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}",
            tenant_config::delete_config,
        )
        .add(
            M::GET,
            "/v1/admin/deliveries/{message_id}",
            admin::get_delivery,
        )
        .merge(customers::routes())
}
