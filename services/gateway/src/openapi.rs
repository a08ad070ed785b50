//! `GET /openapi.json`: the OpenAPI 3.1 document of every HTTP route the gateway serves — the
//! desk API (`crate::desk::openapi`), the admin API, the channels' endpoints and the pages —
//! derived from the handlers' annotations; a test holds it to the routes actually registered.

use crate::desk::json;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::admin::put_tenant,
        crate::admin::put_channel,
        crate::admin::get_channel,
        crate::admin::get_delivery,
        crate::tenant_config::list_config,
        crate::tenant_config::put_config,
        crate::tenant_config::get_config,
        crate::tenant_config::delete_config,
        crate::customers::find,
        crate::customers::get_profile,
        crate::customers::patch_profile,
        crate::customers::history,
        crate::customers::merge,
        crate::customers::unmerge,
        crate::customers::conversation,
        crate::customers::get_settings,
        crate::customers::put_settings,
        crate::channels::receive,
        crate::channels::media::serve,
        crate::channels::web::connect,
        serve,
    ),
    modifiers(&Pages)
)]
struct PlatformApi;

/// The errors admin routes answer (bodies as in `crate::error`).
#[derive(utoipa::IntoResponses)]
pub enum AdminErrors {
    #[response(status = 400, description = "The body is not JSON (or not UTF-8)")]
    BadBody(json::Error),
    #[response(
        status = 401,
        description = "Missing or wrong admin token (`Authorization: Bearer`)"
    )]
    Unauthorized(json::Error),
    #[response(status = 404, description = "No such resource")]
    NotFound(json::Error),
    #[response(status = 409, description = "Not possible in the current state")]
    Conflict(json::Error),
    #[response(status = 413, description = "The body is over the size limit")]
    TooLarge(json::Error),
    #[response(status = 422, description = "A field is invalid; `field` names it")]
    Invalid(json::Error),
    #[response(
        status = 503,
        description = "A service behind the gateway is unavailable"
    )]
    Unavailable(json::Error),
}

/// The errors channel endpoints answer when the provider's protocol has no answer of its own.
#[derive(utoipa::IntoResponses)]
pub enum ChannelErrors {
    #[response(status = 400, description = "The body or a parameter cannot be read")]
    BadBody(json::Error),
    #[response(
        status = 401,
        description = "The signature or token does not verify (`field` names it)"
    )]
    Unauthorized(json::Error),
    #[response(status = 403, description = "The channel does not allow this")]
    Forbidden(json::Error),
    #[response(
        status = 404,
        description = "No such channel, or the channel is disabled"
    )]
    NotFound(json::Error),
    #[response(
        status = 405,
        description = "The channel's type does not take this method"
    )]
    MethodNotAllowed(json::Error),
    #[response(
        status = 409,
        description = "The same provider id with a different body"
    )]
    Conflict(json::Error),
    #[response(status = 413, description = "The body is over the size limit")]
    TooLarge(json::Error),
    #[response(status = 422, description = "A field is invalid; `field` names it")]
    Invalid(json::Error),
    #[response(status = 429, description = "Too many requests for this channel")]
    TooMany(json::Error),
    #[response(status = 503, description = "Kefu cannot store it now; retry")]
    Unavailable(json::Error),
}

/// The pages and their assets (`crate::web`), which have no handler of their own to annotate.
struct Pages;

impl utoipa::Modify for Pages {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for asset in crate::web::ASSETS {
            let ok = ResponseBuilder::new()
                .description("The file")
                .content(asset.content_type, ContentBuilder::new().build())
                .build();
            let not_modified = ResponseBuilder::new()
                .description("Unchanged since the `If-None-Match` ETag")
                .build();
            let operation = OperationBuilder::new()
                .tags(Some(["pages"]))
                .summary(Some(format!("The embedded file {}", asset.path)))
                .response("200", ok)
                .response("304", not_modified)
                .build();
            openapi.paths.paths.insert(
                asset.path.to_owned(),
                PathItem::new(HttpMethod::Get, operation),
            );
        }
    }
}

/// The whole document, built once.
pub fn api() -> utoipa::openapi::OpenApi {
    let mut doc = crate::desk::openapi::DeskApi::openapi();
    doc.merge(PlatformApi::openapi());
    doc.info.title = "Kefu gateway API".into();
    doc.info.description = Some(
        "Every HTTP route of the gateway: the channels' endpoints (each channel type's own \
protocol), the admin API (`Authorization: Bearer` with the admin token), the desk API of agents, \
supervisors and admins (an agent token from sign-in, or the admin token), and the pages. Errors \
are `{\"error\", \"message\", \"field\"}`."
            .into(),
    );
    doc
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| api().to_json().expect("the OpenAPI document serializes"))
}

#[utoipa::path(get, path = "/openapi.json", tag = "pages",
    responses((status = 200, description = "This document", body = Object)))]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn operation<'a>(
        item: &'a PathItem,
        method: &Method,
    ) -> Option<&'a utoipa::openapi::path::Operation> {
        match *method {
            Method::GET => item.get.as_ref(),
            Method::PUT => item.put.as_ref(),
            Method::POST => item.post.as_ref(),
            Method::DELETE => item.delete.as_ref(),
            Method::PATCH => item.patch.as_ref(),
            _ => None,
        }
    }

    /// Every route the gateway registers, pages included.
    fn registered() -> Vec<(Method, String)> {
        let mut all: Vec<(Method, String)> = crate::desk::routes()
            .registered
            .into_iter()
            .chain(crate::routes::platform().registered)
            .map(|(m, p)| (m, p.to_owned()))
            .collect();
        all.extend(
            crate::web::ASSETS
                .iter()
                .map(|a| (Method::GET, a.path.to_owned())),
        );
        all
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = api();
        let registered = registered();
        for (method, path) in &registered {
            let item = doc
                .paths
                .paths
                .get(path)
                .unwrap_or_else(|| panic!("{method} {path} is routed but not documented"));
            assert!(
                operation(item, method).is_some(),
                "{method} {path} is routed but not documented"
            );
        }
        for (path, item) in &doc.paths.paths {
            for method in [
                Method::GET,
                Method::PUT,
                Method::POST,
                Method::DELETE,
                Method::PATCH,
            ] {
                if operation(item, &method).is_some() {
                    assert!(
                        registered.iter().any(|(m, p)| *m == method && p == path),
                        "{method} {path} is documented but not routed"
                    );
                }
            }
        }
    }

    #[test]
    fn every_operation_with_a_body_documents_400_413_and_422() {
        let doc = api();
        for (path, item) in &doc.paths.paths {
            for (method, op) in [
                ("PUT", &item.put),
                ("POST", &item.post),
                ("PATCH", &item.patch),
            ] {
                let Some(op) = op else { continue };
                if op.request_body.is_none() {
                    continue;
                }
                for status in ["400", "413", "422"] {
                    assert!(
                        op.responses.responses.contains_key(status),
                        "{method} {path} takes a body but does not document {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_served_document_is_the_whole_one() {
        let served: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert_eq!(served["openapi"], "3.1.0");
        for path in [
            "/v1/admin/channels/{channel_id}",
            "/v1/channels/{channel_id}/messages",
            "/v1/tenants/{tenant_id}/auth/login",
            "/v1/admin/tenants/{tenant_id}/customers/{customer_id}",
            "/chat",
        ] {
            assert!(served["paths"][path].is_object(), "{path} missing");
        }
    }
}
