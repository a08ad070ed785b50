//! The desk API's part of the OpenAPI 3.1 document (`crate::openapi` serves the whole one), derived from the handlers'
//! annotations and the [`super::json`] types they send and receive.

use super::{accounts, analytics, auth, orders, qa, queues, socket, tickets, work};
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kefu desk API",
        description = "Agents, supervisors and admins of a tenant: sign-in, agent accounts, \
canned responses, the work on handed-off conversations, supervision, analytics (reports, CSV \
export, hot topics, the real-time view; metrics defined in docs/metrics.md), and the desk WebSocket. \
Every route but sign-in takes `Authorization: Bearer` with an agent token or the admin token; \
errors are `{\"error\", \"message\", \"field\"}`."
    ),
    paths(
        auth::login,
        accounts::me,
        accounts::set_my_status,
        accounts::list_agents,
        accounts::create_agent,
        accounts::get_agent,
        accounts::put_agent,
        accounts::delete_agent,
        accounts::set_agent_status,
        accounts::list_canned,
        accounts::create_canned,
        accounts::put_canned,
        accounts::delete_canned,
        work::list,
        work::get,
        work::messages,
        work::reply,
        work::accept,
        work::note,
        work::transfer,
        work::close,
        work::monitor,
        work::whisper,
        work::join,
        work::typing,
        work::queues,
        queues::put_queue,
        queues::delete_queue,
        work::customer,
        work::customer_history,
        analytics::report,
        analytics::hot_topics,
        analytics::realtime,
        analytics::check,
        orders::report,
        socket::connect,
        tickets::create,
        tickets::list,
        tickets::fetch,
        tickets::update,
        tickets::comment,
        qa::get_policy,
        qa::put_policy,
        qa::conversation,
        qa::appeal,
        qa::settle,
        qa::agent_scores,
        qa::rescore,
        qa::reviews,
        qa::submit_review,
        qa::accuracy,
    ),
    modifiers(&BearerAuth)
)]
pub struct DeskApi;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An agent token from /auth/login (12 h), or the admin token",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        DeskApi::openapi()
            .to_json()
            .expect("the OpenAPI document serializes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn operation<'a>(
        item: &'a utoipa::openapi::PathItem,
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

    #[test]
    fn every_desk_route_is_documented_and_nothing_else() {
        let doc = DeskApi::openapi();
        let registered = crate::desk::routes().registered;
        for (method, path) in &registered {
            let item = doc
                .paths
                .paths
                .get(*path)
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
    fn the_document_is_openapi_3_1_with_the_json_types() {
        let v: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        let schemas = &v["components"]["schemas"];
        for name in [
            "Agent",
            "AgentBody",
            "WorkConversation",
            "Handoff",
            "TranscriptLine",
            "Message",
            "Card",
            "TransferBody",
            "QueueStats",
            "LoginResponse",
            "Report",
            "HotTopics",
            "RealtimeView",
            "Error",
        ] {
            assert!(schemas.get(name).is_some(), "schema {name} missing");
        }
        assert!(
            v["components"]["securitySchemes"]["bearer"].is_object(),
            "bearer scheme missing"
        );
        let transfer = &schemas["TransferBody"]["properties"];
        assert!(transfer["to_agent_id"].is_object() && transfer["to_queue"].is_object());
    }
}
