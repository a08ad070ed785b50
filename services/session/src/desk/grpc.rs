//! `kefu.session.v1.Desk`: the agent desk over gRPC (the gateway's REST and WebSocket API sits
//! in front of it). Every call checks the actor's tenant, role and merchant scope.

use super::events::{self, Audience};
use super::ops::{self, Say, Wake};
use super::router;
use super::setup;
use crate::SessionState;
use crate::grpc::{conversation_of, internal, message_of, parse_id};
use crate::store as repo;
use crate::store::desk::{self as store, Change, WorkState};
use crate::store::entities::{agent, canned_response, conversation, work_item};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use kefu_proto::session::desk_server::Desk;
use kefu_proto::session::*;
use kefu_store::sea_orm::TransactionTrait;
use kefu_store::{Scoped, StoreError};
use kefu_worker::outbox;
use std::collections::HashMap;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub struct DeskGrpc {
    pub state: SessionState,
}

/// Limits on what callers send: the desk's, shared with the gateway.
use kefu_proto::desk::{self, Role, invalid};

/// The caller, checked.
pub(super) struct Who {
    pub(super) tenant: String,
    pub(super) agent: String,
    pub(super) role: Role,
    pub(super) merchant: Option<String>,
}

impl Who {
    pub(super) fn of(actor: Option<Actor>) -> Result<Self, Status> {
        let a = actor.ok_or_else(|| invalid("actor", "is required"))?;
        if a.tenant_id.is_empty() {
            return Err(invalid("actor.tenant_id", "is required"));
        }
        let role = Role::parse(&a.role)
            .ok_or_else(|| invalid("actor.role", format!("must be {}", Role::choices())))?;
        Ok(Self {
            tenant: a.tenant_id,
            agent: a.agent_id,
            role,
            merchant: (!a.merchant_id.is_empty()).then_some(a.merchant_id),
        })
    }

    pub(super) fn require(&self, role: Role) -> Result<(), Status> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "requires the {} role",
                role.as_str()
            )))
        }
    }

    pub(super) fn covers(&self, merchant: &str) -> bool {
        self.merchant.as_deref().is_none_or(|m| m == merchant)
    }

    pub(super) fn scope(&self) -> Option<&str> {
        self.merchant.as_deref()
    }

    pub(super) fn is_supervisor(&self) -> bool {
        self.role >= Role::Supervisor
    }
}

use kefu_proto::time::to_timestamp as ts;

pub(super) fn agent_of(a: agent::Model, load: Option<&HashMap<String, u32>>) -> Agent {
    Agent {
        tenant_id: a.tenant_id,
        agent_id: a.id,
        login: a.login,
        display_name: a.display_name,
        role: a.role.0.as_str().to_owned(),
        merchant_id: a.merchant_id,
        skills: a.skills.to_vec(),
        languages: a.languages.to_vec(),
        capacity: a.capacity.0.into_iter().collect(),
        status: a.status.as_str().to_owned(),
        load: load.cloned().unwrap_or_default(),
        status_since: Some(ts(a.status_since)),
    }
}

pub(super) fn canned_of(c: canned_response::Model) -> CannedResponse {
    CannedResponse {
        tenant_id: c.tenant_id,
        canned_id: c.id.to_string(),
        merchant_id: c.merchant_id,
        shortcut: c.shortcut,
        title: c.title,
        text: c.text,
    }
}

pub(super) fn check_text(field: &str, s: &str, max: usize) -> Result<(), Status> {
    Ok(desk::check_chars(field, s, 0, max)?)
}

pub(super) fn check_slug(field: &str, s: &str) -> Result<(), Status> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "1–64 of a-z, 0-9, '-', '_', '.'"))
    }
}

pub(super) fn check_list(field: &str, items: &[String]) -> Result<(), Status> {
    Ok(desk::check_list(field, items)?)
}

/// An argon2id PHC string for `password` (fresh random salt).
pub fn hash_password(password: &str) -> Result<String, Status> {
    // 16 random bytes (a v4 UUID is drawn from the OS generator).
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes())
        .map_err(|_| Status::internal("password hashing failed"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Status::internal("password hashing failed"))
}

pub(super) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// An account removed (or changed so that its tokens no longer speak for it): the gateway closes
/// its desk sockets after telling them.
pub(super) fn removed_event(tenant: &str, a: &agent::Model) -> kefu_bus::Envelope {
    events::envelope(
        tenant,
        &a.merchant_id,
        "",
        Audience::agent(&a.id),
        serde_json::json!({"type": "agent.removed", "agent_id": a.id}),
    )
}

impl DeskGrpc {
    /// A transaction on the session's database.
    pub(super) async fn begin(&self) -> Result<kefu_store::sea_orm::DatabaseTransaction, Status> {
        self.state.db.begin().await.map_err(|e| internal(e.into()))
    }

    /// The conversation `w` routes (it is the tenant's: the item was read scoped).
    pub(super) async fn conversation(
        &self,
        tenant: &str,
        w: &work_item::Model,
    ) -> Result<conversation::Model, Status> {
        conversation::Entity::get(&self.state.db, tenant, w.conversation_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))
    }

    /// Publishes one desk event through the outbox.
    pub(super) async fn announce(&self, ev: kefu_bus::Envelope) -> Result<(), Status> {
        let txn = self.begin().await?;
        outbox::enqueue(&txn, &ev)
            .await
            .map_err(|e| internal(e.into()))?;
        txn.commit().await.map_err(|e| internal(e.into()))?;
        self.state.outbox.dispatch([ev]);
        Ok(())
    }

    /// The caller, checked against the accounts as they are now: a token of a deleted account,
    /// or one whose role or merchant changed since it was issued, no longer acts.
    pub(super) async fn who(&self, actor: Option<Actor>) -> Result<Who, Status> {
        let who = Who::of(actor)?;
        if who.agent.is_empty() {
            return Ok(who);
        }
        let current = store::get_agent(&self.state.db, &who.tenant, &who.agent)
            .await
            .map_err(internal)?;
        match current {
            Some(a)
                if a.role.0 == who.role
                    && a.merchant_id == who.merchant.clone().unwrap_or_default() =>
            {
                Ok(who)
            }
            _ => Err(Status::unauthenticated(
                "authorization: the account was removed or changed; sign in again",
            )),
        }
    }

    pub(super) async fn agent_in_scope(&self, who: &Who, id: &str) -> Result<agent::Model, Status> {
        store::get_agent(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|a| who.covers(&a.merchant_id))
            .ok_or_else(|| Status::not_found("agent not found"))
    }

    pub(super) async fn with_load(&self, a: agent::Model) -> Result<Agent, Status> {
        let loads = store::loads(&self.state.db, &a.tenant_id)
            .await
            .map_err(internal)?;
        let load = loads.get(&a.id).cloned();
        Ok(agent_of(a, load.as_ref()))
    }

    /// The work item, if the actor may see it (tenant and merchant scope).
    pub(super) async fn work(&self, who: &Who, id: &str) -> Result<work_item::Model, Status> {
        let id = parse_id("conversation_id", id)?;
        work_item::Entity::get(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|w| who.covers(&w.merchant_id))
            .ok_or_else(|| Status::not_found("conversation not found"))
    }

    /// Whether the actor works on the conversation: its agent, a supervisor who joined, or (for
    /// `supervisors_too`) any supervisor in scope.
    pub(super) fn works_on(who: &Who, w: &work_item::Model, supervisors_too: bool) -> bool {
        (!who.agent.is_empty() && w.agent_id == who.agent)
            || w.participants.contains(&who.agent)
            || (supervisors_too && who.is_supervisor())
    }

    /// One conversation as the desk shows it, with the customer's address on its channel.
    pub(super) async fn view(&self, w: work_item::Model) -> Result<WorkConversation, Status> {
        let setup = setup::load(&self.state.db, &w.tenant_id)
            .await
            .map_err(internal)?;
        let ranker = kefu_routing::Router::new(setup.policy);
        self.view_with(w, &ranker, true).await
    }

    /// [`Self::view`] with the tenant's policy already loaded (lists load it once), and the
    /// channel address only when asked for.
    pub(super) async fn view_with(
        &self,
        w: work_item::Model,
        ranker: &kefu_routing::Router,
        with_address: bool,
    ) -> Result<WorkConversation, Status> {
        let c = conversation::Entity::get(&self.state.db, &w.tenant_id, w.conversation_id)
            .await
            .map_err(internal)?;
        let external_user_id = match &c {
            Some(c) if with_address => ops::external_user(&self.state.db, c)
                .await
                .map_err(internal)?,
            _ => String::new(),
        };
        let customer = repo::customers::get_customer(&self.state.db, &w.tenant_id, w.customer_id)
            .await
            .map_err(internal)?;
        let priority = if matches!(w.state, WorkState::Waiting | WorkState::LeftMessage) {
            ranker.priority(
                &router::waiting_of(&w),
                u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
            )
        } else {
            0.0
        };
        Ok(WorkConversation {
            conversation: c.map(conversation_of),
            state: w.state.as_str().to_owned(),
            queue: w.queue.clone(),
            agent_id: w.agent_id.clone(),
            enqueued_at: Some(ts(w.enqueued_at)),
            offered_at: w.offered_at.map(ts),
            accepted_at: w.accepted_at.map(ts),
            closed_at: w.closed_at.map(ts),
            channel_type: w.channel_type.clone(),
            merchant_id: w.merchant_id.clone(),
            monitors: w.monitors.to_vec(),
            participants: w.participants.to_vec(),
            summary: w.summary.clone(),
            tags: w.tags.to_vec(),
            csat: u32::try_from(w.csat).unwrap_or(0),
            priority,
            customer_name: customer
                .as_ref()
                .map(|c| c.display_name.clone())
                .unwrap_or_default(),
            tier: customer
                .map(|c| c.tier)
                .filter(|t| !t.is_empty())
                .unwrap_or(w.tier.clone()),
            note: w.note.clone(),
            offer_expires_at: w.offer_expires_at.map(ts),
            external_user_id,
        })
    }

    pub(super) fn stale() -> Status {
        Status::failed_precondition("the conversation changed meanwhile; reload it")
    }

    /// A message in the conversation from the actor (reply, note, whisper).
    pub(super) async fn post(
        &self,
        who: &Who,
        w: &work_item::Model,
        say: Say<'_>,
    ) -> Result<Message, Status> {
        let c = self.conversation(&who.tenant, w).await?;
        let txn = self.begin().await?;
        // The agent may have been transferred away or the conversation closed since it was
        // read: a customer-facing reply is checked again inside the transaction.
        if !say.internal {
            let fresh = work_item::Entity::get(&txn, &who.tenant, w.conversation_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| Status::not_found("conversation not found"))?;
            if fresh.state != WorkState::Active || !Self::works_on(who, &fresh, false) {
                return Err(Status::failed_precondition(
                    "conversation_id: no longer yours to reply to (transferred or closed)",
                ));
            }
        }
        let (stored, said) = ops::say(&txn, &c, w, say).await.map_err(internal)?;
        // A retried key stored nothing new and has no events.
        let evs = events::with_desk(w, said);
        outbox::enqueue_many(&txn, &evs)
            .await
            .map_err(|e| internal(e.into()))?;
        txn.commit().await.map_err(|e| internal(e.into()))?;
        self.state.outbox.dispatch(evs);
        Ok(message_of(stored, c.channel_id))
    }

    pub(super) async fn change(
        &self,
        w: &work_item::Model,
        from: &[WorkState],
        change: Change,
        events: impl FnOnce(&work_item::Model) -> Vec<kefu_bus::Envelope>,
    ) -> Result<work_item::Model, Status> {
        let at = (w.conversation_id, w.version);
        ops::commit(
            &self.state,
            &w.tenant_id,
            at,
            from,
            change,
            events,
            Wake::Router,
        )
        .await
        .map_err(internal)?
        .ok_or_else(Self::stale)
    }
}

pub(super) fn conflict(e: StoreError) -> Status {
    if e.is_conflict() {
        Status::already_exists("login: already taken in this tenant")
    } else {
        internal(e)
    }
}

/// The `Desk` service: each method hands its request to its handler, in the module of its
/// concept ([`super::accounts`], [`super::canned`], [`super::work`], [`super::supervise`],
/// [`super::csat`]).
macro_rules! desk_service {
    ($($method:ident($request:ty) -> $response:ty => $handler:ident;)*) => {
        #[tonic::async_trait]
        impl Desk for DeskGrpc {
            $(
                async fn $method(
                    &self,
                    request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    self.$handler(request.into_inner()).await.map(Response::new)
                }
            )*
        }
    };
}

desk_service! {
    put_agent(PutAgentRequest) -> Agent => serve_put_agent;
    get_agent(AgentRef) -> Agent => serve_get_agent;
    list_agents(ListAgentsRequest) -> ListAgentsResponse => serve_list_agents;
    delete_agent(AgentRef) -> Agent => serve_delete_agent;
    login(LoginRequest) -> Agent => serve_login;
    set_status(SetStatusRequest) -> Agent => serve_set_status;
    put_canned_response(PutCannedResponseRequest) -> CannedResponse => serve_put_canned_response;
    list_canned_responses(ListCannedResponsesRequest) -> ListCannedResponsesResponse => serve_list_canned_responses;
    delete_canned_response(CannedResponseRef) -> CannedResponse => serve_delete_canned_response;
    list_conversations(ListConversationsRequest) -> ListConversationsResponse => serve_list_conversations;
    get_work(ConversationRef) -> WorkConversation => serve_get_work;
    list_work_messages(ConversationRef) -> ListMessagesResponse => serve_list_work_messages;
    accept(ConversationRef) -> WorkConversation => serve_accept;
    reply(ReplyRequest) -> Message => serve_reply;
    note(NoteRequest) -> Message => serve_note;
    transfer(TransferRequest) -> WorkConversation => serve_transfer;
    close(CloseRequest) -> WorkConversation => serve_close;
    list_queues(ListQueuesRequest) -> ListQueuesResponse => serve_list_queues;
    monitor(ConversationRef) -> WorkConversation => serve_monitor;
    whisper(NoteRequest) -> Message => serve_whisper;
    join(ConversationRef) -> WorkConversation => serve_join;
    rate(RateRequest) -> WorkConversation => serve_rate;
    queue_position(QueuePositionRequest) -> QueuePosition => serve_queue_position;
}

pub use super::csat::{rate, rate_in};
