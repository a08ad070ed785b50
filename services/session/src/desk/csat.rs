//! CSAT ratings and the customer's place in the queue. The `Desk` trait methods in [`super::grpc`]
//! delegate here.

use super::events;
use super::grpc::*;
use super::ops::{self, Say};
use super::router;
use super::setup;
use crate::SessionState;
use crate::domain;
use crate::grpc::{internal, parse_id};
use crate::store as repo;
use crate::store::desk::{self as store, Change, WorkState};
use crate::store::entities::{conversation, work_item};
use chrono::Utc;
use kefu_proto::desk::{MAX_TEXT_CHARS as MAX_TEXT, invalid};
use kefu_proto::session::*;
use kefu_store::sea_orm::TransactionTrait;
use kefu_store::{Scoped, StoreError};
use kefu_worker::outbox;
use tonic::Status;

impl DeskGrpc {
    pub(super) async fn serve_rate(&self, req: RateRequest) -> Result<WorkConversation, Status> {
        if req.tenant_id.is_empty() {
            return Err(invalid("tenant_id", "is required"));
        }
        if !(1..=5).contains(&req.rating) {
            return Err(invalid("rating", "1 to 5"));
        }
        check_text("comment", &req.comment, MAX_TEXT)?;
        let id = parse_id("conversation_id", &req.conversation_id)?;
        let w = work_item::Entity::get(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        if w.state != WorkState::Closed {
            return Err(Status::failed_precondition(
                "conversation_id: not closed yet",
            ));
        }
        if w.csat != 0 {
            return Err(Status::failed_precondition(
                "conversation_id: already rated",
            ));
        }
        let n = rate(&self.state, &w, req.rating, req.comment)
            .await
            .map_err(internal)?
            .ok_or_else(Self::stale)?;
        self.view(n).await
    }

    pub(super) async fn serve_queue_position(
        &self,
        req: QueuePositionRequest,
    ) -> Result<QueuePosition, Status> {
        for (field, v) in [
            ("tenant_id", &req.tenant_id),
            ("channel_id", &req.channel_id),
            ("external_user_id", &req.external_user_id),
        ] {
            if v.is_empty() || v.len() > 256 {
                return Err(invalid(field, "1–256 characters"));
            }
        }
        let db = &self.state.db;
        let none = || {
            Ok(QueuePosition {
                state: "none".into(),
                ..QueuePosition::default()
            })
        };
        let Some(c) =
            repo::find_channel_customer(db, &req.tenant_id, &req.channel_id, &req.external_user_id)
                .await
                .map_err(internal)?
        else {
            return none();
        };
        // A merged customer's work lives under the survivor.
        let customer = repo::customers::get_customer(db, &req.tenant_id, c.id)
            .await
            .map_err(internal)?
            .map_or(c.id, |c| c.id);
        let Some(w) = store::open_work_for_customer(db, &req.tenant_id, customer)
            .await
            .map_err(internal)?
        else {
            return none();
        };
        let mut out = QueuePosition {
            state: w.state.as_str().to_owned(),
            queue: w.queue.clone(),
            agent_id: w.agent_id.clone(),
            conversation_id: w.conversation_id.to_string(),
            ..QueuePosition::default()
        };
        if matches!(w.state, WorkState::Waiting | WorkState::LeftMessage) {
            let setup = setup::load(db, &req.tenant_id).await.map_err(internal)?;
            let r = kefu_routing::Router::new(setup.policy.clone());
            let now = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
            let key = |x: &work_item::Model| {
                // Left messages rank below every live conversation, as the router serves them.
                let live = x.state == WorkState::Waiting;
                (
                    live,
                    r.priority(&router::waiting_of(x), now),
                    std::cmp::Reverse(x.enqueued_at),
                )
            };
            let mine = key(&w);
            let queued = store::queued_in(db, &req.tenant_id, &w.queue)
                .await
                .map_err(internal)?;
            let ahead = queued
                .iter()
                .filter(|x| x.conversation_id != w.conversation_id)
                .filter(|x| {
                    let k = key(x);
                    (k.0, k.1, k.2).partial_cmp(&(mine.0, mine.1, mine.2))
                        == Some(std::cmp::Ordering::Greater)
                })
                .count();
            out.position = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
            out.waiting = u32::try_from(queued.len()).unwrap_or(u32::MAX);
        }
        Ok(out)
    }
}

/// Stores a customer's rating of a closed conversation (a later rating replaces an earlier one)
/// and thanks them.
pub async fn rate(
    state: &SessionState,
    w: &work_item::Model,
    rating: u32,
    comment: String,
) -> Result<Option<work_item::Model>, StoreError> {
    let txn = state.db.begin().await?;
    let evs = rate_in(&txn, w, rating, comment).await?;
    if evs.is_empty() {
        txn.rollback().await?;
        return Ok(None);
    }
    outbox::enqueue_many(&txn, &evs).await?;
    txn.commit().await?;
    state.outbox.dispatch(evs);
    work_item::Entity::get(&state.db, &w.tenant_id, w.conversation_id).await
}

/// The rating inside the caller's transaction; returns the events to publish (none when the
/// item moved on meanwhile). The caller writes them to the outbox.
pub async fn rate_in<C: kefu_store::sea_orm::ConnectionTrait>(
    txn: &C,
    w: &work_item::Model,
    rating: u32,
    comment: String,
) -> Result<Vec<kefu_bus::Envelope>, StoreError> {
    // One rating per conversation: a second tap changes nothing (and is not thanked twice).
    if w.csat != 0 {
        return Ok(Vec::new());
    }
    let change = Change {
        csat: Some((i32::try_from(rating).unwrap_or(0), comment)),
        ..Change::default()
    };
    let Some(n) = store::change(
        txn,
        &w.tenant_id,
        w.conversation_id,
        w.version,
        &[WorkState::Closed],
        change,
    )
    .await?
    else {
        return Ok(Vec::new());
    };
    let mut changes = vec![domain::csat_rated(&n, Utc::now())];
    if let Some(c) = conversation::Entity::get(txn, &w.tenant_id, w.conversation_id).await? {
        let text = ops::localized(
            &n.language,
            "感谢您的评价！",
            "感謝您的評價！",
            "Thank you for your rating!",
        );
        let (_, sent) = ops::say(
            txn,
            &c,
            &n,
            Say::system(
                text,
                Vec::new(),
                format!("csat-thanks:{}:{}", n.conversation_id, n.version),
            ),
        )
        .await?;
        changes.extend(sent);
    }
    tracing::info!(conversation = %n.conversation_id, rating, "rated");
    Ok(events::with_desk(&n, changes))
}

pub(super) fn csat_invitation(language: &str) -> (String, [&'static str; 5]) {
    let text = ops::localized(
        language,
        "本次服务已结束，请为客服评分（1–5 星）",
        "本次服務已結束，請為客服評分（1–5 星）",
        "This conversation has ended. Please rate our service (1–5 stars)",
    );
    (text, ["★1", "★2", "★3", "★4", "★5"])
}
