//! The desk's accounts: agents (create, read, list, delete), sign-in, and status. The `Desk` trait
//! methods in [`super::grpc`] delegate here.

use super::events::{self, Audience};
use super::grpc::*;
use super::ops::{self, TakeBack};
use crate::domain;
use crate::grpc::internal;
use crate::store::desk::{self as store, AgentRole, Capacity, Presence, Strings, WorkState};
use crate::store::entities::agent;
use chrono::Utc;
use kefu_proto::desk::{self, MAX_LIST, MAX_NAME_CHARS as MAX_NAME, Role, invalid};
use kefu_proto::session::*;
use kefu_worker::outbox;
use tonic::Status;
use uuid::Uuid;

impl DeskGrpc {
    pub(super) async fn serve_put_agent(&self, req: PutAgentRequest) -> Result<Agent, Status> {
        let who = self.who(req.actor).await?;
        who.require(Role::Admin)?;
        let a = req.agent.ok_or_else(|| invalid("agent", "is required"))?;
        check_slug("agent.agent_id", &a.agent_id)?;
        check_slug("agent.login", &a.login)?;
        check_text("agent.display_name", &a.display_name, MAX_NAME)?;
        let role = Role::parse(&a.role)
            .ok_or_else(|| invalid("agent.role", format!("must be {}", Role::choices())))?;
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
            role: AgentRole(role),
            merchant_id: a.merchant_id.clone(),
            skills: Strings(a.skills.clone()),
            languages: Strings(a.languages.clone()),
            capacity: Capacity(capacity.into_iter().collect()),
            status: existing.as_ref().map_or(Presence::Offline, |e| e.status),
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
            && (e.role.0 != role || e.merchant_id != a.merchant_id)
        {
            self.announce(removed_event(&who.tenant, e)).await?;
        }
        store::touch(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        let saved = self.agent_in_scope(&who, &a.agent_id).await?;
        self.with_load(saved).await
    }

    pub(super) async fn serve_get_agent(&self, req: AgentRef) -> Result<Agent, Status> {
        let who = self.who(req.actor).await?;
        if req.agent_id != who.agent {
            who.require(Role::Supervisor)?;
        }
        let a = self.agent_in_scope(&who, &req.agent_id).await?;
        self.with_load(a).await
    }

    pub(super) async fn serve_list_agents(
        &self,
        req: ListAgentsRequest,
    ) -> Result<ListAgentsResponse, Status> {
        let who = self.who(req.actor).await?;
        // Any role: agents pick colleagues to transfer to (within their merchant scope).
        let rows = store::list_agents(&self.state.db, &who.tenant, who.scope())
            .await
            .map_err(internal)?;
        let loads = store::loads(&self.state.db, &who.tenant)
            .await
            .map_err(internal)?;
        Ok(ListAgentsResponse {
            agents: rows
                .into_iter()
                .map(|a| {
                    let load = loads.get(&a.id).cloned();
                    agent_of(a, load.as_ref())
                })
                .collect(),
        })
    }

    pub(super) async fn serve_delete_agent(&self, req: AgentRef) -> Result<Agent, Status> {
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
        Ok(agent_of(a, None))
    }

    pub(super) async fn serve_login(&self, req: LoginRequest) -> Result<Agent, Status> {
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
            Some(a) if ok => Ok(self.with_load(a).await?),
            _ => Err(Status::unauthenticated("login or password is wrong")),
        }
    }

    pub(super) async fn serve_set_status(&self, req: SetStatusRequest) -> Result<Agent, Status> {
        let who = self.who(req.actor).await?;
        desk::check_status("status", &req.status)?;
        let status = Presence::parse(&req.status)
            .ok_or_else(|| invalid("status", "is not an agent status"))?;
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
            let txn = self.begin().await?;
            let previous = store::change_status(&txn, &who.tenant, &a.id, status)
                .await
                .map_err(internal)?
                .ok_or_else(|| Status::not_found("agent not found"))?;
            // Setting the status an agent already has changes nothing and says nothing.
            let evs: Vec<_> = (previous != status)
                .then(|| {
                    domain::agent_status_changed(
                        &who.tenant,
                        &a.id,
                        &a.merchant_id,
                        previous.as_str(),
                        status.as_str(),
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
        if status.gone() {
            let offered = store::list_work(
                &self.state.db,
                &who.tenant,
                &[WorkState::Offered],
                None,
                Some(&a.id),
                1000,
            )
            .await
            .map_err(internal)?;
            for w in offered {
                // Accepted or expired meanwhile: nothing to take back.
                ops::take_back(&self.state, &w, TakeBack::AgentAway)
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
        Ok(view)
    }
}

/// A valid hash of nothing anyone knows, verified against when the login does not exist.
pub(super) fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&Uuid::now_v7().to_string()).unwrap_or_default())
        .clone()
}

pub(super) fn login_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(4))
}
