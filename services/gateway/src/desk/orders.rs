//! `POST /v1/tenants/{tenant_id}/orders`: the tenant's order system (its connector, holding the
//! admin token) reports an order. The gateway finds Kefu's customer by the identities the order
//! names (through the session), and announces `order.placed` through its outbox; analytics
//! attributes it to the agent (or the bot) who served the customer (docs/metrics.md).

use super::auth::{Actor, Role};
use super::{DeskErrors, JsonBody, TenantPath};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kefu_proto::session::FindCustomerRequest;
use prost::Message as _;
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who placed the order, as the order system knows them (at least one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderCustomer {
    pub phone: Option<String>,
    pub member_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderReport {
    /// The order system's id (1–128 characters); a second report of it changes nothing.
    pub order_id: String,
    /// When it was placed (RFC 3339).
    pub placed_at: String,
    /// The order's amount and the part paid, in cents (0 ≤ paid ≤ amount ≤ 10^12).
    pub amount_cents: i64,
    #[serde(default)]
    pub paid_cents: i64,
    /// The merchant selling it (empty: the platform).
    #[serde(default)]
    pub merchant_id: String,
    pub customer: OrderCustomer,
}

#[derive(Serialize, ToSchema)]
pub struct OrderAccepted {
    pub order_id: String,
    /// Kefu's customer the order belongs to; absent when no customer holds its identities (the
    /// order is then nobody's).
    pub customer_id: Option<String>,
}

const MAX_AMOUNT: i64 = 1_000_000_000_000;

fn check(r: &OrderReport) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    let id = r.order_id.as_str();
    if id.is_empty() || id.chars().count() > 128 || id.chars().any(char::is_control) {
        return Err(ApiError::field(
            "order_id",
            "must be 1-128 characters without control characters",
        ));
    }
    let at = chrono::DateTime::parse_from_rfc3339(&r.placed_at)
        .map_err(|_| ApiError::field("placed_at", "must be an RFC 3339 instant"))?
        .with_timezone(&chrono::Utc);
    if !(0..=MAX_AMOUNT).contains(&r.amount_cents) {
        return Err(ApiError::field("amount_cents", "must be 0-10^12"));
    }
    if !(0..=r.amount_cents).contains(&r.paid_cents) {
        return Err(ApiError::field("paid_cents", "must be 0 to amount_cents"));
    }
    if !r.merchant_id.is_empty() && !kefu_crd::common::is_id(&r.merchant_id) {
        return Err(ApiError::field(
            "merchant_id",
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ));
    }
    let c = &r.customer;
    let given = [
        ("customer.phone", &c.phone),
        ("customer.member_id", &c.member_id),
    ];
    for (field, v) in given {
        if let Some(v) = v
            && (v.is_empty() || v.chars().count() > 128)
        {
            return Err(ApiError::field(field, "must be 1-128 characters"));
        }
    }
    if c.phone.is_none() && c.member_id.is_none() {
        return Err(ApiError::field(
            "customer",
            "must name the phone or the member_id",
        ));
    }
    Ok(at)
}

/// Reports an order (admins: the order system's connector uses the admin token). 202 once
/// `order.placed` is stored in the outbox.
#[utoipa::path(post, path = "/v1/tenants/{tenant_id}/orders", tag = "analytics",
    params(TenantPath), request_body = OrderReport,
    responses((status = 202, body = OrderAccepted), DeskErrors), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody<OrderReport>,
) -> Result<(StatusCode, Json<OrderAccepted>), ApiError> {
    actor.require(Role::Admin)?;
    let r = body.parse()?;
    let placed_at = check(&r)?;
    let mut customer_id = None;
    for (kind, value) in [
        ("phone", &r.customer.phone),
        ("member_id", &r.customer.member_id),
    ] {
        let Some(value) = value else { continue };
        let found = state
            .session
            .clone()
            .find_customer(FindCustomerRequest {
                tenant_id: actor.tenant_id.clone(),
                identity_kind: kind.to_owned(),
                identity_value: value.clone(),
                ..FindCustomerRequest::default()
            })
            .await;
        match found {
            Ok(c) => {
                customer_id = Some(c.into_inner().customer_id);
                break;
            }
            Err(s) if s.code() == tonic::Code::NotFound => {}
            Err(s) => return Err(ApiError::from_session(s, "customer", value)),
        }
    }
    let event = kefu_proto::events::OrderPlaced {
        order_id: r.order_id.clone(),
        customer_id: customer_id.clone().unwrap_or_default(),
        merchant_id: r.merchant_id.clone(),
        placed_at: Some(kefu_proto::time::to_timestamp(placed_at)),
        amount_cents: r.amount_cents,
        paid_cents: r.paid_cents,
    };
    let envelope = kefu_bus::Envelope::new(
        actor.tenant_id.clone(),
        kefu_proto::event_types::ORDER_PLACED,
        event.encode_to_vec(),
    );
    let txn = state
        .db
        .begin()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    kefu_worker::outbox::enqueue(&txn, &envelope)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    txn.commit()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.outbox.dispatch([envelope]);
    Ok((
        StatusCode::ACCEPTED,
        Json(OrderAccepted {
            order_id: r.order_id,
            customer_id,
        }),
    ))
}
