//! The gateway's tenant configuration documents: one validated spec (JSON) per
//! `(tenant, kind, name)`. Every change bumps the document's version and writes a
//! `tenant.config_changed` event to the outbox in the same transaction, so services that hold
//! the configuration reload it without a restart. Re-applying an identical spec changes nothing
//! and announces nothing.

use crate::store::entities::{tenant, tenant_config};
use chrono::Utc;
use kefu_bus::Envelope;
use kefu_store::{Scoped, StoreError};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait, QueryOrder,
    TransactionTrait,
};

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// The event announcing version `version` of a document (`deleted` on removal); built by the
/// caller, which owns the payload format.
pub type EventFn<'a> = &'a (dyn Fn(i64, bool) -> Envelope + Send + Sync);

/// Creates or replaces a document. The tenant must exist.
pub async fn put(
    db: &DatabaseConnection,
    tenant_id: &str,
    kind: &str,
    name: &str,
    spec: &serde_json::Value,
    event: EventFn<'_>,
) -> Result<(tenant_config::Model, Change, Option<Envelope>), StoreError> {
    let spec_text = spec.to_string();
    let txn = db.begin().await?;
    if tenant::Entity::find_by_id(tenant_id.to_owned())
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(StoreError::Conflict(format!(
            "tenant {tenant_id} does not exist"
        )));
    }
    let key = (tenant_id.to_owned(), kind.to_owned(), name.to_owned());
    let existing = tenant_config::Entity::find_by_id(key).one(&txn).await?;
    let now = Utc::now();
    let (model, change) = match existing {
        Some(current) if stored_equals(&current.spec, spec) => {
            txn.commit().await?;
            return Ok((current, Change::Unchanged, None));
        }
        Some(current) => {
            let version = current.version + 1;
            let mut row: tenant_config::ActiveModel = current.into();
            row.spec = Set(spec_text);
            row.version = Set(version);
            row.updated_at = Set(now);
            (row.update(&txn).await?, Change::Updated)
        }
        None => {
            let row = tenant_config::ActiveModel {
                tenant_id: Set(tenant_id.to_owned()),
                kind: Set(kind.to_owned()),
                name: Set(name.to_owned()),
                spec: Set(spec_text),
                version: Set(1),
                updated_at: Set(now),
            };
            (row.insert(&txn).await?, Change::Created)
        }
    };
    let envelope = event(model.version, false);
    kefu_worker::outbox::enqueue(&txn, &envelope).await?;
    txn.commit().await?;
    Ok((model, change, Some(envelope)))
}

fn stored_equals(stored: &str, spec: &serde_json::Value) -> bool {
    serde_json::from_str::<serde_json::Value>(stored).is_ok_and(|v| &v == spec)
}

pub async fn get(
    db: &DatabaseConnection,
    tenant_id: &str,
    kind: &str,
    name: &str,
) -> Result<Option<tenant_config::Model>, StoreError> {
    let key = (tenant_id.to_owned(), kind.to_owned(), name.to_owned());
    Ok(tenant_config::Entity::find_by_id(key).one(db).await?)
}

/// A tenant's documents, by kind then name.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: &str,
) -> Result<Vec<tenant_config::Model>, StoreError> {
    Ok(tenant_config::Entity::of_tenant(tenant_id)
        .order_by_asc(tenant_config::Column::Kind)
        .order_by_asc(tenant_config::Column::Name)
        .all(db)
        .await?)
}

/// Removes a document; `None` when there was none (nothing is announced then).
pub async fn delete(
    db: &DatabaseConnection,
    tenant_id: &str,
    kind: &str,
    name: &str,
    event: EventFn<'_>,
) -> Result<Option<Envelope>, StoreError> {
    let txn = db.begin().await?;
    let key = (tenant_id.to_owned(), kind.to_owned(), name.to_owned());
    let Some(current) = tenant_config::Entity::find_by_id(key.clone())
        .one(&txn)
        .await?
    else {
        txn.commit().await?;
        return Ok(None);
    };
    tenant_config::Entity::delete_by_id(key).exec(&txn).await?;
    let envelope = event(current.version + 1, true);
    kefu_worker::outbox::enqueue(&txn, &envelope).await?;
    txn.commit().await?;
    Ok(Some(envelope))
}
