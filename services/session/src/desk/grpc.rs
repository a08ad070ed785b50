//! `kefu.session.v1.Desk`: the agent desk over gRPC (the gateway's REST and WebSocket API sits
//! in front of it). Every call checks the actor's tenant, role and merchant scope.

use super::events::{self, Audience};
use super::ops::{self, Say};
use super::router;
use super::setup;
use crate::SessionState;
use crate::domain;
use crate::grpc::{conversation_of, internal, message_of, parse_id};
use crate::store as repo;
use crate::store::desk::{
    self as store, ACTIVE, CLOSED, Change, LEFT_MESSAGE, OFFERED, OPEN_STATES, QUEUED_STATES,
    WAITING, capacity_of, json_list, list_of,
};
use crate::store::entities::{agent, canned_response, work_item};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration as ChronoDuration, Utc};
use kefu_proto::session::desk_server::Desk;
use kefu_proto::session::*;
use kefu_store::StoreError;
use kefu_store::sea_orm::TransactionTrait;
use kefu_worker::outbox;
use std::collections::HashMap;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub struct DeskGrpc {
    pub state: SessionState,
}

/// Limits on what callers send: the desk's, shared with the gateway.
use kefu_proto::desk::{
    self, MAX_LIST, MAX_NAME_CHARS as MAX_NAME, MAX_TEXT_CHARS as MAX_TEXT, Role, invalid,
};

/// The caller, checked.
struct Who {
    tenant: String,
    agent: String,
    role: Role,
    merchant: Option<String>,
}

impl Who {
    fn of(actor: Option<Actor>) -> Result<Self, Status> {
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

    fn require(&self, role: Role) -> Result<(), Status> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "requires the {} role",
                role.as_str()
            )))
        }
    }

    fn covers(&self, merchant: &str) -> bool {
        self.merchant.as_deref().is_none_or(|m| m == merchant)
    }

    fn scope(&self) -> Option<&str> {
        self.merchant.as_deref()
    }

    fn is_supervisor(&self) -> bool {
        self.role >= Role::Supervisor
    }
}

use kefu_proto::time::to_timestamp as ts;

fn agent_of(a: agent::Model, load: Option<&HashMap<String, u32>>) -> Agent {
    Agent {
        tenant_id: a.tenant_id,
        agent_id: a.id,
        login: a.login,
        display_name: a.display_name,
        role: a.role,
        merchant_id: a.merchant_id,
        skills: list_of(&a.skills),
        languages: list_of(&a.languages),
        capacity: capacity_of(&a.capacity),
        status: a.status,
        load: load.cloned().unwrap_or_default(),
        status_since: Some(ts(a.status_since)),
    }
}

fn canned_of(c: canned_response::Model) -> CannedResponse {
    CannedResponse {
        tenant_id: c.tenant_id,
        canned_id: c.id.to_string(),
        merchant_id: c.merchant_id,
        shortcut: c.shortcut,
        title: c.title,
        text: c.text,
    }
}

fn check_text(field: &str, s: &str, max: usize) -> Result<(), Status> {
    Ok(desk::check_chars(field, s, 0, max)?)
}

fn check_slug(field: &str, s: &str) -> Result<(), Status> {
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

fn check_list(field: &str, items: &[String]) -> Result<(), Status> {
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

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// An account removed (or changed so that its tokens no longer speak for it): the gateway closes
/// its desk sockets after telling them.
fn removed_event(tenant: &str, a: &agent::Model) -> kefu_bus::Envelope {
    events::envelope(
        tenant,
        &a.merchant_id,
        "",
        Audience::agent(&a.id),
        serde_json::json!({"type": "agent.removed", "agent_id": a.id}),
    )
}

impl DeskGrpc {
    /// Publishes one desk event through the outbox.
    async fn announce(&self, ev: kefu_bus::Envelope) -> Result<(), Status> {
        let txn = self
            .state
            .db
            .begin()
            .await
            .map_err(|e| internal(e.into()))?;
        outbox::enqueue(&txn, &ev)
            .await
            .map_err(|e| internal(e.into()))?;
        txn.commit().await.map_err(|e| internal(e.into()))?;
        self.state.outbox.dispatch([ev]);
        Ok(())
    }

    /// The caller, checked against the accounts as they are now: a token of a deleted account,
    /// or one whose role or merchant changed since it was issued, no longer acts.
    async fn who(&self, actor: Option<Actor>) -> Result<Who, Status> {
        let who = Who::of(actor)?;
        if who.agent.is_empty() {
            return Ok(who);
        }
        let current = store::get_agent(&self.state.db, &who.tenant, &who.agent)
            .await
            .map_err(internal)?;
        match current {
            Some(a)
                if Role::parse(&a.role) == Some(who.role)
                    && a.merchant_id == who.merchant.clone().unwrap_or_default() =>
            {
                Ok(who)
            }
            _ => Err(Status::unauthenticated(
                "authorization: the account was removed or changed; sign in again",
            )),
        }
    }

    async fn agent_in_scope(&self, who: &Who, id: &str) -> Result<agent::Model, Status> {
        store::get_agent(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|a| who.covers(&a.merchant_id))
            .ok_or_else(|| Status::not_found("agent not found"))
    }

    async fn with_load(&self, a: agent::Model) -> Result<Agent, Status> {
        let loads = store::loads(&self.state.db, &a.tenant_id)
            .await
            .map_err(internal)?;
        let load = loads.get(&a.id).cloned();
        Ok(agent_of(a, load.as_ref()))
    }

    /// The work item, if the actor may see it (tenant and merchant scope).
    async fn work(&self, who: &Who, id: &str) -> Result<work_item::Model, Status> {
        let id = parse_id("conversation_id", id)?;
        store::get_work(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|w| who.covers(&w.merchant_id))
            .ok_or_else(|| Status::not_found("conversation not found"))
    }

    /// Whether the actor works on the conversation: its agent, a supervisor who joined, or (for
    /// `supervisors_too`) any supervisor in scope.
    fn works_on(who: &Who, w: &work_item::Model, supervisors_too: bool) -> bool {
        (!who.agent.is_empty() && w.agent_id == who.agent)
            || list_of(&w.participants).contains(&who.agent)
            || (supervisors_too && who.is_supervisor())
    }

    /// One conversation as the desk shows it, with the customer's address on its channel.
    async fn view(&self, w: work_item::Model) -> Result<WorkConversation, Status> {
        let setup = setup::load(&self.state.db, &w.tenant_id)
            .await
            .map_err(internal)?;
        let ranker = kefu_routing::Router::new(setup.policy);
        self.view_with(w, &ranker, true).await
    }

    /// [`Self::view`] with the tenant's policy already loaded (lists load it once), and the
    /// channel address only when asked for.
    async fn view_with(
        &self,
        w: work_item::Model,
        ranker: &kefu_routing::Router,
        with_address: bool,
    ) -> Result<WorkConversation, Status> {
        let c = repo::get_conversation(&self.state.db, &w.tenant_id, w.conversation_id)
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
        let priority = if matches!(w.state.as_str(), WAITING | LEFT_MESSAGE) {
            ranker.priority(
                &router::waiting_of(&w),
                u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
            )
        } else {
            0.0
        };
        Ok(WorkConversation {
            conversation: c.map(conversation_of),
            state: w.state.clone(),
            queue: w.queue.clone(),
            agent_id: w.agent_id.clone(),
            enqueued_at: Some(ts(w.enqueued_at)),
            offered_at: w.offered_at.map(ts),
            accepted_at: w.accepted_at.map(ts),
            closed_at: w.closed_at.map(ts),
            channel_type: w.channel_type.clone(),
            merchant_id: w.merchant_id.clone(),
            monitors: list_of(&w.monitors),
            participants: list_of(&w.participants),
            summary: w.summary.clone(),
            tags: list_of(&w.tags),
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

    fn stale() -> Status {
        Status::failed_precondition("the conversation changed meanwhile; reload it")
    }

    /// A message in the conversation from the actor (reply, note, whisper).
    async fn post(&self, who: &Who, w: &work_item::Model, say: Say<'_>) -> Result<Message, Status> {
        let c = repo::get_conversation(&self.state.db, &who.tenant, w.conversation_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        let txn = self
            .state
            .db
            .begin()
            .await
            .map_err(|e| internal(e.into()))?;
        // The agent may have been transferred away or the conversation closed since it was
        // read: a customer-facing reply is checked again inside the transaction.
        if !say.internal {
            let fresh = store::get_work(&txn, &who.tenant, w.conversation_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| Status::not_found("conversation not found"))?;
            if fresh.state != ACTIVE || !Self::works_on(who, &fresh, false) {
                return Err(Status::failed_precondition(
                    "conversation_id: no longer yours to reply to (transferred or closed)",
                ));
            }
        }
        let (stored, mut evs) = ops::say(&txn, &c, w, say).await.map_err(internal)?;
        let fresh = !evs.is_empty() || stored.internal;
        let cards = stored
            .cards
            .as_deref()
            .and_then(|b| <kefu_proto::events::CardList as prost::Message>::decode(b).ok())
            .map(|l| l.cards)
            .unwrap_or_default();
        if fresh {
            evs.push(events::message_event(w, &stored, &cards));
        }
        outbox::enqueue_many(&txn, &evs)
            .await
            .map_err(|e| internal(e.into()))?;
        txn.commit().await.map_err(|e| internal(e.into()))?;
        self.state.outbox.dispatch(evs);
        Ok(message_of(stored, c.channel_id))
    }

    async fn change(
        &self,
        w: &work_item::Model,
        from: &[&str],
        change: Change,
        events: impl FnOnce(&work_item::Model) -> Vec<kefu_bus::Envelope>,
    ) -> Result<work_item::Model, Status> {
        ops::commit_change(
            &self.state,
            &w.tenant_id,
            w.conversation_id,
            w.version,
            from,
            change,
            events,
        )
        .await
        .map_err(internal)?
        .ok_or_else(Self::stale)
    }
}

fn conflict(e: StoreError) -> Status {
    if e.is_conflict() {
        Status::already_exists("login: already taken in this tenant")
    } else {
        internal(e)
    }
}

#[tonic::async_trait]
impl Desk for DeskGrpc {
    async fn put_agent(&self, req: Request<PutAgentRequest>) -> Result<Response<Agent>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        who.require(Role::Admin)?;
        let a = req.agent.ok_or_else(|| invalid("agent", "is required"))?;
        check_slug("agent.agent_id", &a.agent_id)?;
        check_slug("agent.login", &a.login)?;
        check_text("agent.display_name", &a.display_name, MAX_NAME)?;
        if Role::parse(&a.role).is_none() {
            return Err(invalid(
                "agent.role",
                format!("must be {}", Role::choices()),
            ));
        }
        if !a.merchant_id.is_empty() {
            check_slug("agent.merchant_id", &a.merchant_id)?;
        }
        // Merchant admins manage their merchant's staff only, and never above their own role.
        if !who.covers(&a.merchant_id) {
            return Err(Status::permission_denied(
                "agent.merchant_id: a merchant admin manages only its own merchant's agents",
            ));
        }
        check_list("agent.skills", &a.skills)?;
        for s in &a.skills {
            if let Some((_, level)) = s.rsplit_once(':')
                && !matches!(level.parse::<u8>(), Ok(1..=5))
            {
                return Err(invalid(
                    "agent.skills",
                    format!("{s:?} — a level is 1 to 5 (name:level)"),
                ));
            }
        }
        check_list("agent.languages", &a.languages)?;
        if a.capacity.len() > MAX_LIST || a.capacity.values().any(|c| *c > 100) {
            return Err(invalid("agent.capacity", "at most 100 per channel type"));
        }
        let existing = store::get_agent(&self.state.db, &who.tenant, &a.agent_id)
            .await
            .map_err(internal)?;
        if let Some(e) = &existing
            && !who.covers(&e.merchant_id)
        {
            return Err(Status::not_found("agent not found"));
        }
        let password_hash = if req.password.is_empty() {
            if existing.is_none() {
                return Err(invalid("password", "is required for a new agent"));
            }
            String::new()
        } else {
            let n = req.password.chars().count();
            if !(8..=128).contains(&n) {
                return Err(invalid("password", "8–128 characters"));
            }
            hash_password(&req.password)?
        };
        let mut capacity = a.capacity.clone();
        if capacity.is_empty() {
            capacity.insert("*".to_owned(), 3);
        }
        let now = Utc::now();
        let row = agent::Model {
            tenant_id: who.tenant.clone(),
            id: a.agent_id.clone(),
            login: a.login.clone(),
            display_name: if a.display_name.is_empty() {
                a.login.clone()
            } else {
                a.display_name.clone()
            },
            role: a.role.clone(),
            merchant_id: a.merchant_id.clone(),
            skills: json_list(&a.skills),
            languages: json_list(&a.languages),
            capacity: serde_json::to_string(&capacity).unwrap_or_else(|_| "{}".to_owned()),
            status: existing
                .as_ref()
                .map_or_else(|| "offline".to_owned(), |e| e.status.clone()),
            status_since: existing.as_ref().map_or(now, |e| e.status_since),
            password_hash,
            assign_seq: 0,
            last_assigned_at: None,
            idle_since: now,
        };
        store::put_agent(&self.state.db, row)
            .await
            .map_err(conflict)?;
        // A changed role or merchant invalidates the account's tokens: its sockets close.
        if let Some(e) = &existing
            && (e.role != a.role || e.merchant_id != a.merchant_id)
        {
            self.announce(removed_event(&who.tenant, e)).await?;
        }
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        let saved = self.agent_in_scope(&who, &a.agent_id).await?;
        Ok(Response::new(self.with_load(saved).await?))
    }

    async fn get_agent(&self, req: Request<AgentRef>) -> Result<Response<Agent>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        if req.agent_id != who.agent {
            who.require(Role::Supervisor)?;
        }
        let a = self.agent_in_scope(&who, &req.agent_id).await?;
        Ok(Response::new(self.with_load(a).await?))
    }

    async fn list_agents(
        &self,
        req: Request<ListAgentsRequest>,
    ) -> Result<Response<ListAgentsResponse>, Status> {
        let who = self.who(req.into_inner().actor).await?;
        // Any role: agents pick colleagues to transfer to (within their merchant scope).
        let rows = store::list_agents(&self.state.db, &who.tenant, who.scope())
            .await
            .map_err(internal)?;
        let loads = store::loads(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        Ok(Response::new(ListAgentsResponse {
            agents: rows
                .into_iter()
                .map(|a| {
                    let load = loads.get(&a.id).cloned();
                    agent_of(a, load.as_ref())
                })
                .collect(),
        }))
    }

    async fn delete_agent(&self, req: Request<AgentRef>) -> Result<Response<Agent>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        who.require(Role::Admin)?;
        let a = self.agent_in_scope(&who, &req.agent_id).await?;
        match store::delete_idle_agent(&self.state.db, &who.tenant, &a.id)
            .await
            .map_err(internal)?
        {
            Ok(()) => {}
            Err(store::DeleteRefused::NotFound) => {
                return Err(Status::not_found("agent not found"));
            }
            Err(store::DeleteRefused::HasWork) => {
                return Err(Status::failed_precondition(
                    "agent_id: the agent still has conversations; transfer or close them first",
                ));
            }
        }
        self.announce(removed_event(&who.tenant, &a)).await?;
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        Ok(Response::new(agent_of(a, None)))
    }

    async fn login(&self, req: Request<LoginRequest>) -> Result<Response<Agent>, Status> {
        let req = req.into_inner();
        if req.tenant_id.is_empty() || req.login.is_empty() || req.password.len() > 1024 {
            return Err(Status::unauthenticated("login or password is wrong"));
        }
        let found = store::find_agent_by_login(&self.state.db, &req.tenant_id, &req.login)
            .await
            .map_err(internal)?;
        // Hashing runs off the async threads; an unknown login costs the same as a wrong
        // password, so logins cannot be probed by timing.
        let hash = found
            .as_ref()
            .map_or_else(dummy_hash, |a| a.password_hash.clone());
        let password = req.password.clone();
        // Each check takes ~19 MiB and a core for tens of milliseconds: a few at a time, the
        // rest wait (a login flood cannot exhaust memory).
        let _permit = login_permits()
            .acquire()
            .await
            .map_err(|_| Status::unavailable("shutting down"))?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        match found {
            Some(a) if ok => Ok(Response::new(self.with_load(a).await?)),
            _ => Err(Status::unauthenticated("login or password is wrong")),
        }
    }

    async fn set_status(&self, req: Request<SetStatusRequest>) -> Result<Response<Agent>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        desk::check_status("status", &req.status)?;
        let id = if req.agent_id.is_empty() {
            who.agent.clone()
        } else {
            req.agent_id
        };
        if id.is_empty() {
            return Err(invalid("agent_id", "is required"));
        }
        if id != who.agent {
            who.require(Role::Supervisor)?;
        }
        let a = self.agent_in_scope(&who, &id).await?;
        {
            let txn = self
                .state
                .db
                .begin()
                .await
                .map_err(|e| internal(e.into()))?;
            store::set_status(&txn, &who.tenant, &a.id, &req.status)
                .await
                .map_err(internal)?;
            // Setting the status an agent already has changes nothing and says nothing.
            let evs: Vec<_> = (a.status != req.status)
                .then(|| {
                    domain::agent_status_changed(
                        &who.tenant,
                        &a.id,
                        &a.merchant_id,
                        &a.status,
                        &req.status,
                        Utc::now(),
                    )
                })
                .into_iter()
                .collect();
            outbox::enqueue_many(&txn, &evs)
                .await
                .map_err(|e| internal(e.into()))?;
            txn.commit().await.map_err(|e| internal(e.into()))?;
            self.state.outbox.dispatch(evs);
        }
        // Offers to an agent who stepped away go back at once (not held to their expiry, and
        // without excluding the agent). Active conversations stay: the agent still owns them.
        if matches!(req.status.as_str(), "away" | "offline") {
            let offered = store::list_work(
                &self.state.db,
                &who.tenant,
                &[OFFERED],
                None,
                Some(&a.id),
                1000,
            )
            .await
            .map_err(internal)?;
            for w in offered {
                let change = Change {
                    state: Some(WAITING),
                    agent_id: Some(String::new()),
                    clear_offer: true,
                    note: Some("reoffer".to_owned()),
                    ..Change::default()
                };
                let tenant = who.tenant.clone();
                let agent = a.id.clone();
                // Accepted or expired meanwhile: nothing to take back.
                let _ = ops::commit_change(
                    &self.state,
                    &who.tenant,
                    w.conversation_id,
                    w.version,
                    &[OFFERED],
                    change,
                    |n| {
                        vec![
                            events::work_event("assignment.revoked", n, Audience::agent(&agent)),
                            events::queue_changed(&tenant, &n.merchant_id, &n.queue),
                            domain::queue_entered(n, domain::Entered::Requeued),
                        ]
                    },
                )
                .await
                .map_err(internal)?;
            }
        }
        let a = self.agent_in_scope(&who, &id).await?;
        let view = self.with_load(a).await?;
        let ev = events::envelope(
            &who.tenant,
            &view.merchant_id,
            "",
            Audience::agent(&view.agent_id),
            serde_json::json!({"type": "agent.updated", "agent_id": view.agent_id, "status": view.status}),
        );
        self.announce(ev).await?;
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        self.state.desk_wake.notify_one();
        Ok(Response::new(view))
    }

    async fn put_canned_response(
        &self,
        req: Request<PutCannedResponseRequest>,
    ) -> Result<Response<CannedResponse>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        let c = req.canned.ok_or_else(|| invalid("canned", "is required"))?;
        if c.text.trim().is_empty() {
            return Err(invalid("canned.text", "is required"));
        }
        check_text("canned.text", &c.text, MAX_TEXT)?;
        check_text("canned.title", &c.title, MAX_NAME)?;
        check_text("canned.shortcut", &c.shortcut, 64)?;
        let merchant = match who.scope() {
            Some(m) => m.to_owned(),
            None => c.merchant_id.clone(),
        };
        let id = if c.canned_id.is_empty() {
            Uuid::now_v7()
        } else {
            let id = parse_id("canned.canned_id", &c.canned_id)?;
            if let Some(existing) = store::get_canned(&self.state.db, &who.tenant, id)
                .await
                .map_err(internal)?
                && !who.covers(&existing.merchant_id)
            {
                return Err(Status::not_found("canned response not found"));
            }
            id
        };
        let row = canned_response::Model {
            id,
            tenant_id: who.tenant.clone(),
            merchant_id: merchant,
            shortcut: c.shortcut,
            title: c.title,
            text: c.text,
            updated_at: Utc::now(),
        };
        store::put_canned(&self.state.db, row.clone())
            .await
            .map_err(|e| match e {
                // Another tenant's id: not found here, and untouched.
                StoreError::Conflict(_) => Status::not_found("canned response not found"),
                e => internal(e),
            })?;
        // An id of another tenant was refused above without a write:
        // read back through the tenant filter.
        let saved = store::get_canned(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("canned response not found"))?;
        Ok(Response::new(canned_of(saved)))
    }

    async fn list_canned_responses(
        &self,
        req: Request<ListCannedResponsesRequest>,
    ) -> Result<Response<ListCannedResponsesResponse>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        check_text("query", &req.query, 200)?;
        let rows = store::list_canned(&self.state.db, &who.tenant, who.scope())
            .await
            .map_err(internal)?;
        let q = fold(&req.query);
        Ok(Response::new(ListCannedResponsesResponse {
            canned: rows
                .into_iter()
                .filter(|c| {
                    q.is_empty()
                        || fold(&c.shortcut).contains(&q)
                        || fold(&c.title).contains(&q)
                        || fold(&c.text).contains(&q)
                })
                .map(canned_of)
                .collect(),
        }))
    }

    async fn delete_canned_response(
        &self,
        req: Request<CannedResponseRef>,
    ) -> Result<Response<CannedResponse>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        let id = parse_id("canned_id", &req.canned_id)?;
        let c = store::get_canned(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|c| who.covers(&c.merchant_id))
            .ok_or_else(|| Status::not_found("canned response not found"))?;
        store::delete_canned(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?;
        Ok(Response::new(canned_of(c)))
    }

    async fn list_conversations(
        &self,
        req: Request<ListConversationsRequest>,
    ) -> Result<Response<ListConversationsResponse>, Status> {
        let req = req.into_inner();
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
                    return Ok(Response::new(ListConversationsResponse::default()));
                };
                let mut rows =
                    store::list_work(db, &who.tenant, OPEN_STATES, who.scope(), Some(me), limit)
                        .await
                        .map_err(internal)?;
                // And the ones a supervisor joined.
                if who.is_supervisor() {
                    let joined =
                        store::list_work(db, &who.tenant, OPEN_STATES, who.scope(), None, 1000)
                            .await
                            .map_err(internal)?;
                    rows.extend(joined.into_iter().filter(|w| {
                        w.agent_id != me && list_of(&w.participants).iter().any(|p| p == me)
                    }));
                }
                rows
            }
            "queued" => store::list_work(db, &who.tenant, QUEUED_STATES, who.scope(), None, limit)
                .await
                .map_err(internal)?,
            "closed" => {
                let agent = if who.is_supervisor() { None } else { mine };
                if agent.is_none() && !who.is_supervisor() {
                    Vec::new()
                } else {
                    store::list_work(db, &who.tenant, &[CLOSED], who.scope(), agent, limit)
                        .await
                        .map_err(internal)?
                }
            }
            "active" => {
                who.require(Role::Supervisor)?;
                store::list_work(db, &who.tenant, OPEN_STATES, who.scope(), None, limit)
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
        Ok(Response::new(ListConversationsResponse {
            conversations: out,
        }))
    }

    async fn get_work(
        &self,
        req: Request<ConversationRef>,
    ) -> Result<Response<WorkConversation>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        Ok(Response::new(self.view(w).await?))
    }

    async fn list_work_messages(
        &self,
        req: Request<ConversationRef>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let c = repo::get_conversation(&self.state.db, &who.tenant, w.conversation_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        let rows = repo::list_messages(&self.state.db, &who.tenant, w.conversation_id, 500, true)
            .await
            .map_err(internal)?;
        Ok(Response::new(ListMessagesResponse {
            messages: rows
                .into_iter()
                .map(|m| message_of(m, c.channel_id.clone()))
                .collect(),
        }))
    }

    async fn accept(
        &self,
        req: Request<ConversationRef>,
    ) -> Result<Response<WorkConversation>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let expired = w.offer_expires_at.is_some_and(|t| t < Utc::now());
        if w.state != OFFERED || w.agent_id != who.agent || who.agent.is_empty() || expired {
            return Err(Status::failed_precondition(
                "conversation_id: not offered to you (the offer may have expired and gone to someone else)",
            ));
        }
        let agent = who.agent.clone();
        let now = Utc::now();
        let n = self
            .change(
                &w,
                &[OFFERED],
                Change {
                    state: Some(ACTIVE),
                    accepted_at: Some(now),
                    ..Change::default()
                },
                |n| {
                    vec![
                        events::work_event("conversation.updated", n, Audience::of_work(n)),
                        domain::assigned(n, now),
                    ]
                },
            )
            .await?;
        tracing::info!(conversation = %n.conversation_id, %agent, "accepted");
        Ok(Response::new(self.view(n).await?))
    }

    async fn reply(&self, req: Request<ReplyRequest>) -> Result<Response<Message>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state != ACTIVE || !Self::works_on(&who, &w, false) {
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
            let canned = store::get_canned(&self.state.db, &who.tenant, id)
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
                    sender_kind: "agent",
                    agent_id: &who.agent,
                    text,
                    cards: req.cards,
                    internal: false,
                    key,
                },
            )
            .await?;
        Ok(Response::new(m))
    }

    async fn note(&self, req: Request<NoteRequest>) -> Result<Response<Message>, Status> {
        let req = req.into_inner();
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

    async fn transfer(
        &self,
        req: Request<TransferRequest>,
    ) -> Result<Response<WorkConversation>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        if !matches!(w.state.as_str(), ACTIVE | OFFERED) || !Self::works_on(&who, &w, true) {
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
                let target_id = target.id.clone();
                let outcome = store::offer(
                    &self.state.db,
                    &who.tenant,
                    w.conversation_id,
                    &target.id,
                    w.version,
                    &[ACTIVE, OFFERED],
                    expires,
                    Some(&note),
                    |n| {
                        let mut evs = vec![
                            events::work_event(
                                "assignment.offered",
                                n,
                                Audience::agent(&target_id),
                            ),
                            events::work_event("assignment.revoked", n, Audience::agent(&from)),
                        ];
                        evs.extend(domain::transferred(&w, n, &req.note, Utc::now()));
                        evs
                    },
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
                    state: Some(WAITING),
                    agent_id: Some(String::new()),
                    queue: Some(q.name.clone()),
                    queue_entered_at: Some(Utc::now()),
                    clear_offer: true,
                    note: Some(format!("transfer:{from}")),
                    ..Change::default()
                };
                let tenant = who.tenant.clone();
                self.change(&w, &[ACTIVE, OFFERED], change, |n| {
                    let mut evs = vec![
                        events::work_event("assignment.revoked", n, Audience::agent(&from)),
                        events::queue_changed(&tenant, &n.merchant_id, &n.queue),
                    ];
                    evs.extend(domain::transferred(&w, n, &req.note, Utc::now()));
                    evs
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
        Ok(Response::new(self.view(n).await?))
    }

    async fn close(
        &self,
        req: Request<CloseRequest>,
    ) -> Result<Response<WorkConversation>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        let w = self.work(&who, &req.conversation_id).await?;
        let open = [ACTIVE, OFFERED, WAITING, LEFT_MESSAGE];
        if !open.contains(&w.state.as_str()) {
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
        let c = repo::get_conversation(&self.state.db, &who.tenant, w.conversation_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        let txn = self
            .state
            .db
            .begin()
            .await
            .map_err(|e| internal(e.into()))?;
        let change = Change {
            state: Some(CLOSED),
            closed_at: Some(now),
            summary: Some(req.summary.clone()),
            tags: Some(json_list(&req.tags)),
            csat_invited: Some(true),
            clear_offer: true,
            ..Change::default()
        };
        let Some(n) = store::change(
            &txn,
            &who.tenant,
            w.conversation_id,
            w.version,
            &open,
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
        let (_, mut evs) = ops::say(
            &txn,
            &c,
            &n,
            Say {
                sender_kind: "system",
                agent_id: "",
                text,
                cards: vec![card],
                internal: false,
                key: Some(format!("csat-invite:{}", n.conversation_id)),
            },
        )
        .await
        .map_err(internal)?;
        evs.push(events::work_event(
            "conversation.updated",
            &n,
            Audience::of_work(&n),
        ));
        evs.extend(domain::closed(&w, &n, &who.agent, now));
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
        Ok(Response::new(self.view(n).await?))
    }

    async fn list_queues(
        &self,
        req: Request<ListQueuesRequest>,
    ) -> Result<Response<ListQueuesResponse>, Status> {
        let who = self.who(req.into_inner().actor).await?;
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
            &[ACTIVE],
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
                .filter(|w| w.queue == q.name && w.state == OFFERED)
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
        Ok(Response::new(ListQueuesResponse { queues }))
    }

    async fn monitor(
        &self,
        req: Request<ConversationRef>,
    ) -> Result<Response<WorkConversation>, Status> {
        self.supervise(req.into_inner(), false).await
    }

    async fn whisper(&self, req: Request<NoteRequest>) -> Result<Response<Message>, Status> {
        let req = req.into_inner();
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state == CLOSED {
            return Err(Status::failed_precondition(
                "conversation_id: already closed",
            ));
        }
        self.internal_message(&who, &w, req.text, req.client_id)
            .await
    }

    async fn join(
        &self,
        req: Request<ConversationRef>,
    ) -> Result<Response<WorkConversation>, Status> {
        self.supervise(req.into_inner(), true).await
    }

    async fn rate(&self, req: Request<RateRequest>) -> Result<Response<WorkConversation>, Status> {
        let req = req.into_inner();
        if req.tenant_id.is_empty() {
            return Err(invalid("tenant_id", "is required"));
        }
        if !(1..=5).contains(&req.rating) {
            return Err(invalid("rating", "1 to 5"));
        }
        check_text("comment", &req.comment, MAX_TEXT)?;
        let id = parse_id("conversation_id", &req.conversation_id)?;
        let w = store::get_work(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        if w.state != CLOSED {
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
        Ok(Response::new(self.view(n).await?))
    }

    async fn queue_position(
        &self,
        req: Request<QueuePositionRequest>,
    ) -> Result<Response<QueuePosition>, Status> {
        let req = req.into_inner();
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
            Ok(Response::new(QueuePosition {
                state: "none".into(),
                ..QueuePosition::default()
            }))
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
            state: w.state.clone(),
            queue: w.queue.clone(),
            agent_id: w.agent_id.clone(),
            conversation_id: w.conversation_id.to_string(),
            ..QueuePosition::default()
        };
        if matches!(w.state.as_str(), WAITING | LEFT_MESSAGE) {
            let setup = setup::load(db, &req.tenant_id).await.map_err(internal)?;
            let r = kefu_routing::Router::new(setup.policy.clone());
            let now = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
            let key = |x: &work_item::Model| {
                // Left messages rank below every live conversation, as the router serves them.
                let live = x.state == WAITING;
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
        Ok(Response::new(out))
    }
}

impl DeskGrpc {
    async fn internal_message(
        &self,
        who: &Who,
        w: &work_item::Model,
        text: String,
        client_id: String,
    ) -> Result<Response<Message>, Status> {
        if text.trim().is_empty() {
            return Err(invalid("text", "is required"));
        }
        check_text("text", &text, MAX_TEXT)?;
        check_text("client_id", &client_id, 100)?;
        let key = (!client_id.is_empty()).then(|| format!("desk:{client_id}"));
        let kind = if who.is_supervisor() && w.agent_id != who.agent {
            "supervisor"
        } else {
            "agent"
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
        Ok(Response::new(m))
    }

    async fn supervise(
        &self,
        req: ConversationRef,
        join: bool,
    ) -> Result<Response<WorkConversation>, Status> {
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        if who.agent.is_empty() {
            return Err(Status::failed_precondition(
                "actor.agent_id: sign in as a supervisor to monitor or join",
            ));
        }
        let w = self.work(&who, &req.conversation_id).await?;
        if w.state == CLOSED {
            return Err(Status::failed_precondition(
                "conversation_id: already closed",
            ));
        }
        let mut monitors = list_of(&w.monitors);
        let mut participants = list_of(&w.participants);
        if !monitors.contains(&who.agent) {
            monitors.push(who.agent.clone());
        }
        if join && !participants.contains(&who.agent) {
            participants.push(who.agent.clone());
        }
        let change = Change {
            monitors: Some(json_list(&monitors)),
            participants: Some(json_list(&participants)),
            ..Change::default()
        };
        let all = [WAITING, OFFERED, ACTIVE, LEFT_MESSAGE];
        let n = self
            .change(&w, &all, change, |n| {
                vec![events::work_event(
                    "conversation.updated",
                    n,
                    Audience::of_work(n),
                )]
            })
            .await?;
        Ok(Response::new(self.view(n).await?))
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
    store::get_work(&state.db, &w.tenant_id, w.conversation_id).await
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
        &[CLOSED],
        change,
    )
    .await?
    else {
        return Ok(Vec::new());
    };
    let mut evs = vec![
        events::work_event("conversation.updated", &n, Audience::of_work(&n)),
        domain::csat_rated(&n, Utc::now()),
    ];
    if let Some(c) = repo::get_conversation(txn, &w.tenant_id, w.conversation_id).await? {
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
            Say {
                sender_kind: "system",
                agent_id: "",
                text,
                cards: Vec::new(),
                internal: false,
                key: Some(format!("csat-thanks:{}:{}", n.conversation_id, n.version)),
            },
        )
        .await?;
        evs.extend(sent);
    }
    tracing::info!(conversation = %n.conversation_id, rating, "rated");
    Ok(evs)
}

fn csat_invitation(language: &str) -> (String, [&'static str; 5]) {
    let text = ops::localized(
        language,
        "本次服务已结束，请为客服评分（1–5 星）",
        "本次服務已結束，請為客服評分（1–5 星）",
        "This conversation has ended. Please rate our service (1–5 stars)",
    );
    (text, ["★1", "★2", "★3", "★4", "★5"])
}

/// Case-folded, for searching canned responses.
fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// A valid hash of nothing anyone knows, verified against when the login does not exist.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&Uuid::now_v7().to_string()).unwrap_or_default())
        .clone()
}

fn login_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(4))
}
