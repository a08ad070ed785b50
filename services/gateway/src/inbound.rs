//! The step every channel ends its inbound path with: a validated, normalised customer message
//! ([`Submission`]) is accepted — its record and `message.received` event committed together by
//! the group-commit writer — or recognised as a re-send of one accepted before.

use crate::AppState;
use crate::content::Content;
use crate::error::ApiError;
use crate::store::{Acceptance, InboundRecord};
use chrono::Utc;
use kefu_bus::Envelope;
use kefu_proto::events::{Identity, MessageReceived, ProfileHints};
use prost::Message as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use crate::content::{MAX_ID_LEN, MAX_TEXT_CHARS, MAX_URL_LEN, PAGE_TYPES};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: Uuid,
    pub status: &'static str,
}

/// Hash of a message's meaningful content, to tell a re-send from a reused id.
pub fn fingerprint(external_user_id: &str, content: &Content) -> String {
    let mut h = Sha256::new();
    h.update(external_user_id.as_bytes());
    h.update([0]);
    content.digest(&mut h);
    hex::encode(h.finalize())
}

/// A validated customer message from any channel.
pub struct Submission {
    pub external_message_id: String,
    pub external_user_id: String,
    pub content: Content,
    pub identities: Vec<Identity>,
    pub profile: Option<ProfileHints>,
    pub fingerprint: String,
}

/// Accepts a validated message: the inbound record and its `message.received` event are
/// committed together (group commit); a re-send answers like the first time, a reused id with
/// other content is refused.
pub async fn submit(
    state: &AppState,
    channel: &crate::store::entities::channel::Model,
    msg: Submission,
) -> Result<(Accepted, bool), ApiError> {
    let message_id = Uuid::now_v7();
    let received_at = Utc::now();
    let content = msg.content;
    let event = MessageReceived {
        message_id: message_id.to_string(),
        channel_id: channel.id.clone(),
        channel_type: channel.channel_type.clone(),
        external_message_id: msg.external_message_id.clone(),
        external_user_id: msg.external_user_id.clone(),
        text: content.text,
        page: content.page,
        received_at: Some(kefu_proto::time::to_timestamp(received_at)),
        message_type: content.message_type,
        image_url: content.image_url,
        identities: msg.identities,
        action: content.action,
        profile: msg.profile,
        merchant_id: content.merchant_id,
    };
    let envelope = Envelope::new(
        channel.tenant_id.clone(),
        kefu_proto::event_types::MESSAGE_RECEIVED,
        event.encode_to_vec(),
    );
    let record = InboundRecord {
        id: message_id,
        tenant_id: channel.tenant_id.clone(),
        channel_id: channel.id.clone(),
        external_message_id: msg.external_message_id.clone(),
        external_user_id: msg.external_user_id,
        body_sha256: msg.fingerprint,
        received_at,
    };
    let acceptance = state
        .inbound
        .accept(record, envelope)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match acceptance {
        Acceptance::New { message_id } => {
            tracing::info!(%message_id, channel = %channel.id, "message accepted");
            Ok((accepted(message_id), false))
        }
        Acceptance::Duplicate {
            message_id,
            same_body: true,
        } => Ok((accepted(message_id), true)),
        Acceptance::Duplicate {
            same_body: false, ..
        } => Err(ApiError::ReusedMessageId(msg.external_message_id)),
    }
}

fn accepted(message_id: Uuid) -> Accepted {
    Accepted {
        message_id,
        status: "accepted",
    }
}
