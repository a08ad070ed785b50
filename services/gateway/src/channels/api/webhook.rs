//! Sending an outbound message to its channel's webhook: a signed JSON POST carrying the message
//! id as an idempotency key (`X-Kefu-Delivery-Id`) and the trace context (`traceparent`).

use super::super::Outcome;
use crate::signature;
use kefu_proto::events::MessageToSend;
use serde::Serialize;

/// The JSON a channel's webhook receives.
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    pub message_id: &'a str,
    pub conversation_id: &'a str,
    pub channel_id: &'a str,
    pub external_user_id: &'a str,
    pub reply_to: &'a str,
    pub sender: &'a str,
    pub text: &'a str,
    /// text | card | system
    pub message_type: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotPart<'a>>,
}

#[derive(Debug, Serialize)]
pub struct BotPart<'a> {
    pub faq_id: &'a str,
    pub intent: &'a str,
    pub confidence: f64,
    pub suggestions: &'a [String],
    pub handoff: bool,
    pub reason: &'a str,
    pub action: &'a str,
}

impl<'a> WebhookBody<'a> {
    pub fn from_event(m: &'a MessageToSend) -> Self {
        Self {
            message_id: &m.message_id,
            conversation_id: &m.conversation_id,
            channel_id: &m.channel_id,
            external_user_id: &m.external_user_id,
            reply_to: &m.reply_to_external_message_id,
            sender: &m.sender_kind,
            text: &m.text,
            message_type: if m.message_type.is_empty() {
                "text"
            } else {
                &m.message_type
            },
            cards: crate::cards::cards_json(&m.cards),
            bot: m.bot.as_ref().map(|b| BotPart {
                faq_id: &b.faq_id,
                intent: &b.intent,
                confidence: b.confidence,
                suggestions: &b.suggestions,
                handoff: b.handoff,
                reason: &b.reason,
                action: &b.action,
            }),
        }
    }
}

pub async fn send(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    message: &MessageToSend,
    attempt: u32,
) -> Outcome {
    let body = match serde_json::to_vec(&WebhookBody::from_event(message)) {
        Ok(b) => b,
        Err(e) => return Outcome::Reject(format!("encoding: {e}")),
    };
    let mut headers = http::HeaderMap::new();
    kefu_telemetry::http_trace::inject_headers(&mut headers);
    let request = http
        .post(url)
        .headers(headers)
        .header("content-type", "application/json")
        .header(signature::HEADER, signature::sign(secret.as_bytes(), &body))
        .header("x-kefu-delivery-id", message.message_id.as_str())
        .header("x-kefu-attempt", attempt.to_string())
        .body(body);
    match request.send().await {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered,
        Ok(resp) => {
            let status = resp.status();
            let msg = format!("webhook answered {status}");
            if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Outcome::Retry(msg)
            } else {
                Outcome::Reject(msg)
            }
        }
        // Errors without the URL: webhook URLs often carry a token.
        Err(e) if e.is_builder() => {
            Outcome::Reject(format!("bad webhook URL: {}", e.without_url()))
        }
        Err(e) => Outcome::Retry(format!("webhook unreachable: {}", e.without_url())),
    }
}
