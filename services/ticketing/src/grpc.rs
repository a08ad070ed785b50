//! `kefu.ticketing.v1.Ticketing`: every call scoped to a tenant (and a merchant when the caller
//! is a merchant's). Another tenant's or merchant's ticket is NOT_FOUND; a wrong field is
//! INVALID_ARGUMENT naming it; a change to a closed ticket is FAILED_PRECONDITION.

use crate::TicketingState;
use crate::store::ListFilter;
use crate::store::entities::ticket::{self, Priority, Status};
use crate::store::entities::{ticket_audit, ticket_comment};
use crate::tickets::{self, Actor, Changes, Error, NewTicket, TranscriptLine};
use chrono::{DateTime, Utc};
use kefu_proto::desk::invalid;
use kefu_proto::ticketing as pb;
use kefu_proto::ticketing::ticketing_server::Ticketing;
use kefu_proto::time::to_timestamp;
use tonic::{Code, Request, Response, Status as RpcStatus};

pub struct TicketingGrpc {
    pub state: TicketingState,
}

fn internal(e: impl std::fmt::Display) -> RpcStatus {
    tracing::error!(error = %e, "ticketing request failed");
    RpcStatus::internal("ticketing could not answer")
}

fn status(e: Error) -> RpcStatus {
    match e {
        Error::NotFound => RpcStatus::not_found("no such ticket"),
        Error::Invalid(f) => f.into(),
        Error::Closed => RpcStatus::failed_precondition(e.to_string()),
        Error::Db(e) => internal(e),
    }
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(t))
}

fn ts_ms(ms: Option<i64>) -> Option<prost_types::Timestamp> {
    ms.and_then(DateTime::from_timestamp_millis)
        .map(to_timestamp)
}

/// The scope's tenant and merchant, checked.
fn scope(s: Option<&pb::Scope>) -> Result<(String, String), RpcStatus> {
    let s = s.ok_or_else(|| invalid("scope", "is required"))?;
    if !kefu_crd::common::is_id(&s.tenant_id) {
        return Err(invalid(
            "tenant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    if !s.merchant_id.is_empty() && !kefu_crd::common::is_id(&s.merchant_id) {
        return Err(invalid(
            "merchant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    Ok((s.tenant_id.clone(), s.merchant_id.clone()))
}

fn actor(a: Option<pb::Actor>) -> Actor {
    a.map_or_else(|| Actor::new("api", ""), |a| Actor::new(&a.kind, &a.id))
}

pub fn ticket_pb(x: &ticket::Model) -> pb::Ticket {
    pb::Ticket {
        ticket_id: x.id.to_string(),
        tenant_id: x.tenant_id.clone(),
        number: x.number.clone(),
        subject: x.subject.clone(),
        r#type: x.ticket_type.clone(),
        priority: x.priority.as_str().to_owned(),
        status: x.status.as_str().to_owned(),
        sub_status: x.sub_status.clone(),
        sla_paused: x.sla_paused,
        group_id: x.group_id.clone(),
        assignee_id: x.assignee_id.clone(),
        tags: x.tags.0.clone(),
        requester_id: x.requester_id.clone(),
        merchant_id: x.merchant_id.clone(),
        conversation_id: x.conversation_id.clone(),
        channel_id: x.channel_id.clone(),
        follow_up_of: x.follow_up_of.clone(),
        created_at: ts(x.created_at),
        updated_at: ts(x.updated_at),
        sla: x
            .clocks
            .0
            .iter()
            .map(|c| pb::SlaClock {
                metric: c.metric.clone(),
                target_ms: c.target_ms,
                elapsed_ms: c.elapsed_ms,
                due_at: ts_ms(c.due_at),
                met_at: ts_ms(c.met_at),
                warned: c.warned,
                breached: c.breached,
                paused: c.running_since.is_none() && c.met_at.is_none(),
            })
            .collect(),
    }
}

fn comment_pb(c: &ticket_comment::Model) -> pb::Comment {
    pb::Comment {
        comment_id: c.id.to_string(),
        author_kind: c.author_kind.clone(),
        author_id: c.author_id.clone(),
        public: c.public,
        kind: c.kind.clone(),
        text: c.text.clone(),
        attachments: c.attachments.0.clone(),
        created_at: ts(c.created_at),
    }
}

fn audit_pb(a: &ticket_audit::Model) -> pb::AuditEntry {
    pb::AuditEntry {
        actor_kind: a.actor_kind.clone(),
        actor_id: a.actor_id.clone(),
        field: a.field.clone(),
        from_value: a.from_value.clone(),
        to_value: a.to_value.clone(),
        at: ts(a.at),
    }
}

impl TicketingGrpc {
    async fn detail(&self, x: ticket::Model) -> Result<pb::TicketDetail, RpcStatus> {
        let db = &self.state.db;
        let comments = crate::store::comments(db, &x.tenant_id, x.id)
            .await
            .map_err(internal)?;
        let audit = crate::store::audit(db, &x.tenant_id, x.id)
            .await
            .map_err(internal)?;
        Ok(pb::TicketDetail {
            ticket: Some(ticket_pb(&x)),
            comments: comments.iter().map(comment_pb).collect(),
            audit: audit.iter().map(audit_pb).collect(),
        })
    }

    /// The conversation's customer, channel, merchant and transcript, from the session.
    async fn fill_from_conversation(
        &self,
        tenant: &str,
        merchant: &str,
        conversation: &str,
        new: &mut NewTicket,
    ) -> Result<(), RpcStatus> {
        if uuid::Uuid::parse_str(conversation).is_err() {
            return Err(invalid(
                "conversation_id",
                "must be a conversation id (UUID)",
            ));
        }
        let mut session = self.state.session.clone();
        let conv = match session
            .get_conversation(kefu_proto::session::GetConversationRequest {
                tenant_id: tenant.to_owned(),
                conversation_id: conversation.to_owned(),
            })
            .await
        {
            Ok(c) => c.into_inner(),
            Err(s) if s.code() == Code::NotFound => {
                return Err(invalid("conversation_id", "no such conversation"));
            }
            Err(s) => {
                tracing::warn!(error = %s, "the session did not answer");
                return Err(RpcStatus::unavailable("the session service did not answer"));
            }
        };
        let conv_merchant = conv
            .handoff
            .as_ref()
            .map(|h| h.merchant_id.clone())
            .unwrap_or_default();
        if !merchant.is_empty() && conv_merchant != merchant {
            return Err(invalid("conversation_id", "no such conversation"));
        }
        let messages = session
            .list_messages(kefu_proto::session::ListMessagesRequest {
                tenant_id: tenant.to_owned(),
                conversation_id: conversation.to_owned(),
                limit: tickets::MAX_TRANSCRIPT as u32,
            })
            .await
            .map_err(|s| {
                tracing::warn!(error = %s, "the session did not answer");
                RpcStatus::unavailable("the session service did not answer")
            })?
            .into_inner();
        if new.requester_id.is_empty() {
            new.requester_id = conv.customer_id.clone();
        } else if new.requester_id != conv.customer_id {
            return Err(invalid(
                "requester_id",
                "is not the conversation's customer",
            ));
        }
        new.channel_id = conv.channel_id.clone();
        if new.merchant_id.is_empty() {
            new.merchant_id = conv_merchant;
        }
        new.transcript = messages
            .messages
            .into_iter()
            .filter(|m| !m.internal)
            .map(|m| TranscriptLine {
                sender: m.sender_kind,
                text: m.text,
                at: m
                    .created_at
                    .as_ref()
                    .and_then(kefu_proto::time::from_timestamp)
                    .unwrap_or_default(),
            })
            .collect();
        Ok(())
    }
}

#[tonic::async_trait]
impl Ticketing for TicketingGrpc {
    async fn create_ticket(
        &self,
        req: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::TicketDetail>, RpcStatus> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        if !merchant.is_empty() && !req.merchant_id.is_empty() && req.merchant_id != merchant {
            return Err(invalid("merchant_id", "must be the caller's merchant"));
        }
        let mut new = NewTicket {
            tenant: tenant.clone(),
            subject: req.subject,
            description: req.description,
            priority: req.priority,
            requester_id: req.requester_id,
            merchant_id: if merchant.is_empty() {
                req.merchant_id
            } else {
                merchant.clone()
            },
            conversation_id: req.conversation_id.clone(),
            group_id: req.group_id,
            assignee_id: req.assignee_id,
            tags: req.tags,
            ticket_type: req.r#type,
            follow_up_of: req.follow_up_of,
            idempotency_key: req.idempotency_key,
            ..NewTicket::default()
        };
        if !req.conversation_id.is_empty() {
            self.fill_from_conversation(&tenant, &merchant, &req.conversation_id, &mut new)
                .await?;
        }
        let done = tickets::create(&self.state.db, new, &actor(req.actor), Utc::now())
            .await
            .map_err(status)?;
        if !done.events.is_empty() {
            self.state.metrics.created.add(
                1,
                &[opentelemetry::KeyValue::new(
                    "priority",
                    done.ticket.priority.as_str(),
                )],
            );
        }
        self.state.committed(done.events);
        Ok(Response::new(self.detail(done.ticket).await?))
    }

    async fn get_ticket(
        &self,
        req: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::TicketDetail>, RpcStatus> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let x = crate::store::find_ticket(&self.state.db, &tenant, &merchant, &req.ticket, false)
            .await
            .map_err(internal)?
            .ok_or_else(|| RpcStatus::not_found("no such ticket"))?;
        Ok(Response::new(self.detail(x).await?))
    }

    async fn list_tickets(
        &self,
        req: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsReply>, RpcStatus> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let mut statuses = Vec::new();
        for s in &req.status {
            statuses.push(Status::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    "must be new, open, pending, on_hold, solved or closed",
                )
            })?);
        }
        let priority = if req.priority.is_empty() {
            None
        } else {
            Some(
                Priority::parse(&req.priority)
                    .ok_or_else(|| invalid("priority", "must be urgent, high, normal or low"))?,
            )
        };
        let limit = match req.limit {
            0 => 50,
            n @ 1..=200 => u64::from(n),
            _ => return Err(invalid("limit", "must be 1-200")),
        };
        let after = if req.cursor.is_empty() {
            None
        } else {
            Some(
                uuid::Uuid::parse_str(&req.cursor)
                    .map_err(|_| invalid("cursor", "is not a cursor this API gave"))?,
            )
        };
        let some = |s: String| (!s.is_empty()).then_some(s);
        let filter = ListFilter {
            tenant,
            merchant,
            status: statuses,
            assignee: some(req.assignee_id),
            group: some(req.group_id),
            requester: some(req.requester_id),
            priority,
            conversation: some(req.conversation_id),
            unassigned: req.unassigned,
            due_before: req
                .due_before
                .as_ref()
                .and_then(kefu_proto::time::from_timestamp)
                .map(|t| t.timestamp_millis()),
            after,
            limit,
        };
        let (rows, next) = tickets::list(&self.state.db, filter)
            .await
            .map_err(internal)?;
        Ok(Response::new(pb::ListTicketsReply {
            tickets: rows.iter().map(ticket_pb).collect(),
            next_cursor: next.map(|n| n.to_string()).unwrap_or_default(),
        }))
    }

    async fn update_ticket(
        &self,
        req: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::TicketDetail>, RpcStatus> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let changes = Changes {
            status: req.status,
            sub_status: req.sub_status,
            priority: req.priority,
            group_id: req.group_id,
            assignee_id: req.assignee_id,
            subject: req.subject,
            tags: req.set_tags.then_some(req.tags),
        };
        let done = tickets::update(
            &self.state.db,
            &tenant,
            &merchant,
            &req.ticket,
            changes,
            &actor(req.actor),
            Utc::now(),
        )
        .await
        .map_err(status)?;
        for e in &done.events {
            if e.event_type == kefu_proto::event_types::TICKET_STATUS_CHANGED {
                self.state.metrics.status_changes.add(
                    1,
                    &[opentelemetry::KeyValue::new(
                        "status",
                        done.ticket.status.as_str(),
                    )],
                );
            }
        }
        self.state.committed(done.events);
        Ok(Response::new(self.detail(done.ticket).await?))
    }

    async fn add_comment(
        &self,
        req: Request<pb::AddCommentRequest>,
    ) -> Result<Response<pb::TicketDetail>, RpcStatus> {
        let req = req.into_inner();
        let (tenant, merchant) = scope(req.scope.as_ref())?;
        let done = tickets::comment(
            &self.state.db,
            &tenant,
            &merchant,
            &req.ticket,
            &req.text,
            req.public,
            &req.attachments,
            &actor(req.actor),
            Utc::now(),
        )
        .await
        .map_err(status)?;
        self.state.committed(done.events);
        Ok(Response::new(self.detail(done.ticket).await?))
    }

    async fn get_settings(
        &self,
        req: Request<pb::GetSettingsRequest>,
    ) -> Result<Response<pb::Settings>, RpcStatus> {
        let tenant = req.into_inner().tenant_id;
        if !kefu_crd::common::is_id(&tenant) {
            return Err(invalid(
                "tenant_id",
                "must be 1-64 characters of a-z, 0-9, '-' or '_'",
            ));
        }
        let json = crate::store::settings(&self.state.db, &tenant)
            .await
            .map_err(internal)?
            .map_or_else(|| "{}".to_owned(), |s| s.document);
        Ok(Response::new(pb::Settings {
            tenant_id: tenant,
            json,
        }))
    }

    async fn put_settings(
        &self,
        req: Request<pb::Settings>,
    ) -> Result<Response<pb::Settings>, RpcStatus> {
        let req = req.into_inner();
        if !kefu_crd::common::is_id(&req.tenant_id) {
            return Err(invalid(
                "tenant_id",
                "must be 1-64 characters of a-z, 0-9, '-' or '_'",
            ));
        }
        if req.json.len() > 256 * 1024 {
            return Err(invalid("json", "at most 256 KiB"));
        }
        let version = crate::store::settings(&self.state.db, &req.tenant_id)
            .await
            .map_err(internal)?
            .map_or(1, |s| s.version + 1);
        tickets::put_settings(&self.state.db, &req.tenant_id, &req.json, version)
            .await
            .map_err(status)?;
        self.get_settings(Request::new(pb::GetSettingsRequest {
            tenant_id: req.tenant_id,
        }))
        .await
    }
}
