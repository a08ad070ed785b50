//! Work on conversations: lists, accept, reply, note, transfer, close. The `Desk` trait methods in
//! [`super::grpc`] delegate here.

use super::csat::csat_invitation;
use super::events;
use super::grpc::*;
use super::ops::{self, Say};
use super::setup;
use crate::domain;
use crate::grpc::{internal, message_of, parse_id};
use crate::store as repo;
use crate::store::Sender;
use crate::store::desk::{self as store, Change, Strings, WorkState};
use crate::store::entities::canned_response;
use chrono::{Duration as ChronoDuration, Utc};
use kefu_proto::desk::{MAX_TEXT_CHARS as MAX_TEXT, Role, invalid};
use kefu_proto::session::*;
use kefu_store::Scoped;
use kefu_worker::outbox;
use tonic::Status;

impl DeskGrpc {
    pub(super) async fn serve_list_conversations(
        &self,
        req: ListConversationsRequest,
    ) -> Result<ListConversationsResponse, Status> {
        let who = self.who(req.actor).await?;
        let limit = u64::from(if req.limit == 0 {
            100
        } else {
            req.limit.min(500)
        });
        let db = &self.state.db;
        let mine = (!who.agent.is_empty()).then_some(who.agent.as_str());
        let rows = match req.scope.as_str() {
            "mine" | "" => {
                let Some(me) = mine else {
                    return Ok(ListConversationsResponse::default());
                };
                let mut rows = store::list_work(
                    db,
                    &who.tenant,
                    WorkState::OPEN,
                    who.scope(),
                    Some(me),
                    limit,
                )
                .await
                .map_err(internal)?;
                // And the ones a supervisor joined.
                if who.is_supervisor() {
                    let joined =
                        store::list_work(db, &who.tenant, WorkState::OPEN, who.scope(), None, 1000)
                            .await
                            .map_err(internal)?;
                    rows.extend(
                        joined
                            .into_iter()
                            .filter(|w| w.agent_id != me && w.participants.contains(me)),
                    );
                }
                rows
            }
            "queued" => {
                store::list_work(db, &who.tenant, WorkState::QUEUED, who.scope(), None, limit)
                    .await
                    .map_err(internal)?
            }
            "closed" => {
                let agent = if who.is_supervisor() { None } else { mine };
                if agent.is_none() && !who.is_supervisor() {
                    Vec::new()
                } else {
                    store::list_work(
                        db,
                        &who.tenant,
                        &[WorkState::Closed],
                        who.scope(),
                        agent,
                        limit,
                    )
                    .await
                    .map_err(internal)?
                }
            }
            "active" => {
                who.require(Role::Supervisor)?;
                store::list_work(db, &who.tenant, WorkState::OPEN, who.scope(), None, limit)
                    .await
                    .map_err(internal)?
            }
            _ => {
                return Err(invalid("scope", "must be mine, queued, closed or active"));
            }
        };
        let setup = setup::load(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        let ranker = kefu_routing::Router::new(setup.policy);
        let mut out = Vec::with_capacity(rows.len());
        for w in rows {
            out.push(self.view_with(w, &ranker, false).await?);
        }
        // Queued: highest priority first, as the router will serve them.
        if req.scope == "queued" {
            out.sort_by(|a, b| b.priority.total_cmp(&a.priority));
        }
        Ok(ListConversationsResponse { conversations: out })
    }

    pub(super) async fn serve_get_work(
        &self,
        req: ConversationRef,
    ) -> Result<WorkConversation, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        self.view(w).await
    }

    pub(super) async fn serve_list_work_messages(
        &self,
        req: ConversationRef,
    ) -> Result<ListMessagesResponse, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let c = self.conversation(&who.tenant, &w).await?;
        let rows = repo::list_messages(&self.state.db, &who.tenant, w.conversation_id, 500, true)
            .await
            .map_err(internal)?;
        Ok(ListMessagesResponse {
            messages: rows
                .into_iter()
                .map(|m| message_of(m, c.channel_id.clone()))
                .collect(),
        })
    }

    pub(super) async fn serve_accept(
        &self,
        req: ConversationRef,
    ) -> Result<WorkConversation, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let expired = w.offer_expires_at.is_some_and(|t| t < Utc::now());
        if w.state != WorkState::Offered
            || w.agent_id != who.agent
            || who.agent.is_empty()
            || expired
        {
            return Err(Status::failed_precondition(
                "conversation_id: not offered to you (the offer may have expired and gone to someone else)",
            ));
        }
        let agent = who.agent.clone();
        let now = Utc::now();
        let n = self
            .change(
                &w,
                &[WorkState::Offered],
                Change {
                    state: Some(WorkState::Active),
                    accepted_at: Some(now),
                    ..Change::default()
                },
                |n| events::with_desk(n, vec![domain::assigned(n, now)]),
            )
            .await?;
        crate::metrics::routing_wait(domain::ms_between(n.enqueued_at, now));
        tracing::info!(conversation = %n.conversation_id, %agent, "accepted");
        self.view(n).await
    }

    pub(super) async fn serve_reply(&self, req: ReplyRequest) -> Result<Message, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state != WorkState::Active || !Self::works_on(&who, &w, false) {
            return Err(Status::failed_precondition(
                "conversation_id: only its agent (after accepting) or a supervisor who joined replies",
            ));
        }
        check_text("text", &req.text, MAX_TEXT)?;
        check_text("client_id", &req.client_id, 100)?;
        if req.cards.len() > 10 {
            return Err(invalid("cards", "at most 10"));
        }
        // Only the session asks for ratings (at close); an agent's card cannot.
        if req.cards.iter().flat_map(|c| &c.buttons).any(|b| {
            b.action
                .as_ref()
                .is_some_and(|a| kefu_proto::actions::csat_rating(&a.action).is_some())
        }) {
            return Err(invalid("cards", "buttons may not carry csat ratings"));
        }
        let mut text = String::new();
        if !req.canned_id.is_empty() {
            let id = parse_id("canned_id", &req.canned_id)?;
            let canned = canned_response::Entity::get(&self.state.db, &who.tenant, id)
                .await
                .map_err(internal)?
                .filter(|c| c.merchant_id.is_empty() || c.merchant_id == w.merchant_id)
                .ok_or_else(|| Status::not_found("canned_id: canned response not found"))?;
            text.push_str(&canned.text);
        }
        if !req.text.is_empty() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&req.text);
        }
        if text.trim().is_empty() && req.cards.is_empty() {
            return Err(invalid(
                "text",
                "a reply needs text, a canned response or cards",
            ));
        }
        let key = (!req.client_id.is_empty()).then(|| format!("desk:{}", req.client_id));
        let m = self
            .post(
                &who,
                &w,
                Say {
                    sender_kind: Sender::Agent,
                    agent_id: &who.agent,
                    text,
                    cards: req.cards,
                    internal: false,
                    key,
                },
            )
            .await?;
        Ok(m)
    }

    pub(super) async fn serve_note(&self, req: NoteRequest) -> Result<Message, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        if !Self::works_on(&who, &w, true) {
            return Err(Status::failed_precondition(
                "conversation_id: not your conversation",
            ));
        }
        self.internal_message(&who, &w, req.text, req.client_id)
            .await
    }

    pub(super) async fn serve_transfer(
        &self,
        req: TransferRequest,
    ) -> Result<WorkConversation, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        if !matches!(w.state, WorkState::Active | WorkState::Offered)
            || !Self::works_on(&who, &w, true)
        {
            return Err(Status::failed_precondition(
                "conversation_id: not a conversation you serve",
            ));
        }
        check_text("note", &req.note, MAX_TEXT)?;
        let from = w.agent_id.clone();
        let n = match (req.to_agent_id.is_empty(), req.to_queue.is_empty()) {
            (false, true) => {
                let target = self.agent_in_scope(&who, &req.to_agent_id).await?;
                if !target.merchant_id.is_empty() && target.merchant_id != w.merchant_id {
                    return Err(invalid("to_agent_id", "that agent serves another merchant"));
                }
                if target.id == w.agent_id {
                    return Err(invalid("to_agent_id", "already the conversation's agent"));
                }
                let setup = setup::load(&self.state.db, &who.tenant)
                    .await
                    .map_err(internal)?;
                let expires = Utc::now()
                    + ChronoDuration::milliseconds(
                        i64::try_from(setup.policy.accept_timeout_ms).unwrap_or(30_000),
                    );
                let note = format!("transfer:{from}");
                let outcome = store::offer(
                    &self.state.db,
                    &who.tenant,
                    w.conversation_id,
                    &target.id,
                    w.version,
                    &[WorkState::Active, WorkState::Offered],
                    expires,
                    Some(&note),
                    |n| events::with_desk(n, domain::transferred(&w, n, &req.note, Utc::now())),
                )
                .await
                .map_err(internal)?;
                match outcome {
                    Ok((n, evs)) => {
                        self.state.outbox.dispatch(evs);
                        n
                    }
                    Err(store::OfferRefused::AgentUnavailable) => {
                        return Err(Status::failed_precondition(
                            "to_agent_id: the agent is not online",
                        ));
                    }
                    Err(store::OfferRefused::AtCapacity) => {
                        return Err(Status::failed_precondition(
                            "to_agent_id: the agent has no free capacity",
                        ));
                    }
                    Err(store::OfferRefused::Stale) => return Err(Self::stale()),
                }
            }
            (true, false) => {
                let setup = setup::load(&self.state.db, &who.tenant)
                    .await
                    .map_err(internal)?;
                let q = setup
                    .queue(&req.to_queue)
                    .filter(|q| {
                        who.covers(q.merchant.as_deref().unwrap_or("")) || q.merchant.is_none()
                    })
                    .ok_or_else(|| Status::not_found("to_queue: queue not found"))?
                    .clone();
                // A merchant's conversation may go to its merchant's queues or the platform's.
                if q.merchant.as_deref().is_some_and(|m| m != w.merchant_id) {
                    return Err(invalid("to_queue", "that queue serves another merchant"));
                }
                let change = Change {
                    state: Some(WorkState::Waiting),
                    agent_id: Some(String::new()),
                    queue: Some(q.name.clone()),
                    queue_entered_at: Some(Utc::now()),
                    clear_offer: true,
                    note: Some(format!("transfer:{from}")),
                    ..Change::default()
                };
                self.change(&w, &[WorkState::Active, WorkState::Offered], change, |n| {
                    events::with_desk(n, domain::transferred(&w, n, &req.note, Utc::now()))
                })
                .await?
            }
            _ => {
                return Err(invalid(
                    "to_agent_id",
                    "exactly one of to_agent_id and to_queue",
                ));
            }
        };
        if !req.note.trim().is_empty() {
            self.internal_message(&who, &n, req.note, String::new())
                .await?;
        }
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        self.state.desk_wake.notify_one();
        tracing::info!(conversation = %n.conversation_id, from = %from, to_agent = %n.agent_id, queue = %n.queue, "transferred");
        self.view(n).await
    }

    pub(super) async fn serve_close(&self, req: CloseRequest) -> Result<WorkConversation, Status> {
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let open = WorkState::NOT_CLOSED;
        if !open.contains(&w.state) {
            return Err(Status::failed_precondition(
                "conversation_id: already closed",
            ));
        }
        if !Self::works_on(&who, &w, true) {
            return Err(Status::failed_precondition(
                "conversation_id: not a conversation you serve",
            ));
        }
        check_text("summary", &req.summary, MAX_TEXT)?;
        check_list("tags", &req.tags)?;
        let now = Utc::now();
        let c = self.conversation(&who.tenant, &w).await?;
        let txn = self.begin().await?;
        let change = Change {
            state: Some(WorkState::Closed),
            closed_at: Some(now),
            summary: Some(req.summary.clone()),
            tags: Some(Strings(req.tags.clone())),
            csat_invited: Some(true),
            clear_offer: true,
            ..Change::default()
        };
        let Some(n) = store::change(
            &txn,
            &who.tenant,
            w.conversation_id,
            w.version,
            open,
            change,
        )
        .await
        .map_err(internal)?
        else {
            return Err(Self::stale());
        };
        store::close_conversation(&txn, &who.tenant, w.conversation_id, now)
            .await
            .map_err(internal)?;
        // The CSAT invitation: five buttons the customer taps once.
        let (text, labels) = csat_invitation(&n.language);
        let card = kefu_proto::events::Card {
            kind: "csat".to_owned(),
            title: text.clone(),
            buttons: (1..=5)
                .map(|i| kefu_proto::events::CardButton {
                    label: labels[i - 1].to_owned(),
                    action: Some(kefu_proto::events::CardAction {
                        action: format!("csat:{i}"),
                        ..Default::default()
                    }),
                })
                .collect(),
            ..Default::default()
        };
        let (_, said) = ops::say(
            &txn,
            &c,
            &n,
            Say::system(
                text,
                vec![card],
                format!("csat-invite:{}", n.conversation_id),
            ),
        )
        .await
        .map_err(internal)?;
        let mut changes = said;
        changes.extend(domain::closed(&w, &n, &who.agent, now));
        let evs = events::with_desk(&n, changes);
        outbox::enqueue_many(&txn, &evs)
            .await
            .map_err(|e| internal(e.into()))?;
        txn.commit().await.map_err(|e| internal(e.into()))?;
        self.state.outbox.dispatch(evs);
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        self.state.desk_wake.notify_one();
        tracing::info!(conversation = %n.conversation_id, agent = %n.agent_id, "closed");
        self.view(n).await
    }
}
