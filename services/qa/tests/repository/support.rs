//! Domain events as the session publishes them, and the QA state over a test database.

use chrono::{DateTime, Duration, Utc};
use kefu_bus::{BatchItem, Envelope};
use kefu_proto::event_types as t;
use kefu_proto::events as ev;
use kefu_qa::{QaConfig, QaState};
use prost::Message as _;
use sea_orm::{DatabaseConnection, EntityTrait};

pub fn at(base: DateTime<Utc>, s: i64) -> Option<prost_types::Timestamp> {
    Some(kefu_proto::time::to_timestamp(base + Duration::seconds(s)))
}

pub fn conv_ref(conv: &str, merchant: &str) -> Option<ev::ConversationRef> {
    Some(ev::ConversationRef {
        conversation_id: conv.into(),
        customer_id: format!("cust-{conv}"),
        merchant_id: merchant.into(),
        channel_type: "api".into(),
        ..Default::default()
    })
}

pub struct Script {
    pub tenant: String,
    pub conv: String,
    pub merchant: String,
    pub base: DateTime<Utc>,
}

impl Script {
    pub fn new(tenant: &str, conv: &str) -> Self {
        Self {
            tenant: tenant.into(),
            conv: conv.into(),
            merchant: "m1".into(),
            base: Utc::now() - Duration::minutes(10),
        }
    }

    fn envelope(&self, event_type: &str, payload: Vec<u8>) -> Envelope {
        Envelope::new(self.tenant.clone(), event_type, payload)
    }

    pub fn message(&self, seq: u64, sender: &str, agent: &str, text: &str, s: i64) -> Envelope {
        self.envelope(
            t::MESSAGE_CREATED,
            ev::MessageCreated {
                conversation: conv_ref(&self.conv, &self.merchant),
                message_id: format!("{}-m{seq}", self.conv),
                sender_kind: sender.into(),
                agent_id: agent.into(),
                direction: if sender == "customer" { "in" } else { "out" }.into(),
                message_type: "text".into(),
                text: text.into(),
                created_at: at(self.base, s),
                sequence: seq,
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    pub fn note(&self, seq: u64, agent: &str, text: &str, s: i64) -> Envelope {
        self.envelope(
            t::MESSAGE_CREATED,
            ev::MessageCreated {
                conversation: conv_ref(&self.conv, &self.merchant),
                message_id: format!("{}-m{seq}", self.conv),
                sender_kind: "agent".into(),
                agent_id: agent.into(),
                message_type: "text".into(),
                internal: true,
                text: text.into(),
                created_at: at(self.base, s),
                sequence: seq,
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    pub fn handoff(&self, s: i64) -> Envelope {
        self.envelope(
            t::HANDOFF_REQUESTED,
            ev::HandoffRequested {
                conversation_id: self.conv.clone(),
                customer_id: format!("cust-{}", self.conv),
                merchant_id: self.merchant.clone(),
                reason: "human_request".into(),
                requested_at: at(self.base, s),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    pub fn assigned(&self, agent: &str, s: i64) -> Envelope {
        self.envelope(
            t::CONVERSATION_ASSIGNED,
            ev::ConversationAssigned {
                conversation_id: self.conv.clone(),
                agent_id: agent.into(),
                conversation: conv_ref(&self.conv, &self.merchant),
                at: at(self.base, s),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    pub fn closed(&self, agent: &str, s: i64) -> Envelope {
        self.envelope(
            t::CONVERSATION_CLOSED,
            ev::ConversationClosed {
                conversation_id: self.conv.clone(),
                reason: "agent_closed".into(),
                conversation: conv_ref(&self.conv, &self.merchant),
                agent_id: agent.into(),
                closed_by: agent.into(),
                at: at(self.base, s),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }

    pub fn rated(&self, agent: &str, rating: i32, s: i64) -> Envelope {
        self.envelope(
            t::CSAT_RATED,
            ev::CsatRated {
                conversation: conv_ref(&self.conv, &self.merchant),
                agent_id: agent.into(),
                rating,
                at: at(self.base, s),
                ..Default::default()
            }
            .encode_to_vec(),
        )
    }
}

/// The demo policy (../shared/data/qa-policy.yaml, kept as demo/qa-policy.yaml) with a review
/// block, as the `qapolicy` document's spec.
pub fn demo_policy(tenant: &str, review: serde_json::Value) -> serde_json::Value {
    let text = include_str!("../../../../demo/qa-policy.yaml");
    let spec = kefu_crd::qa::parse_policy(text).expect("the demo policy reads");
    let mut v = serde_json::to_value(&spec).unwrap();
    v["tenant"] = tenant.into();
    v["review"] = review;
    v
}

pub fn policy_event(tenant: &str, version: i64, spec: &serde_json::Value) -> Envelope {
    Envelope::new(
        tenant.to_owned(),
        t::TENANT_CONFIG_CHANGED,
        ev::TenantConfigChanged {
            kind: "qapolicy".into(),
            name: "default".into(),
            version,
            deleted: false,
            spec_json: spec.to_string(),
        }
        .encode_to_vec(),
    )
}

pub async fn state(db: &DatabaseConnection) -> QaState {
    kefu_store::testing::migrate::<kefu_qa::store::migration::QaMigrator>(db).await;
    QaState::new(QaConfig::default(), db.clone())
}

pub async fn apply_policy(state: &QaState, tenant: &str, version: i64, spec: &serde_json::Value) {
    kefu_qa::policies::handle(state.clone(), policy_event(tenant, version, spec))
        .await
        .expect("the policy applies");
}

/// Hands the events to the consumer as one batch; every one must succeed.
pub async fn deliver(state: &QaState, events: &[Envelope]) {
    let items = events
        .iter()
        .map(|e| BatchItem {
            envelope: e.clone(),
            span: tracing::Span::none(),
        })
        .collect();
    for (i, r) in kefu_qa::inspect::handle_batch(state.clone(), items)
        .await
        .into_iter()
        .enumerate()
    {
        r.unwrap_or_else(|e| panic!("event {i} failed: {e}"));
    }
}

/// The event types waiting in QA's outbox.
pub async fn outbox_types(db: &DatabaseConnection) -> Vec<(String, Vec<u8>)> {
    kefu_store::entities::outbox::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.event_type, r.payload))
        .collect()
}
