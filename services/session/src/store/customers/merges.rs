//! Merging two customers into one (by a shared identity or by hand), and undoing it.

use super::*;
use crate::store::entities::work_item;
use kefu_store::Scoped;

pub(super) async fn was_unmerged<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    a: Uuid,
    b: Uuid,
) -> Result<bool, StoreError> {
    let found = customer_merge::Entity::of_tenant(tenant_id)
        .filter(customer_merge::Column::UnmergedAt.is_not_null())
        .filter(
            sea_orm::Condition::any()
                .add(
                    sea_orm::Condition::all()
                        .add(customer_merge::Column::SurvivorId.eq(a))
                        .add(customer_merge::Column::AbsorbedId.eq(b)),
                )
                .add(
                    sea_orm::Condition::all()
                        .add(customer_merge::Column::SurvivorId.eq(b))
                        .add(customer_merge::Column::AbsorbedId.eq(a)),
                ),
        )
        .one(db)
        .await?;
    Ok(found.is_some())
}

pub(super) fn ids_json(ids: &[Uuid]) -> String {
    serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub(super) fn ids_from_json(s: &str) -> Vec<Uuid> {
    serde_json::from_str::<Vec<String>>(s)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect()
}

/// Merges `absorbed` into `survivor` (both the tenant's, both unmerged, not the same): their
/// identities and conversations move, empty profile fields are filled from the absorbed one.
/// Where both have an open conversation on the same channel, the absorbed one is closed first
/// (a customer has one open conversation per channel).
/// A conversation of the absorbed customer that a merge closed: the closed row, and its routing
/// item before and after the close (none when the bot alone served it). The caller publishes
/// the closure (`crate::domain::closed_by_merge`) in the merge's transaction.
#[derive(Clone, Debug)]
pub struct MergeClosed {
    pub conversation: conversation::Model,
    pub routing: Option<(work_item::Model, work_item::Model)>,
}

/// A merge's record and the conversations it closed.
#[derive(Clone, Debug)]
pub struct Merged {
    pub record: customer_merge::Model,
    pub closed: Vec<MergeClosed>,
}

/// Ends the routing of the absorbed customer's conversations a merge closed (a waiting or
/// served conversation must not be offered or answered once closed).
async fn close_merged<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    conversations: &[conversation::Model],
    closed: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<MergeClosed>, StoreError> {
    use crate::store::desk::{self, Change, WorkState};
    let items = desk::work_items(txn, tenant_id, closed).await?;
    let mut out = Vec::new();
    for c in conversations.iter().filter(|c| closed.contains(&c.id)) {
        let conversation = conversation::Model {
            status: ConversationStatus::Closed,
            closed_at: Some(now),
            ..c.clone()
        };
        let mut routing = None;
        if let Some(w) = items.get(&c.id).filter(|w| w.state != WorkState::Closed) {
            let change = Change {
                state: Some(WorkState::Closed),
                closed_at: Some(now),
                clear_offer: true,
                ..Change::default()
            };
            let open = WorkState::NOT_CLOSED;
            routing = desk::change(txn, tenant_id, c.id, w.version, open, change)
                .await?
                .map(|n| (w.clone(), n));
        }
        out.push(MergeClosed {
            conversation,
            routing,
        });
    }
    Ok(out)
}

pub async fn merge<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    survivor_id: Uuid,
    absorbed_id: Uuid,
    cause: &str,
) -> Result<Merged, StoreError> {
    if survivor_id == absorbed_id {
        return Err(StoreError::Invalid(
            "absorbed_id: must differ from survivor_id".into(),
        ));
    }
    let find = |id: Uuid| customer::Entity::in_tenant(tenant_id, id).one(txn);
    let survivor = find(survivor_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("customer {survivor_id}")))?;
    let absorbed = find(absorbed_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("customer {absorbed_id}")))?;
    if survivor.merged_into.is_some() {
        return Err(StoreError::Conflict(format!(
            "customer {survivor_id} is merged into another customer"
        )));
    }
    if absorbed.merged_into.is_some() {
        return Err(StoreError::Conflict(format!(
            "customer {absorbed_id} is already merged"
        )));
    }
    let now = Utc::now();
    let identity_ids: Vec<Uuid> = customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::CustomerId.eq(absorbed_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let conversations = conversation::Entity::of_tenant(tenant_id)
        .filter(conversation::Column::CustomerId.is_in([absorbed_id, survivor_id]))
        .all(txn)
        .await?;
    let survivor_open: HashSet<&str> = conversations
        .iter()
        .filter(|c| c.customer_id == survivor_id && c.status == ConversationStatus::Open)
        .map(|c| c.channel_id.as_str())
        .collect();
    let mut moved = Vec::new();
    let mut to_close = Vec::new();
    let mut closed = Vec::new();
    for c in conversations
        .iter()
        .filter(|c| c.customer_id == absorbed_id)
    {
        if c.status == ConversationStatus::Open && survivor_open.contains(c.channel_id.as_str()) {
            to_close.push(c.id);
        }
        moved.push(c.id);
    }
    if !to_close.is_empty() {
        conversation::Entity::update_many()
            .col_expr(
                conversation::Column::Status,
                Expr::value(ConversationStatus::Closed),
            )
            .col_expr(conversation::Column::ClosedAt, Expr::value(now))
            .filter(conversation::Column::TenantId.eq(tenant_id))
            .filter(conversation::Column::Id.is_in(to_close.iter().copied()))
            .exec(txn)
            .await?;
        closed = close_merged(txn, tenant_id, &conversations, &to_close, now).await?;
    }
    move_rows(txn, tenant_id, &identity_ids, &moved, survivor_id).await?;
    // Empty profile fields of the survivor take the absorbed customer's values.
    let fill = ProfileUpdate {
        display_name: Some(absorbed.display_name.clone()),
        tier: Some(absorbed.tier.clone()),
        region: Some(absorbed.region.clone()),
        language: Some(absorbed.language.clone()),
        tags: None,
    };
    let mut tags = tags_of(&survivor);
    for t in tags_of(&absorbed) {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let mut am: customer::ActiveModel = absorbed.into();
    am.merged_into = Set(Some(survivor_id));
    am.update(txn).await?;
    fill_profile(txn, tenant_id, survivor_id, &fill).await?;
    update_profile(
        txn,
        tenant_id,
        survivor_id,
        &ProfileUpdate {
            tags: Some(tags),
            ..ProfileUpdate::default()
        },
    )
    .await?;
    let record = customer_merge::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant_id.to_owned(),
        survivor_id,
        absorbed_id,
        cause: cause.to_owned(),
        identity_ids: ids_json(&identity_ids),
        conversation_ids: ids_json(&moved),
        merged_at: now,
        unmerged_at: None,
    };
    customer_merge::Entity::insert(sea_orm::IntoActiveModel::into_active_model(record.clone()))
        .exec_without_returning(txn)
        .await?;
    Ok(Merged { record, closed })
}

pub(super) async fn move_rows<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    identity_ids: &[Uuid],
    conversation_ids: &[Uuid],
    to: Uuid,
) -> Result<(), StoreError> {
    if !identity_ids.is_empty() {
        customer_identity::Entity::update_many()
            .col_expr(customer_identity::Column::CustomerId, Expr::value(to))
            .filter(customer_identity::Column::TenantId.eq(tenant_id))
            .filter(customer_identity::Column::Id.is_in(identity_ids.iter().copied()))
            .exec(txn)
            .await?;
    }
    if !conversation_ids.is_empty() {
        conversation::Entity::update_many()
            .col_expr(conversation::Column::CustomerId, Expr::value(to))
            .filter(conversation::Column::TenantId.eq(tenant_id))
            .filter(conversation::Column::Id.is_in(conversation_ids.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Undoes a merge: the identities and conversations that moved go back to the absorbed
/// customer, which stands on its own again. Open conversations that would collide with one the
/// survivor has opened since on the same channel are closed rather than duplicated.
pub async fn unmerge<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    merge_id: Uuid,
) -> Result<customer_merge::Model, StoreError> {
    let m = customer_merge::Entity::in_tenant(tenant_id, merge_id)
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("merge {merge_id}")))?;
    if m.unmerged_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "merge {merge_id} is already undone"
        )));
    }
    let absorbed = customer::Entity::in_tenant(tenant_id, m.absorbed_id)
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("customer {}", m.absorbed_id)))?;
    let identity_ids = ids_from_json(&m.identity_ids);
    let conversation_ids = ids_from_json(&m.conversation_ids);
    // Only rows still with the survivor go back (a later merge may have moved them on).
    let identity_ids: Vec<Uuid> = customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::CustomerId.eq(m.survivor_id))
        .filter(customer_identity::Column::Id.is_in(identity_ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    let conversation_ids: Vec<Uuid> = conversation::Entity::of_tenant(tenant_id)
        .filter(conversation::Column::CustomerId.eq(m.survivor_id))
        .filter(conversation::Column::Id.is_in(conversation_ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    move_rows(
        txn,
        tenant_id,
        &identity_ids,
        &conversation_ids,
        m.absorbed_id,
    )
    .await?;
    let mut am: customer::ActiveModel = absorbed.into();
    am.merged_into = Set(None);
    am.update(txn).await?;
    let now = Utc::now();
    let mut done: customer_merge::ActiveModel = m.into();
    done.unmerged_at = Set(Some(now));
    Ok(done.update(txn).await?)
}

/// How many identities and conversations a merge moved.
pub fn merge_counts(m: &customer_merge::Model) -> (usize, usize) {
    (
        ids_from_json(&m.identity_ids).len(),
        ids_from_json(&m.conversation_ids).len(),
    )
}
