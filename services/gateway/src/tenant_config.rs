//! Tenant configuration documents over REST: `PUT|GET|DELETE
//! /v1/admin/tenants/{tenant}/config/{kind}/{name}` and `GET /v1/admin/tenants/{tenant}/config`
//! (bearer admin token). The body is the `spec` of a kefu-crd resource — `tenant`, `queue`,
//! `routingpolicy` or `qapolicy` — checked with the same types and validation as the operator and
//! `kefu validate`, stored, and announced as `tenant.config_changed` through the outbox so
//! services reload it without a restart.

use crate::AppState;
use crate::admin::{authorize, check_id};
use crate::error::ApiError;
use crate::store::tenant_config::{self, Change};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kefu_crd::Validate;
use prost::Message;

pub const KINDS: &[&str] = kefu_crd::document::kind::ALL;

/// A stored document as the admin API answers it (the type `kefu apply` and the operator read).
pub use kefu_crd::document::ConfigView;

impl TryFrom<crate::store::entities::tenant_config::Model> for ConfigView {
    type Error = ApiError;

    fn try_from(m: crate::store::entities::tenant_config::Model) -> Result<Self, ApiError> {
        let spec = serde_json::from_str(&m.spec)
            .map_err(|e| ApiError::Internal(format!("stored spec is not JSON: {e}")))?;
        Ok(Self {
            tenant_id: m.tenant_id,
            kind: m.kind,
            name: m.name,
            spec,
            version: m.version,
        })
    }
}

fn typed<T: serde::de::DeserializeOwned + Validate>(body: &[u8]) -> Result<T, ApiError> {
    let spec: T = crate::strict_json::typed_at(body, "spec")?;
    if let Err(errors) = spec.validate() {
        let first = &errors[0];
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(ApiError::field(&first.path, all.join("; ")));
    }
    Ok(spec)
}

/// Checks `body` as the spec of `kind` and returns it as JSON.
pub fn validate_spec(
    tenant_id: &str,
    kind: &str,
    name: &str,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    check_id("tenant_id", tenant_id)?;
    check_id("name", name)?;
    let (value, spec_tenant) = match kind {
        kefu_crd::document::kind::TENANT => {
            let spec: kefu_crd::TenantSpec = typed(body)?;
            if name != tenant_id {
                return Err(ApiError::field(
                    "name",
                    "a tenant's config is named after the tenant",
                ));
            }
            (serde_json::to_value(spec), tenant_id.to_owned())
        }
        kefu_crd::document::kind::QUEUE => {
            let spec: kefu_crd::QueueSpec = typed(body)?;
            let t = spec.tenant.clone();
            (serde_json::to_value(spec), t)
        }
        kefu_crd::document::kind::ROUTING_POLICY => {
            let spec: kefu_crd::RoutingPolicySpec = typed(body)?;
            let t = spec.tenant.clone();
            (serde_json::to_value(spec), t)
        }
        kefu_crd::document::kind::QA_POLICY => {
            let spec: kefu_crd::QaPolicySpec = typed(body)?;
            let t = spec.tenant.clone();
            (serde_json::to_value(spec), t)
        }
        _ => {
            return Err(ApiError::field(
                "kind",
                format!("must be one of {}", KINDS.join(", ")),
            ));
        }
    };
    if spec_tenant != tenant_id {
        return Err(ApiError::field(
            "spec.tenant",
            format!("names tenant {spec_tenant}, not {tenant_id}"),
        ));
    }
    value.map_err(|e| ApiError::Internal(e.to_string()))
}

fn event(
    tenant_id: &str,
    kind: &str,
    name: &str,
    spec: Option<&serde_json::Value>,
) -> impl Fn(i64, bool) -> kefu_bus::Envelope {
    let (tenant_id, kind, name) = (tenant_id.to_owned(), kind.to_owned(), name.to_owned());
    let spec_json = spec.map(ToString::to_string).unwrap_or_default();
    move |version, deleted| {
        let payload = kefu_proto::events::TenantConfigChanged {
            kind: kind.clone(),
            name: name.clone(),
            version,
            deleted,
            spec_json: if deleted {
                String::new()
            } else {
                spec_json.clone()
            },
        };
        kefu_bus::Envelope::new(
            tenant_id.clone(),
            kefu_proto::event_types::TENANT_CONFIG_CHANGED,
            payload.encode_to_vec(),
        )
    }
}

/// Stores a config document (a spec as JSON) and announces it, as `PUT .../config/{kind}/{name}`
/// does; for callers in the same process (`kefu dev` applying the demo tenant).
pub async fn apply_document(
    state: &AppState,
    tenant_id: &str,
    kind: &str,
    name: &str,
    body: &[u8],
) -> Result<(), ApiError> {
    let spec = validate_spec(tenant_id, kind, name, body)?;
    let make = event(tenant_id, kind, name, Some(&spec));
    let (_, _, envelope) =
        tenant_config::put(&state.db, tenant_id, kind, name, &spec, &make).await?;
    state.outbox.dispatch(envelope);
    Ok(())
}

/// Deletes a config document and announces it (the in-process form of `DELETE
/// .../config/{kind}/{name}`); false when there was none.
pub async fn remove_document(
    state: &AppState,
    tenant_id: &str,
    kind: &str,
    name: &str,
) -> Result<bool, ApiError> {
    let make = event(tenant_id, kind, name, None);
    match tenant_config::delete(&state.db, tenant_id, kind, name, &make).await? {
        Some(envelope) => {
            state.outbox.dispatch([envelope]);
            Ok(true)
        }
        None => Ok(false),
    }
}

#[utoipa::path(put, path = "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}", tag = "admin",
    params(("tenant_id" = String, Path, description = "The tenant"), ("kind" = String, Path, description = "queue, routing-policy, …"), ("name" = String, Path, description = "The document's name")), request_body(content = Object, description = "The resource's spec"),
    responses((status = 201, description = "Created", body = Object), (status = 200, description = "Updated or unchanged", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn put_config(
    State(state): State<AppState>,
    Path((tenant_id, kind, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<(StatusCode, Json<ConfigView>), ApiError> {
    authorize(&state, &headers)?;
    let spec = validate_spec(&tenant_id, &kind, &name, &body)?;
    let make = event(&tenant_id, &kind, &name, Some(&spec));
    let (row, change, envelope) =
        tenant_config::put(&state.db, &tenant_id, &kind, &name, &spec, &make).await?;
    state.outbox.dispatch(envelope);
    let status = match change {
        Change::Created => StatusCode::CREATED,
        Change::Updated | Change::Unchanged => StatusCode::OK,
    };
    Ok((status, Json(row.try_into()?)))
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}", tag = "admin",
    params(("tenant_id" = String, Path, description = "The tenant"), ("kind" = String, Path, description = "queue, routing-policy, …"), ("name" = String, Path, description = "The document's name")),
    responses((status = 200, description = "The document", body = Object), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn get_config(
    State(state): State<AppState>,
    Path((tenant_id, kind, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<ConfigView>, ApiError> {
    authorize(&state, &headers)?;
    let row = tenant_config::get(&state.db, &tenant_id, &kind, &name)
        .await?
        .ok_or(ApiError::NotFound {
            what: "config",
            id: format!("{tenant_id}/{kind}/{name}"),
        })?;
    Ok(Json(row.try_into()?))
}

#[utoipa::path(get, path = "/v1/admin/tenants/{tenant_id}/config", tag = "admin",
    params(("tenant_id" = String, Path, description = "The tenant")),
    responses((status = 200, description = "Every document of the tenant", body = [Object]), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn list_config(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<ConfigView>>, ApiError> {
    authorize(&state, &headers)?;
    let rows = tenant_config::list(&state.db, &tenant_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(ConfigView::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(delete, path = "/v1/admin/tenants/{tenant_id}/config/{kind}/{name}", tag = "admin",
    params(("tenant_id" = String, Path, description = "The tenant"), ("kind" = String, Path, description = "queue, routing-policy, …"), ("name" = String, Path, description = "The document's name")),
    responses((status = 204, description = "Deleted"), crate::openapi::AdminErrors),
    security(("bearer" = [])))]
pub async fn delete_config(
    State(state): State<AppState>,
    Path((tenant_id, kind, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let make = event(&tenant_id, &kind, &name, None);
    match tenant_config::delete(&state.db, &tenant_id, &kind, &name, &make).await? {
        Some(envelope) => {
            state.outbox.dispatch([envelope]);
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound {
            what: "config",
            id: format!("{tenant_id}/{kind}/{name}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<serde_json::Value, ApiError>) -> String {
        match r {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn specs_are_checked_with_the_crd_types() {
        let queue = br#"{"tenant":"demo","sla":{"targetPercent":80,"withinSeconds":20},"timeoutSeconds":600}"#;
        assert!(validate_spec("demo", "queue", "vip", queue).is_ok());
        assert_eq!(
            field(validate_spec("other", "queue", "vip", queue)),
            "spec.tenant"
        );
        let bad = br#"{"tenant":"demo","sla":{"targetPercent":80,"withinSeconds":-1},"timeoutSeconds":600}"#;
        assert_eq!(
            field(validate_spec("demo", "queue", "vip", bad)),
            "spec.sla.withinSeconds"
        );
        let range = br#"{"tenant":"demo","sla":{"targetPercent":180,"withinSeconds":20},"timeoutSeconds":600}"#;
        assert_eq!(
            field(validate_spec("demo", "queue", "vip", range)),
            "spec.sla.targetPercent"
        );
        let policy = br#"{"tenant":"demo","strategy":"coin-toss"}"#;
        assert_eq!(
            field(validate_spec("demo", "routingpolicy", "p", policy)),
            "spec.strategy"
        );
        assert_eq!(field(validate_spec("demo", "agent", "p", policy)), "kind");
        let tenant = br#"{"displayName":"Demo","peakEvents":[{"name":"d11","start":"2026-11-11T04:00:00","end":"2026-11-11T00:00:00","trafficMultiplier":10}]}"#;
        assert_eq!(
            field(validate_spec("demo", "tenant", "demo", tenant)),
            "spec.peakEvents[0].end"
        );
        assert!(matches!(
            validate_spec("demo", "queue", "vip", b"{not json"),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
