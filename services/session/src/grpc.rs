//! `kefu.session.v1.Session`: conversations and history, tenant-scoped (another tenant's ids
//! answer NOT_FOUND).

use crate::SessionState;
use kefu_proto::session::session_server::Session;
use kefu_proto::session::{
    Conversation, Customer, FindCustomerRequest, GetConversationRequest, ListMessagesRequest,
    ListMessagesResponse, Message,
};
use kefu_store::session as repo;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub const MAX_PAGE: u32 = 500;

pub struct SessionGrpc {
    pub state: SessionState,
}

fn internal(e: kefu_store::StoreError) -> Status {
    tracing::error!(error = %e, "session query failed");
    Status::internal("storage error")
}

fn parse_id(field: &str, s: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(s).map_err(|_| Status::invalid_argument(format!("{field}: not a UUID")))
}

fn require_tenant(t: &str) -> Result<(), Status> {
    if t.is_empty() {
        Err(Status::invalid_argument("tenant_id: is required"))
    } else {
        Ok(())
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
        let c = repo::get_conversation(&self.state.db, &req.tenant_id, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("conversation not found"))?;
        Ok(Response::new(Conversation {
            tenant_id: c.tenant_id,
            conversation_id: c.id.to_string(),
            customer_id: c.customer_id.to_string(),
            channel_id: c.channel_id,
            status: c.status,
            opened_at: Some(kefu_proto::time::to_timestamp(c.opened_at)),
        }))
    }

    async fn list_messages(
        &self,
        req: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let id = parse_id("conversation_id", &req.conversation_id)?;
        if repo::get_conversation(&self.state.db, &req.tenant_id, id)
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
        let rows = repo::list_messages(&self.state.db, &req.tenant_id, id, u64::from(limit))
            .await
            .map_err(internal)?;
        let messages = rows
            .into_iter()
            .map(|m| Message {
                message_id: m.id.to_string(),
                direction: m.direction,
                sender_kind: m.sender_kind,
                text: m.text,
                created_at: Some(kefu_proto::time::to_timestamp(m.created_at)),
            })
            .collect();
        Ok(Response::new(ListMessagesResponse { messages }))
    }

    async fn find_customer(
        &self,
        req: Request<FindCustomerRequest>,
    ) -> Result<Response<Customer>, Status> {
        let req = req.into_inner();
        require_tenant(&req.tenant_id)?;
        let c = repo::find_channel_customer(
            &self.state.db,
            &req.tenant_id,
            &req.channel_id,
            &req.external_user_id,
        )
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found("customer not found"))?;
        Ok(Response::new(Customer {
            tenant_id: c.tenant_id,
            customer_id: c.id.to_string(),
            display_name: c.display_name,
        }))
    }
}
