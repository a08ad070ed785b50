//! Supervision: queue figures, monitor, whisper, join. The `Desk` trait methods in [`super::grpc`]
//! delegate here.

use super::events::{self, Audience};
use super::grpc::*;
use super::ops::Say;
use super::router;
use crate::grpc::internal;
use crate::store::Sender;
use crate::store::desk::{self as store, Change, Strings, WorkState};
use crate::store::entities::work_item;
use chrono::{Duration as ChronoDuration, Utc};
use kefu_proto::desk::{MAX_TEXT_CHARS as MAX_TEXT, Role, invalid};
use kefu_proto::session::*;
use std::collections::HashMap;
use tonic::Status;

impl DeskGrpc {
    pub(super) async fn serve_list_queues(
        &self,
        req: ListQueuesRequest,
    ) -> Result<ListQueuesResponse, Status> {
        let who = self.who(req.actor).await?;
        let (setup, router, items) = router::load_router(&self.state, &who.tenant)
            .await
            .map_err(internal)?;
        let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
        let stats: HashMap<String, kefu_routing::QueueStats> = router
            .queue_stats(now_ms)
            .into_iter()
            .map(|s| (s.queue.clone(), s))
            .collect();
        // Service level over the last hour: of conversations offered, the share whose first
        // offer came within the SLA's seconds of joining.
        let since = Utc::now() - ChronoDuration::hours(1);
        let recent = store::work_since(&self.state.db, &who.tenant, since, who.scope())
            .await
            .map_err(internal)?;
        let serving = store::list_work(
            &self.state.db,
            &who.tenant,
            &[WorkState::Active],
            who.scope(),
            None,
            1_000_000,
        )
        .await
        .map_err(internal)?;
        let mut queues = Vec::new();
        for q in &setup.queues {
            let merchant = q.merchant.clone().unwrap_or_default();
            if !who.covers(&merchant) {
                continue;
            }
            let sla = setup.sla.get(&q.name);
            let within = i64::from(sla.map_or(20, |s| s.within_seconds));
            let (mut served, mut in_time) = (0u32, 0u32);
            for w in recent
                .iter()
                .filter(|w| w.queue == q.name && w.enqueued_at >= since)
            {
                if let Some(first) = w.offered_at.or(w.accepted_at) {
                    served += 1;
                    if (first - w.enqueued_at).num_seconds() <= within {
                        in_time += 1;
                    }
                }
            }
            let active = items
                .iter()
                .filter(|w| w.queue == q.name && w.state == WorkState::Offered)
                .count()
                + serving.iter().filter(|w| w.queue == q.name).count();
            let s = stats.get(&q.name);
            queues.push(QueueStats {
                name: q.name.clone(),
                merchant_id: merchant,
                skills: q.skills.clone(),
                waiting: s.map_or(0, |s| u32::try_from(s.waiting).unwrap_or(u32::MAX)),
                left_messages: s.map_or(0, |s| u32::try_from(s.left_messages).unwrap_or(u32::MAX)),
                longest_wait_seconds: s.map_or(0, |s| {
                    u32::try_from(s.longest_wait_ms / 1000).unwrap_or(u32::MAX)
                }),
                agents_online: s.map_or(0, |s| u32::try_from(s.agents_online).unwrap_or(u32::MAX)),
                free_slots: s.map_or(0, |s| u32::try_from(s.free_slots).unwrap_or(u32::MAX)),
                service_level_percent: if served == 0 {
                    100.0
                } else {
                    f64::from(in_time) * 100.0 / f64::from(served)
                },
                sla_target_percent: sla.map_or(80, |s| s.target_percent),
                sla_within_seconds: sla.map_or(20, |s| s.within_seconds),
                active: u32::try_from(active).unwrap_or(u32::MAX),
            });
        }
        Ok(ListQueuesResponse { queues })
    }

    pub(super) async fn serve_monitor(
        &self,
        req: ConversationRef,
    ) -> Result<WorkConversation, Status> {
        self.supervise(req, false).await
    }

    pub(super) async fn serve_whisper(&self, req: NoteRequest) -> Result<Message, Status> {
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state == WorkState::Closed {
            return Err(Status::failed_precondition(
                "conversation_id: already closed",
            ));
        }
        self.internal_message(&who, &w, req.text, req.client_id)
            .await
    }

    pub(super) async fn serve_join(
        &self,
        req: ConversationRef,
    ) -> Result<WorkConversation, Status> {
        self.supervise(req, true).await
    }
}

impl DeskGrpc {
    pub(super) async fn internal_message(
        &self,
        who: &Who,
        w: &work_item::Model,
        text: String,
        client_id: String,
    ) -> Result<Message, Status> {
        if text.trim().is_empty() {
            return Err(invalid("text", "is required"));
        }
        check_text("text", &text, MAX_TEXT)?;
        check_text("client_id", &client_id, 100)?;
        let key = (!client_id.is_empty()).then(|| format!("desk:{client_id}"));
        let kind = if who.is_supervisor() && w.agent_id != who.agent {
            Sender::Supervisor
        } else {
            Sender::Agent
        };
        let m = self
            .post(
                who,
                w,
                Say {
                    sender_kind: kind,
                    agent_id: &who.agent,
                    text,
                    cards: Vec::new(),
                    internal: true,
                    key,
                },
            )
            .await?;
        Ok(m)
    }

    pub(super) async fn supervise(
        &self,
        req: ConversationRef,
        join: bool,
    ) -> Result<WorkConversation, Status> {
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        if who.agent.is_empty() {
            return Err(Status::failed_precondition(
                "actor.agent_id: sign in as a supervisor to monitor or join",
            ));
        }
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state == WorkState::Closed {
            return Err(Status::failed_precondition(
                "conversation_id: already closed",
            ));
        }
        let mut monitors = w.monitors.to_vec();
        let mut participants = w.participants.to_vec();
        if !monitors.contains(&who.agent) {
            monitors.push(who.agent.clone());
        }
        if join && !participants.contains(&who.agent) {
            participants.push(who.agent.clone());
        }
        let change = Change {
            monitors: Some(Strings(monitors)),
            participants: Some(Strings(participants)),
            ..Change::default()
        };
        let n = self
            .change(&w, WorkState::NOT_CLOSED, change, |n| {
                vec![events::work_event(
                    "conversation.updated",
                    n,
                    Audience::of_work(n),
                )]
            })
            .await?;
        self.view(n).await
    }
}
