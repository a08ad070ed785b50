//! A running Kefu, whichever mode started it, plus the test's own channel.

use kefu_tests::{GatewayClient, OtlpReceiver, Service, WebhookReceiver};

pub const TENANT: &str = "demo";
pub const ADMIN_TOKEN: &str = "e2e-admin-token";

pub struct Platform {
    pub gateway: GatewayClient,
    /// The session service's gRPC endpoint (`http://host:port`).
    pub session_grpc: String,
    /// The analytics service's gRPC endpoint.
    pub analytics_grpc: String,
    pub otlp: OtlpReceiver,
    /// `service.name` of the spans expected in one message's trace, with a span name each
    /// must contain.
    pub expected_spans: Vec<(&'static str, &'static str)>,
    pub services: Vec<Service>,
    /// The domain events the platform published.
    pub events: kefu_tests::events::EventTap,
    /// The order system the bot and session call (kept alive with the platform).
    pub _orders: Option<OrderSystem>,
}

/// A demo order system served by the test process, standing in for a tenant's real one.
pub struct OrderSystem {
    pub url: String,
    pub token: String,
    _stop: tokio_util::sync::DropGuard,
}

impl OrderSystem {
    pub async fn start() -> Self {
        let token = format!("orders-{}", uuid::Uuid::new_v4().simple());
        let sys = kefu_orders::demo::DemoOrderSystem::demo(&token);
        let (listener, addr) = kefu_lifecycle::bind("127.0.0.1:0").await.unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(kefu_lifecycle::serve_http(
            listener,
            sys.router(),
            stop.clone(),
        ));
        Self {
            url: format!("http://{addr}"),
            token,
            _stop: stop.drop_guard(),
        }
    }
}

/// A web chat channel of the test's own.
pub struct WebChannel {
    pub id: String,
    pub secret: String,
}

/// A channel of the test's own, replying to a webhook receiver of its own.
pub struct TestChannel {
    pub id: String,
    pub secret: String,
    pub webhook: WebhookReceiver,
}

impl Platform {
    pub async fn web_channel(&self, id: &str) -> WebChannel {
        let secret = format!("web-secret-{}", uuid::Uuid::new_v4().simple());
        let t = self.gateway.upsert_tenant(TENANT, "E2E 商城").await;
        assert_eq!(t.status, 200, "upsert tenant: {:?}", t.body);
        let c = self.gateway.upsert_web_channel(id, TENANT, &secret).await;
        assert_eq!(c.status, 200, "upsert web channel: {:?}", c.body);
        WebChannel {
            id: id.to_owned(),
            secret,
        }
    }

    pub async fn channel(&self, id: &str) -> TestChannel {
        let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
        let webhook = WebhookReceiver::start(&secret).await;
        let t = self.gateway.upsert_tenant(TENANT, "E2E 商城").await;
        assert_eq!(t.status, 200, "upsert tenant: {:?}", t.body);
        let c = self
            .gateway
            .upsert_channel(id, TENANT, &secret, &webhook.url)
            .await;
        assert_eq!(c.status, 200, "upsert channel: {:?}", c.body);
        TestChannel {
            id: id.to_owned(),
            secret,
            webhook,
        }
    }
}
