//! `kefu.session.v1.Session`: conversations and history, tenant-scoped (another tenant's ids
//! answer NOT_FOUND).

use crate::SessionState;
use crate::store as repo;
use crate::store::customers;
use crate::store::entities::{conversation, customer, customer_merge, message};
use kefu_proto::desk::invalid;
use kefu_proto::events::{CardList, CustomerProfile, HandoffRequested, Identity, PageContext};
use kefu_proto::session::session_server::Session;
use kefu_proto::session::{
    Conversation, Customer, CustomerHistoryRequest, FindCustomerRequest, GetConversationRequest,
    GetCustomerRequest, GetTenantSettingsRequest, ListMessagesRequest, ListMessagesResponse, Merge,
    MergeCustomersRequest, Message, TenantSettings, UnmergeCustomersRequest, UpdateCustomerRequest,
};
use kefu_store::sea_orm::TransactionTrait;
use kefu_store::{Scoped, StoreError};
use prost::Message as _;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub const MAX_PAGE: u32 = 500;

pub struct SessionGrpc {
    pub state: SessionState,
}

pub(crate) fn internal(e: StoreError) -> Status {
    match e {
        StoreError::NotFound(what) => Status::not_found(format!("{what} not found")),
        StoreError::Conflict(why) => Status::failed_precondition(why),
        // The handlers check what the store would refuse; a refusal here names no field.
        StoreError::Invalid(why) => Status::invalid_argument(why),
        e => {
            tracing::error!(error = %e, "session query failed");
            Status::internal("storage error")
        }
    }
}

fn from_transaction(e: kefu_store::sea_orm::TransactionError<StoreError>) -> Status {
    match e {
        kefu_store::sea_orm::TransactionError::Connection(db) => internal(db.into()),
        kefu_store::sea_orm::TransactionError::Transaction(e) => internal(e),
    }
}

pub(crate) fn conversation_of(c: crate::store::entities::conversation::Model) -> Conversation {
    Conversation {
        tenant_id: c.tenant_id,
        conversation_id: c.id.to_string(),
        customer_id: c.customer_id.to_string(),
        status: c.status.as_str().to_owned(),
        opened_at: Some(kefu_proto::time::to_timestamp(c.opened_at)),
        mode: c.mode.as_str().to_owned(),
        page: Some(PageContext {
            url: c.page_url,
            page_type: c.page_type,
            product_id: c.product_id,
            order_id: c.order_id,
        }),
        handoff: c
            .handoff
            .and_then(|b| HandoffRequested::decode(b.as_slice()).ok()),
        channel_id: c.channel_id,
    }
}

pub(crate) fn message_of(m: message::Model, channel_id: String) -> Message {
    Message {
        message_id: m.id.to_string(),
        direction: m.direction,
        sender_kind: m.sender_kind.as_str().to_owned(),
        text: m.text,
        created_at: Some(kefu_proto::time::to_timestamp(m.created_at)),
        conversation_id: m.conversation_id.to_string(),
        channel_id,
        message_type: m.message_type,
        cards: m
            .cards
            .and_then(|b| CardList::decode(b.as_slice()).ok())
            .map(|l| l.cards)
            .unwrap_or_default(),
        internal: m.internal,
        agent_id: m.agent_id,
    }
}

fn merge_of(m: &customer_merge::Model) -> Merge {
    let (identities, conversations) = customers::merge_counts(m);
    Merge {
        merge_id: m.id.to_string(),
        survivor_id: m.survivor_id.to_string(),
        absorbed_id: m.absorbed_id.to_string(),
        cause: m.cause.clone(),
        identities_moved: identities as u32,
        conversations_moved: conversations as u32,
        merged_at: Some(kefu_proto::time::to_timestamp(m.merged_at)),
        unmerged_at: m.unmerged_at.map(kefu_proto::time::to_timestamp),
    }
}

/// Profile field limits (the agent API sets them).
const MAX_PROFILE_FIELD: usize = 128;
const MAX_TAGS: usize = 32;

impl SessionGrpc {
    /// One of the tenant's customers (a merged-away id leads to the survivor); another
    /// tenant's id is NOT_FOUND.
    async fn customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
    ) -> Result<customer::Model, Status> {
        require_tenant(tenant_id)?;
        let id = parse_id("customer_id", customer_id)?;
        customers::get_customer(&self.state.db, tenant_id, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("customer not found"))
    }

    async fn profile(&self, tenant: &str, c: customer::Model) -> Result<CustomerProfile, Status> {
        let identities: Vec<Identity> = customers::identities(&self.state.db, tenant, &[c.id])
            .await
            .map_err(internal)?
            .into_iter()
            .map(|i| Identity {
                kind: if i.kind == repo::IDENTITY_EXTERNAL {
                    format!("external:{}", i.scope)
                } else {
                    i.kind
                },
                value: i.value,
            })
            .collect();
        let keys = crate::order_keys(&identities);
        let recent_orders = if keys.is_empty() || !self.state.orders.is_configured() {
            Vec::new()
        } else {
            match self.state.orders.recent_orders(&keys, 5).await {
                Ok(orders) => orders.iter().map(crate::order_summary).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "recent orders unavailable");
                    Vec::new()
                }
            }
        };
        Ok(CustomerProfile {
            customer_id: c.id.to_string(),
            display_name: c.display_name.clone(),
            tier: c.tier.clone(),
            tags: customers::tags_of(&c),
            region: c.region.clone(),
            language: c.language.clone(),
            identities,
            recent_orders,
        })
    }
}

pub(crate) fn parse_id(field: &str, s: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(s).map_err(|_| invalid(field, "not a UUID"))
}

fn require_tenant(t: &str) -> Result<(), Status> {
    if t.is_empty() {
        Err(invalid("tenant_id", "is required"))
    } else {
        Ok(())
    }
}

impl SessionGrpc {
    /// A merchant's staff see a customer only once that merchant has served them.
    async fn merchant_may_see(
        &self,
        tenant: &str,
        merchant: &str,
        c: &crate::store::entities::customer::Model,
    ) -> Result<(), Status> {
        if merchant.is_empty()
            || crate::store::desk::customer_served_by(&self.state.db, tenant, c.id, merchant)
                .await
                .map_err(internal)?
        {
            Ok(())
        } else {
            Err(Status::not_found("customer not found"))
        }
    }
}

#[tonic::async_trait]
impl Session for SessionGrpc {
    async fn get_conversation(
        &self,
        req: Request<GetConversationRequest>,
    ) -> Result<Response<Conversation>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let id = parse_id("conversation_id", &req.conversation_id)?;
        let c = conversation::Entity::get(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        Ok(Response::new(conversation_of(c)))
    }

    async fn list_messages(
        &self,
        req: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let id = parse_id("conversation_id", &req.conversation_id)?;
        if conversation::Entity::get(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .is_none()
        {
            return Err(Status::not_found("conversation not found"));
        }
        let limit = if req.limit == 0 {
            100
        } else {
            req.limit.min(MAX_PAGE)
        };
        let conversation = conversation::Entity::get(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .map(|c| c.channel_id)
            .unwrap_or_default();
        let rows = repo::list_messages(&self.state.db, &req.tenant_id, id, u64::from(limit), false)
            .await
            .map_err(internal)?;
        let messages = rows
            .into_iter()
            .map(|m| message_of(m, conversation.clone()))
            .collect();
        Ok(Response::new(ListMessagesResponse { messages }))
    }

    async fn find_customer(
        &self,
        req: Request<FindCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let found = if req.channel_id.is_empty() && !req.identity_kind.is_empty() {
            customers::find_by_identity(
                &self.state.db,
                &req.tenant_id,
                &req.identity_kind,
                &req.identity_value,
            )
            .await
        } else {
            repo::find_channel_customer(
                &self.state.db,
                &req.tenant_id,
                &req.channel_id,
                &req.external_user_id,
            )
            .await
        };
        let c = found
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("customer not found"))?;
        Ok(Response::new(Customer {
            tenant_id: c.tenant_id,
            customer_id: c.id.to_string(),
            display_name: c.display_name,
        }))
    }

    async fn get_customer(
        &self,
        req: Request<GetCustomerRequest>,
    ) -> Result<Response<CustomerProfile>, Status> {
        let req = req.into_inner();
        let c = self.customer(&req.tenant_id, &req.customer_id).await?;
        self.merchant_may_see(&req.tenant_id, &req.merchant_id, &c)
            .await?;
        Ok(Response::new(self.profile(&req.tenant_id, c).await?))
    }

    async fn update_customer(
        &self,
        req: Request<UpdateCustomerRequest>,
    ) -> Result<Response<CustomerProfile>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let id = parse_id("customer_id", &req.customer_id)?;
        for (field, v) in [
            ("display_name", &req.display_name),
            ("tier", &req.tier),
            ("region", &req.region),
            ("language", &req.language),
        ] {
            if v.as_ref()
                .is_some_and(|v| v.chars().count() > MAX_PROFILE_FIELD)
            {
                return Err(invalid(
                    field,
                    format!("at most {MAX_PROFILE_FIELD} characters"),
                ));
            }
        }
        if let Some(l) = &req.language
            && !["", "zh-Hans", "zh-Hant", "en"].contains(&l.as_str())
        {
            return Err(invalid("language", "must be zh-Hans, zh-Hant or en"));
        }
        if req.tags.len() > MAX_TAGS
            || req
                .tags
                .iter()
                .any(|t| t.is_empty() || t.chars().count() > 32)
        {
            return Err(invalid(
                "tags",
                format!("at most {MAX_TAGS} tags of 1 to 32 characters"),
            ));
        }
        let update = customers::ProfileUpdate {
            display_name: req.display_name,
            tier: req.tier,
            region: req.region,
            language: req.language,
            tags: req.set_tags.then_some(req.tags),
        };
        let c = customers::update_profile(&self.state.db, &req.tenant_id, id, &update)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("customer not found"))?;
        Ok(Response::new(self.profile(&req.tenant_id, c).await?))
    }

    async fn customer_history(
        &self,
        req: Request<CustomerHistoryRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let req = req.into_inner();
        let c = self.customer(&req.tenant_id, &req.customer_id).await?;
        self.merchant_may_see(&req.tenant_id, &req.merchant_id, &c)
            .await?;
        let limit = if req.limit == 0 {
            100
        } else {
            req.limit.min(MAX_PAGE)
        };
        let mut rows = customers::history(&self.state.db, &req.tenant_id, c.id, u64::from(limit))
            .await
            .map_err(internal)?;
        // A merchant's staff see the conversations their merchant was handed, not the customer's
        // talks with other merchants.
        if !req.merchant_id.is_empty() {
            let mine: std::collections::HashSet<Uuid> =
                crate::store::desk::conversations_served_by(
                    &self.state.db,
                    &req.tenant_id,
                    c.id,
                    &req.merchant_id,
                )
                .await
                .map_err(internal)?
                .into_iter()
                .collect();
            rows.retain(|h| mine.contains(&h.message.conversation_id));
        }
        Ok(Response::new(ListMessagesResponse {
            messages: rows
                .into_iter()
                .map(|h| message_of(h.message, h.channel_id))
                .collect(),
        }))
    }

    async fn merge_customers(
        &self,
        req: Request<MergeCustomersRequest>,
    ) -> Result<Response<Merge>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let survivor = parse_id("survivor_id", &req.survivor_id)?;
        let absorbed = parse_id("absorbed_id", &req.absorbed_id)?;
        if survivor == absorbed {
            return Err(invalid("absorbed_id", "must differ from survivor_id"));
        }
        let tenant = req.tenant_id.clone();
        let (m, events) = self
            .state
            .db
            .transaction::<_, _, StoreError>(|txn| {
                Box::pin(async move {
                    let m = customers::merge(txn, &tenant, survivor, absorbed, "manual").await?;
                    let events = crate::desk::events::merge_closures(&m.closed, chrono::Utc::now());
                    kefu_worker::outbox::enqueue_many(txn, &events).await?;
                    Ok((m.record, events))
                })
            })
            .await
            .map_err(from_transaction)?;
        self.state.outbox.dispatch(events);
        tracing::info!(survivor = %survivor, absorbed = %absorbed, "customers merged by API");
        Ok(Response::new(merge_of(&m)))
    }

    async fn unmerge_customers(
        &self,
        req: Request<UnmergeCustomersRequest>,
    ) -> Result<Response<Merge>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let id = parse_id("merge_id", &req.merge_id)?;
        let tenant = req.tenant_id.clone();
        let m = self
            .state
            .db
            .transaction::<_, _, StoreError>(|txn| {
                Box::pin(async move { customers::unmerge(txn, &tenant, id).await })
            })
            .await
            .map_err(from_transaction)?;
        Ok(Response::new(merge_of(&m)))
    }

    async fn get_tenant_settings(
        &self,
        req: Request<GetTenantSettingsRequest>,
    ) -> Result<Response<TenantSettings>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let s = customers::tenant_settings(&self.state.db, &req.tenant_id)
            .await
            .map_err(internal)?;
        Ok(Response::new(TenantSettings {
            tenant_id: s.tenant_id,
            merge_identity_kinds: s.merge_identity_kinds,
            handoff_after_misses: s.handoff_after_misses,
        }))
    }

    async fn put_tenant_settings(
        &self,
        req: Request<TenantSettings>,
    ) -> Result<Response<TenantSettings>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        const KINDS: &[&str] = &[
            "phone",
            "email",
            "member_id",
            "wechat_openid",
            "wechat_unionid",
        ];
        if let Some(bad) = req
            .merge_identity_kinds
            .iter()
            .find(|k| !KINDS.contains(&k.as_str()))
        {
            return Err(invalid(
                "merge_identity_kinds",
                format!("{bad:?} is not one of {}", KINDS.join(", ")),
            ));
        }
        if !(1..=100).contains(&req.handoff_after_misses) {
            return Err(invalid("handoff_after_misses", "must be 1 to 100"));
        }
        let s = customers::TenantSettings {
            tenant_id: req.tenant_id.clone(),
            merge_identity_kinds: req.merge_identity_kinds.clone(),
            handoff_after_misses: req.handoff_after_misses,
        };
        customers::put_tenant_settings(&self.state.db, &s)
            .await
            .map_err(internal)?;
        self.state.rules.invalidate(&s.tenant_id);
        Ok(Response::new(req))
    }
}
