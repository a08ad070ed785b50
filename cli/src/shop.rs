//! The demo shop of `kefu dev`: a tenant's product page with the chat widget on it, as a real
//! shop would embed it — one script tag with the page context, and an identity token for the
//! signed-in member minted server-side with the web channel's secret (here 李雷, whose orders
//! are in the demo order system, so they show in the agent's customer panel).

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub const SHOP_PATH: &str = "/demo/shop";
/// How long a minted identity token lives (the gateway refuses more than 30 days).
const TOKEN_LIFETIME_S: i64 = 12 * 3600;

/// (product id, name, price, description)
const PRODUCTS: &[(&str, &str, &str, &str)] = &[
    (
        "ring-7",
        "足金素圈戒指 7号圈口 · Solid gold band, size 7",
        "¥1,299.00",
        "999足金，简约素圈，支持刻字。平台自营，顺丰包邮，七天无理由退换。",
    ),
    (
        "P-NUT-01",
        "每日坚果礼盒 750g · Daily nuts gift box",
        "¥129.00",
        "六种坚果果干科学配比，独立小包装，每日一袋。",
    ),
];

const CSS: &str = "body{margin:0;font:15px/1.5 system-ui,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#222;background:#fafafa}\
header{background:#222;color:#fff;padding:12px 32px;font-weight:700}\
main{max-width:980px;margin:32px auto;display:grid;grid-template-columns:360px 1fr;gap:40px;padding:0 24px}\
.pic{height:360px;border-radius:12px;background:radial-gradient(circle at 50% 50%,#fafafa 0 34%,#e8b923 35% 47%,#fff6d5 48% 100%)}\
h1{font-size:24px;margin:0 0 12px}.price{font-size:28px;color:#e1251b;font-weight:700}\
button{font:inherit;padding:10px 28px;border:0;border-radius:6px;background:#e1251b;color:#fff}";

pub fn router() -> Router {
    Router::new()
        .route(&format!("{SHOP_PATH}/product/{{id}}"), get(product))
        .route(&format!("{SHOP_PATH}/shop.css"), get(css))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CSS,
    )
        .into_response()
}

async fn product(Path(id): Path<String>) -> Response {
    let Some((id, name, price, about)) = PRODUCTS.iter().find(|p| p.0 == id) else {
        return (StatusCode::NOT_FOUND, "no such product in the demo shop").into_response();
    };
    let token = member_token(chrono::Utc::now().timestamp());
    let html = format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name} · Kefu 演示商城</title>
<link rel="icon" href="/web/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{SHOP_PATH}/shop.css">
</head>
<body>
<header>Kefu 演示商城 Demo Mall · 欢迎，李雷</header>
<main>
  <div class="pic" role="img" aria-label="{name}"></div>
  <section>
    <h1>{name}</h1>
    <p class="price">{price}</p>
    <p>{about}</p>
    <button type="button">加入购物车 Add to cart</button>
  </section>
</main>
<script src="/widget.js" data-channel="{channel}" data-page-type="product" data-product-id="{id}" data-token="{token}"></script>
</body>
</html>
"#,
        channel = crate::dev::DEMO_WEB_CHANNEL,
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

/// The identity token a shop's server gives the widget for its signed-in member.
fn member_token(now: i64) -> String {
    let claims = serde_json::json!({
        "sub": "u-1001",
        "exp": now + TOKEN_LIFETIME_S,
        "phone": "13800000001",
        "member_id": "M1001",
        "name": "李雷",
        "tier": "gold",
        "language": "zh-Hans",
    });
    kefu_gateway::identity_token::sign(&claims, crate::dev::DEMO_WEB_SECRET.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_member_token_verifies_under_the_web_channel_secret() {
        let now = 1_800_000_000;
        let who = kefu_gateway::identity_token::verify(
            &member_token(now),
            crate::dev::DEMO_WEB_SECRET.as_bytes(),
            now,
        )
        .expect("a valid token");
        assert_eq!(who.user_id, "u-1001");
        assert!(
            who.identities
                .iter()
                .any(|i| i.kind == "phone" && i.value == "13800000001")
        );
    }
}
