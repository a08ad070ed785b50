//! `kefu.gateway.v1.Gateway`: channel configuration for other services and the operator.

use crate::AppState;
use crate::admin;
use crate::error::ApiError;
use crate::store::ChannelSpec;
use kefu_proto::gateway::gateway_server::Gateway;
use kefu_proto::gateway::{Channel, GetChannelRequest, Tenant, UpsertChannelRequest};
use tonic::{Request, Response, Status};

pub struct GatewayGrpc {
    pub state: AppState,
}

/// The gRPC API changes configuration (channel secrets, webhook URLs): it takes the same
/// bearer admin token as the REST admin API, in the `authorization` metadata.
#[derive(Clone)]
pub struct AdminAuth {
    pub token: std::sync::Arc<str>,
}

impl tonic::service::Interceptor for AdminAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let given = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if admin::bearer_matches(&self.token, given) {
            Ok(req)
        } else {
            Err(Status::unauthenticated(
                "authorization: Bearer <admin token> required",
            ))
        }
    }
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

fn view(c: &crate::store::entities::channel::Model) -> Channel {
    Channel {
        tenant_id: c.tenant_id.clone(),
        channel_id: c.id.clone(),
        channel_type: c.channel_type.clone(),
        webhook_url: c.webhook_url.clone(),
        enabled: c.enabled,
        settings_json: serde_json::to_string(&c.settings.0).unwrap_or_else(|_| "{}".into()),
        credential_names: c.credentials.0.keys().cloned().collect(),
    }
}

#[tonic::async_trait]
impl Gateway for GatewayGrpc {
    async fn upsert_tenant(&self, req: Request<Tenant>) -> Result<Response<Tenant>, Status> {
        let t = req.into_inner();
        admin::validate_tenant(&t.tenant_id, &t.display_name).map_err(to_status)?;
        let saved = crate::store::upsert_tenant(&self.state.db, &t.tenant_id, &t.display_name)
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
            settings: if c.settings_json.trim().is_empty() {
                Default::default()
            } else {
                crate::strict_json::typed(c.settings_json.as_bytes())
                    .map_err(|e| Status::invalid_argument(format!("settings_json: {e}")))?
            },
            credentials: req.credentials.into_iter().collect(),
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
        let found = crate::store::get_channel(&self.state.db, &req.channel_id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    fn call(auth: &mut AdminAuth, header: Option<&str>) -> Result<(), tonic::Code> {
        let mut req = Request::new(());
        if let Some(h) = header {
            req.metadata_mut()
                .insert("authorization", h.parse().unwrap());
        }
        auth.call(req).map(|_| ()).map_err(|s| s.code())
    }

    #[test]
    fn admin_token_is_required() {
        let mut auth = AdminAuth {
            token: "s3cret-admin".into(),
        };
        assert_eq!(call(&mut auth, Some("Bearer s3cret-admin")), Ok(()));
        assert_eq!(
            call(&mut auth, Some("Bearer wrong")),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(call(&mut auth, None), Err(tonic::Code::Unauthenticated));
        let mut disabled = AdminAuth { token: "".into() };
        assert_eq!(
            call(&mut disabled, Some("Bearer ")),
            Err(tonic::Code::Unauthenticated)
        );
    }
}
