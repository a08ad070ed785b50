//! Canned responses. The `Desk` trait methods in [`super::grpc`] delegate here.

use super::grpc::*;
use crate::grpc::{internal, parse_id};
use crate::store::desk::{self as store};
use crate::store::entities::canned_response;
use chrono::Utc;
use kefu_proto::desk::{MAX_NAME_CHARS as MAX_NAME, MAX_TEXT_CHARS as MAX_TEXT, Role, invalid};
use kefu_proto::session::*;
use kefu_store::{Scoped, StoreError};
use tonic::Status;
use uuid::Uuid;

impl DeskGrpc {
    pub(super) async fn serve_put_canned_response(
        &self,
        req: PutCannedResponseRequest,
    ) -> Result<CannedResponse, Status> {
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
            if let Some(existing) = canned_response::Entity::get(&self.state.db, &who.tenant, id)
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
        let saved = canned_response::Entity::get(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| Status::not_found("canned response not found"))?;
        Ok(canned_of(saved))
    }

    pub(super) async fn serve_list_canned_responses(
        &self,
        req: ListCannedResponsesRequest,
    ) -> Result<ListCannedResponsesResponse, Status> {
        let who = self.who(req.actor).await?;
        check_text("query", &req.query, 200)?;
        let rows = store::list_canned(&self.state.db, &who.tenant, who.scope())
            .await
            .map_err(internal)?;
        let q = fold(&req.query);
        Ok(ListCannedResponsesResponse {
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
        })
    }

    pub(super) async fn serve_delete_canned_response(
        &self,
        req: CannedResponseRef,
    ) -> Result<CannedResponse, Status> {
        let who = self.who(req.actor).await?;
        who.require(Role::Supervisor)?;
        let id = parse_id("canned_id", &req.canned_id)?;
        let c = canned_response::Entity::get(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?
            .filter(|c| who.covers(&c.merchant_id))
            .ok_or_else(|| Status::not_found("canned response not found"))?;
        store::delete_canned(&self.state.db, &who.tenant, id)
            .await
            .map_err(internal)?;
        Ok(canned_of(c))
    }
}

/// Case-folded, for searching canned responses.
fn fold(s: &str) -> String {
    s.to_lowercase()
}
