//! `kefu.gateway.v1.Gateway`: channel configuration for other services and the operator.

use crate::AppState;
use crate::admin;
use crate::error::ApiError;
use kefu_proto::gateway::gateway_server::Gateway;
use kefu_proto::gateway::{Channel, GetChannelRequest, Tenant, UpsertChannelRequest};
use kefu_store::gateway::ChannelSpec;
use tonic::{Request, Response, Status};

pub struct GatewayGrpc {
    pub state: AppState,
}

/// The one place where the gateway's API errors become gRPC codes.
pub fn to_status(err: ApiError) -> Status {
    match err {
        ApiError::InvalidField { .. } | ApiError::MalformedJson(_) => {
            Status::invalid_argument(err.to_string())
        }
        ApiError::NotFound { .. } | ApiError::UnknownChannel(_) => {
            Status::not_found(err.to_string())
        }
        ApiError::Conflict(_) | ApiError::ReusedMessageId(_) => {
            Status::failed_precondition(err.to_string())
        }
        ApiError::Unauthorized | ApiError::BadSignature(_) => {
            Status::unauthenticated(err.to_string())
        }
        _ => Status::internal(err.to_string()),
    }
}

fn view(c: &kefu_store::entities::channel::Model) -> Channel {
    Channel {
        tenant_id: c.tenant_id.clone(),
        channel_id: c.id.clone(),
        channel_type: c.channel_type.clone(),
        webhook_url: c.webhook_url.clone(),
        enabled: c.enabled,
    }
}

#[tonic::async_trait]
impl Gateway for GatewayGrpc {
    async fn upsert_tenant(&self, req: Request<Tenant>) -> Result<Response<Tenant>, Status> {
        let t = req.into_inner();
        admin::validate_tenant(&t.tenant_id, &t.display_name).map_err(to_status)?;
        let saved =
            kefu_store::gateway::upsert_tenant(&self.state.db, &t.tenant_id, &t.display_name)
                .await
                .map_err(|e| to_status(e.into()))?;
        Ok(Response::new(Tenant {
            tenant_id: saved.id,
            display_name: saved.display_name,
        }))
    }

    async fn upsert_channel(
        &self,
        req: Request<UpsertChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        let req = req.into_inner();
        let c = req
            .channel
            .ok_or_else(|| Status::invalid_argument("channel: is required"))?;
        let spec = ChannelSpec {
            id: c.channel_id,
            tenant_id: c.tenant_id,
            channel_type: c.channel_type,
            secret: (!req.secret.is_empty()).then_some(req.secret),
            webhook_url: c.webhook_url,
            enabled: c.enabled,
        };
        let saved = admin::upsert_channel(&self.state, &spec)
            .await
            .map_err(to_status)?;
        Ok(Response::new(view(&saved)))
    }

    async fn get_channel(
        &self,
        req: Request<GetChannelRequest>,
    ) -> Result<Response<Channel>, Status> {
        let req = req.into_inner();
        let found = kefu_store::gateway::get_channel(&self.state.db, &req.channel_id)
            .await
            .map_err(|e| to_status(e.into()))?;
        match found {
            // Another tenant's channel is indistinguishable from a missing one.
            Some(c) if c.tenant_id == req.tenant_id => Ok(Response::new(view(&c))),
            _ => Err(Status::not_found(format!(
                "channel {} not found",
                req.channel_id
            ))),
        }
    }
}
