//! The gateway's tables and repository: tenants, channels, idempotent acceptance of inbound
//! messages, webhook delivery bookkeeping ([`tenant_config`]: the tenants' configuration
//! documents). Only the gateway reads or writes them; [`migration`] creates them in the
//! gateway's own schema.

pub mod entities;
pub mod migration;
pub mod tenant_config;

use crate::store::entities::{channel, delivery, inbound_message, tenant};
use chrono::{DateTime, Utc};
use kefu_bus::{Envelope, TraceContext};
use kefu_store::StoreError;
use kefu_worker::outbox::{self, encode_trace_context};
use sea_orm::sea_query::{LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    TryInsertResult,
};
use uuid::Uuid;

pub use kefu_worker::outbox::decode_trace_context;

pub async fn upsert_tenant(
    db: &DatabaseConnection,
    id: &str,
    display_name: &str,
) -> Result<tenant::Model, StoreError> {
    let now = Utc::now();
    let row = tenant::ActiveModel {
        id: Set(id.to_owned()),
        display_name: Set(display_name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    tenant::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tenant::Column::Id)
                .update_columns([tenant::Column::DisplayName, tenant::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    tenant::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("tenant {id} vanished")))
}

pub async fn get_tenant(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Option<tenant::Model>, StoreError> {
    Ok(tenant::Entity::find_by_id(id.to_owned()).one(db).await?)
}

/// What an admin (or `kefu apply`) says a channel should be.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    pub id: String,
    pub tenant_id: String,
    pub channel_type: String,
    /// Required on creation; `None` keeps the stored secret on update.
    pub secret: Option<String>,
    pub webhook_url: String,
    pub enabled: bool,
    pub settings: kefu_crd::channel::ChannelSettings,
    /// Further secrets to set by name; one not named keeps its stored value, an empty value
    /// removes it.
    pub credentials: std::collections::BTreeMap<String, String>,
}

impl ChannelSpec {
    /// The further secrets a channel will have once this spec is stored over `current`.
    pub fn merged_credentials(
        &self,
        current: Option<&channel::Model>,
    ) -> std::collections::BTreeMap<String, String> {
        let mut merged = current.map(|c| c.credentials.0.clone()).unwrap_or_default();
        for (k, v) in &self.credentials {
            if v.is_empty() {
                merged.remove(k);
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        merged
    }
}

/// Creates or updates a channel. A channel id belongs to one tenant forever: another tenant
/// naming it gets a conflict, not a takeover.
pub async fn upsert_channel(
    db: &DatabaseConnection,
    spec: &ChannelSpec,
) -> Result<channel::Model, StoreError> {
    let txn = db.begin().await?;
    if tenant::Entity::find_by_id(spec.tenant_id.clone())
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(StoreError::Conflict(format!(
            "tenant {} does not exist",
            spec.tenant_id
        )));
    }
    let now = Utc::now();
    let existing = channel::Entity::find_by_id(spec.id.clone())
        .one(&txn)
        .await?;
    let model = match existing {
        Some(current) if current.tenant_id != spec.tenant_id => {
            return Err(StoreError::Conflict(format!(
                "channel id {} is taken",
                spec.id
            )));
        }
        Some(current) => {
            let credentials = spec.merged_credentials(Some(&current));
            let mut row: channel::ActiveModel = current.into();
            row.settings = Set(spec.settings.clone().into());
            row.credentials = Set(channel::Credentials(credentials));
            row.channel_type = Set(spec.channel_type.clone());
            if let Some(secret) = &spec.secret {
                row.secret = Set(secret.clone());
            }
            row.webhook_url = Set(spec.webhook_url.clone());
            row.enabled = Set(spec.enabled);
            row.updated_at = Set(now);
            row.update(&txn).await?
        }
        None => {
            let Some(secret) = &spec.secret else {
                return Err(StoreError::Conflict(
                    "secret is required for a new channel".into(),
                ));
            };
            channel::ActiveModel {
                id: Set(spec.id.clone()),
                tenant_id: Set(spec.tenant_id.clone()),
                channel_type: Set(spec.channel_type.clone()),
                secret: Set(secret.clone()),
                webhook_url: Set(spec.webhook_url.clone()),
                enabled: Set(spec.enabled),
                settings: Set(spec.settings.clone().into()),
                credentials: Set(channel::Credentials(spec.merged_credentials(None))),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    txn.commit().await?;
    Ok(model)
}

pub async fn get_channel(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<channel::Model>, StoreError> {
    Ok(channel::Entity::find_by_id(id.to_owned()).one(db).await?)
}

pub async fn list_channels(db: &DatabaseConnection) -> Result<Vec<channel::Model>, StoreError> {
    Ok(channel::Entity::find()
        .order_by_asc(channel::Column::Id)
        .all(db)
        .await?)
}

/// The durable record of one accepted inbound message: its row.
pub use entities::inbound_message::Model as InboundRecord;

/// The row to insert (every column set).
fn inbound_row(record: &InboundRecord) -> inbound_message::ActiveModel {
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    record.clone().into_active_model().reset_all()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// Stored, and its event is in the outbox.
    New { message_id: Uuid },
    /// The same external message id was accepted before; nothing was written.
    Duplicate { message_id: Uuid, same_body: bool },
}

/// Stores the inbound message and its event in one transaction, unless the channel already
/// accepted this external message id.
pub async fn accept_inbound(
    db: &DatabaseConnection,
    record: &InboundRecord,
    event: &Envelope,
) -> Result<Acceptance, StoreError> {
    let txn = db.begin().await?;
    let inserted = inbound_message::Entity::insert(inbound_row(record))
        .on_conflict(
            OnConflict::columns([
                inbound_message::Column::ChannelId,
                inbound_message::Column::ExternalMessageId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .try_insert()
        .exec_without_returning(&txn)
        .await?;
    if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        outbox::enqueue(&txn, event).await?;
        txn.commit().await?;
        return Ok(Acceptance::New {
            message_id: record.id,
        });
    }
    let existing = inbound_message::Entity::find()
        .filter(inbound_message::Column::ChannelId.eq(record.channel_id.as_str()))
        .filter(inbound_message::Column::ExternalMessageId.eq(record.external_message_id.as_str()))
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Conflict("inbound message vanished".into()))?;
    txn.commit().await?;
    Ok(Acceptance::Duplicate {
        message_id: existing.id,
        same_body: existing.body_sha256 == record.body_sha256,
    })
}

/// [`accept_inbound`] for many messages in one transaction (three statements whatever the
/// count): results in input order. Two items with the same channel and external id in one
/// batch are one message: the second is a duplicate of the first. A concurrent writer of the
/// same id (another replica) makes the whole call fail; callers then fall back to
/// [`accept_inbound`] one by one.
pub async fn accept_inbound_many(
    db: &DatabaseConnection,
    items: &[(InboundRecord, Envelope)],
) -> Result<Vec<Acceptance>, StoreError> {
    use std::collections::{BTreeSet, HashMap};
    let txn = db.begin().await?;
    let channels: BTreeSet<&str> = items.iter().map(|(r, _)| r.channel_id.as_str()).collect();
    let externals: BTreeSet<&str> = items
        .iter()
        .map(|(r, _)| r.external_message_id.as_str())
        .collect();
    let mut known: HashMap<(String, String), (Uuid, String)> = inbound_message::Entity::find()
        .filter(inbound_message::Column::ChannelId.is_in(channels))
        .filter(inbound_message::Column::ExternalMessageId.is_in(externals))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| ((m.channel_id, m.external_message_id), (m.id, m.body_sha256)))
        .collect();
    let mut results = Vec::with_capacity(items.len());
    let mut rows = Vec::new();
    let mut events = Vec::new();
    for (record, event) in items {
        let key = (
            record.channel_id.clone(),
            record.external_message_id.clone(),
        );
        if let Some((id, sha)) = known.get(&key) {
            results.push(Acceptance::Duplicate {
                message_id: *id,
                same_body: *sha == record.body_sha256,
            });
            continue;
        }
        known.insert(key, (record.id, record.body_sha256.clone()));
        rows.push(inbound_row(record));
        events.push(event.clone());
        results.push(Acceptance::New {
            message_id: record.id,
        });
    }
    if !rows.is_empty() {
        inbound_message::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        outbox::enqueue_many(&txn, &events).await?;
    }
    txn.commit().await?;
    Ok(results)
}

pub async fn count_inbound(db: &DatabaseConnection, channel_id: &str) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(inbound_message::Entity::find()
        .filter(inbound_message::Column::ChannelId.eq(channel_id))
        .count(db)
        .await?)
}

pub use entities::delivery::DeliveryStatus;

/// A delivery that must be retried later.
#[derive(Clone, Debug)]
pub struct RetryDelivery {
    pub id: Uuid,
    pub tenant_id: String,
    pub channel_id: String,
    pub payload: Vec<u8>,
    pub trace_context: TraceContext,
    pub next_attempt_at: DateTime<Utc>,
    pub error: String,
}

/// Records a failed first attempt (attempts = 1) to be retried at `next_attempt_at`; a second
/// call for the same id changes nothing.
pub async fn schedule_delivery_retry<C: ConnectionTrait>(
    db: &C,
    retry: &RetryDelivery,
) -> Result<(), StoreError> {
    insert_failed_delivery(db, retry, DeliveryStatus::Pending).await
}

/// Records a first attempt that failed for good (no retries follow); a second call for the
/// same id changes nothing.
pub async fn record_dead_delivery<C: ConnectionTrait>(
    db: &C,
    failed: &RetryDelivery,
) -> Result<(), StoreError> {
    insert_failed_delivery(db, failed, DeliveryStatus::Dead).await
}

async fn insert_failed_delivery<C: ConnectionTrait>(
    db: &C,
    retry: &RetryDelivery,
    status: DeliveryStatus,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let row = delivery::ActiveModel {
        id: Set(retry.id),
        tenant_id: Set(retry.tenant_id.clone()),
        channel_id: Set(retry.channel_id.clone()),
        status: Set(status.to_owned()),
        attempts: Set(1),
        next_attempt_at: Set(retry.next_attempt_at),
        last_error: Set(Some(retry.error.clone())),
        payload: Set(retry.payload.clone()),
        trace_context: Set(encode_trace_context(&retry.trace_context)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    delivery::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Claims up to `limit` pending deliveries that are due, inside the caller's transaction (rows
/// stay locked for it on PostgreSQL, skipped by other replicas).
pub async fn claim_due_deliveries<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<delivery::Model>, StoreError> {
    let mut q = delivery::Entity::find()
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    Ok(q.all(txn).await?)
}

/// Stores the outcome of a retry attempt, if `current` (as claimed, with its lease in
/// `next_attempt_at`) still holds the lease; returns whether it did. A row whose lease ran out
/// and was claimed again elsewhere is left to that claimant.
pub async fn update_delivery<C: ConnectionTrait>(
    db: &C,
    current: delivery::Model,
    status: DeliveryStatus,
    next_attempt_at: DateTime<Utc>,
    error: Option<String>,
) -> Result<bool, StoreError> {
    use sea_orm::sea_query::Expr;
    let updated = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(status))
        .col_expr(
            delivery::Column::Attempts,
            Expr::value(current.attempts + 1),
        )
        .col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(next_attempt_at),
        )
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(delivery::Column::Id.eq(current.id))
        .filter(delivery::Column::NextAttemptAt.eq(current.next_attempt_at))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

pub async fn get_delivery(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<delivery::Model>, StoreError> {
    Ok(delivery::Entity::find_by_id(id).one(db).await?)
}
