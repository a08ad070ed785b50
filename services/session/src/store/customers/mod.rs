//! The unified customer: identities that recognise one person across channels, automatic merges
//! on strong identifiers (per-tenant rule), merges and unmerges by API with the history
//! following, profiles, tenant rules and the cross-channel history.
//!
//! A merge moves the absorbed customer's identities and conversations to the survivor and
//! remembers exactly which, so an unmerge moves those back. A pair that was unmerged by hand is
//! never merged again automatically.

use super::{ConversationStatus, IDENTITY_EXTERNAL, Mode};
use crate::store::entities::{
    conversation, customer, customer_identity, customer_merge, message, tenant_settings,
};
use chrono::{DateTime, Utc};
use kefu_store::{Scoped, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

mod merges;
pub use merges::*;

/// Identity kinds that merge customers automatically unless a tenant says otherwise.
pub const DEFAULT_MERGE_KINDS: &[&str] = &["phone", "member_id", "wechat_unionid"];
/// Consecutive bot misses before a person takes over, unless a tenant says otherwise.
pub const DEFAULT_HANDOFF_AFTER_MISSES: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    pub tenant_id: String,
    pub merge_identity_kinds: Vec<String>,
    pub handoff_after_misses: u32,
}

impl TenantSettings {
    pub fn defaults(tenant_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_owned(),
            merge_identity_kinds: DEFAULT_MERGE_KINDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            handoff_after_misses: DEFAULT_HANDOFF_AFTER_MISSES,
        }
    }
}

pub async fn tenant_settings<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
) -> Result<TenantSettings, StoreError> {
    Ok(
        match tenant_settings::Entity::find_by_id(tenant_id)
            .one(db)
            .await?
        {
            Some(m) => TenantSettings {
                tenant_id: m.tenant_id,
                merge_identity_kinds: m
                    .merge_identity_kinds
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                handoff_after_misses: m.handoff_after_misses.max(1) as u32,
            },
            None => TenantSettings::defaults(tenant_id),
        },
    )
}

/// Stores the tenant's identity and handoff rules set through the admin API (they keep the
/// config version they came from, if any).
pub async fn put_tenant_settings<C: ConnectionTrait>(
    db: &C,
    s: &TenantSettings,
) -> Result<(), StoreError> {
    write_settings(db, s, None).await?;
    Ok(())
}

/// Applies the rules of version `version` of the tenant's config document, unless the stored
/// rules already come from that version or a later one (events may arrive twice or out of
/// order). Returns whether they were applied.
pub async fn apply_config_settings<C: ConnectionTrait>(
    db: &C,
    s: &TenantSettings,
    version: i64,
) -> Result<bool, StoreError> {
    Ok(write_settings(db, s, Some(version)).await? > 0)
}

/// One upsert statement; with a config `version`, the update only happens when the stored
/// version is older.
async fn write_settings<C: ConnectionTrait>(
    db: &C,
    s: &TenantSettings,
    version: Option<i64>,
) -> Result<u64, StoreError> {
    let model = tenant_settings::ActiveModel {
        tenant_id: Set(s.tenant_id.clone()),
        merge_identity_kinds: Set(s.merge_identity_kinds.join(",")),
        handoff_after_misses: Set(s.handoff_after_misses.clamp(1, 100) as i32),
        updated_at: Set(Utc::now()),
        config_version: Set(version.unwrap_or(0)),
    };
    let mut columns = vec![
        tenant_settings::Column::MergeIdentityKinds,
        tenant_settings::Column::HandoffAfterMisses,
        tenant_settings::Column::UpdatedAt,
    ];
    let mut conflict = sea_orm::sea_query::OnConflict::column(tenant_settings::Column::TenantId);
    if let Some(v) = version {
        columns.push(tenant_settings::Column::ConfigVersion);
        conflict.action_and_where(tenant_settings::Column::ConfigVersion.lt(v));
    }
    conflict.update_columns(columns);
    Ok(tenant_settings::Entity::insert(model)
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await?)
}

/// A customer of the tenant; a merged-away id leads to the customer it was merged into.
pub async fn get_customer<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
) -> Result<Option<customer::Model>, StoreError> {
    let mut id = customer_id;
    // Merges chain at most a few deep; the bound guards against a cycle in bad data.
    for _ in 0..8 {
        let Some(c) = customer::Entity::in_tenant(tenant_id, id).one(db).await? else {
            return Ok(None);
        };
        match c.merged_into {
            Some(next) => id = next,
            None => return Ok(Some(c)),
        }
    }
    Ok(None)
}

/// A customer's identities (external ones included), oldest first.
pub async fn identities<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_ids: &[Uuid],
) -> Result<Vec<customer_identity::Model>, StoreError> {
    Ok(customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .order_by_asc(customer_identity::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Profile facts to set; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub tier: Option<String>,
    pub region: Option<String>,
    pub language: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.tier.is_none()
            && self.region.is_none()
            && self.language.is_none()
            && self.tags.is_none()
    }
}

pub async fn update_profile<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
    update: &ProfileUpdate,
) -> Result<Option<customer::Model>, StoreError> {
    let Some(c) = get_customer(db, tenant_id, customer_id).await? else {
        return Ok(None);
    };
    if update.is_empty() {
        return Ok(Some(c));
    }
    let mut am: customer::ActiveModel = c.into();
    if let Some(v) = &update.display_name {
        am.display_name = Set(v.clone());
    }
    if let Some(v) = &update.tier {
        am.tier = Set(v.clone());
    }
    if let Some(v) = &update.region {
        am.region = Set(v.clone());
    }
    if let Some(v) = &update.language {
        am.language = Set(v.clone());
    }
    if let Some(tags) = &update.tags {
        am.tags = Set(tags.clone().into());
    }
    Ok(Some(am.update(db).await?))
}

/// Fills the profile fields that are still empty (hints from a channel never overwrite what an
/// agent or an earlier channel set).
pub async fn fill_profile<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
    hints: &ProfileUpdate,
) -> Result<(), StoreError> {
    let Some(c) = get_customer(db, tenant_id, customer_id).await? else {
        return Ok(());
    };
    let keep = |current: &str, hint: &Option<String>| {
        hint.as_ref()
            .filter(|h| current.is_empty() && !h.is_empty())
            .cloned()
    };
    let fill = ProfileUpdate {
        display_name: keep(&c.display_name, &hints.display_name),
        tier: keep(&c.tier, &hints.tier),
        region: keep(&c.region, &hints.region),
        language: keep(&c.language, &hints.language),
        tags: None,
    };
    update_profile(db, tenant_id, c.id, &fill).await?;
    Ok(())
}

/// Tags of a customer row.
pub fn tags_of(c: &customer::Model) -> Vec<String> {
    c.tags.to_vec()
}

/// Attaches tenant-wide identities (`phone`, `member_id`, …) claimed for `customer_id`. When
/// another customer already holds one and its kind is in `merge_kinds`, the two are merged
/// (the holder survives) — unless the pair was unmerged by hand before. Returns the customer
/// the message now belongs to and the merges made.
pub async fn link_identities<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    customer_id: Uuid,
    claimed: &[(String, String)],
    merge_kinds: &[String],
) -> Result<(Uuid, Vec<Merged>), StoreError> {
    let mut current = customer_id;
    let mut merges = Vec::new();
    for (kind, value) in claimed {
        if kind == IDENTITY_EXTERNAL || value.is_empty() {
            continue;
        }
        let held = customer_identity::Entity::of_tenant(tenant_id)
            .filter(customer_identity::Column::Kind.eq(kind.as_str()))
            .filter(customer_identity::Column::Scope.eq(""))
            .filter(customer_identity::Column::Value.eq(value.as_str()))
            .one(txn)
            .await?;
        match held {
            None => {
                customer_identity::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id.to_owned()),
                    customer_id: Set(current),
                    kind: Set(kind.clone()),
                    scope: Set(String::new()),
                    value: Set(value.clone()),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await?;
            }
            Some(h) if h.customer_id == current => {}
            Some(h) => {
                if !merge_kinds.iter().any(|k| k == kind)
                    || was_unmerged(txn, tenant_id, h.customer_id, current).await?
                {
                    continue;
                }
                let m = merge(
                    txn,
                    tenant_id,
                    h.customer_id,
                    current,
                    &format!("identity:{kind}"),
                )
                .await?;
                current = m.record.survivor_id;
                merges.push(m);
            }
        }
    }
    Ok((current, merges))
}

/// One message of a customer's history, with where it was said.
#[derive(Clone, Debug)]
pub struct HistoryMessage {
    pub message: message::Model,
    pub channel_id: String,
}

/// The latest `limit` messages of the customer on every channel, oldest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    customer_id: Uuid,
    limit: u64,
) -> Result<Vec<HistoryMessage>, StoreError> {
    let conversations: HashMap<Uuid, String> = conversation::Entity::of_tenant(tenant_id)
        .filter(conversation::Column::CustomerId.eq(customer_id))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.channel_id))
        .collect();
    if conversations.is_empty() {
        return Ok(Vec::new());
    }
    let query = message::Entity::of_tenant(tenant_id)
        .filter(message::Column::ConversationId.is_in(conversations.keys().copied()))
        .filter(message::Column::Internal.eq(false));
    let rows = super::latest_messages(db, query, limit).await?;
    Ok(rows
        .into_iter()
        .map(|m| HistoryMessage {
            channel_id: conversations
                .get(&m.conversation_id)
                .cloned()
                .unwrap_or_default(),
            message: m,
        })
        .collect())
}

/// What the session needs before asking the bot about a channel user's message: the customer,
/// their open conversation on the channel (if any), profile and identities.
#[derive(Clone, Debug)]
pub struct Context {
    pub customer: customer::Model,
    pub identities: Vec<customer_identity::Model>,
    pub open: Option<conversation::Model>,
}

/// The context of each known `(channel, user)`; unknown users are absent. Four statements for
/// the whole batch.
pub async fn contexts<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    keys: &[super::batch::ChannelUser],
) -> Result<HashMap<super::batch::ChannelUser, Context>, StoreError> {
    let channels: HashSet<&str> = keys.iter().map(|(c, _)| c.as_str()).collect();
    let users: HashSet<&str> = keys.iter().map(|(_, u)| u.as_str()).collect();
    let external = customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::Kind.eq(IDENTITY_EXTERNAL))
        .filter(customer_identity::Column::Scope.is_in(channels))
        .filter(customer_identity::Column::Value.is_in(users))
        .all(db)
        .await?;
    let wanted: HashSet<&super::batch::ChannelUser> = keys.iter().collect();
    let owners: HashMap<super::batch::ChannelUser, Uuid> = external
        .into_iter()
        .map(|i| ((i.scope, i.value), i.customer_id))
        .filter(|(k, _)| wanted.contains(k))
        .collect();
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: HashSet<Uuid> = owners.values().copied().collect();
    let customers: HashMap<Uuid, customer::Model> = customer::Entity::of_tenant(tenant_id)
        .filter(customer::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut identities: HashMap<Uuid, Vec<customer_identity::Model>> = HashMap::new();
    for i in customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::CustomerId.is_in(ids.iter().copied()))
        .filter(customer_identity::Column::Kind.ne(IDENTITY_EXTERNAL))
        .all(db)
        .await?
    {
        identities.entry(i.customer_id).or_default().push(i);
    }
    let mut open: HashMap<(Uuid, String), conversation::Model> = HashMap::new();
    for c in conversation::Entity::of_tenant(tenant_id)
        .filter(conversation::Column::Status.eq(ConversationStatus::Open))
        .filter(conversation::Column::CustomerId.is_in(ids.iter().copied()))
        .all(db)
        .await?
    {
        open.insert((c.customer_id, c.channel_id.clone()), c);
    }
    Ok(owners
        .into_iter()
        .filter_map(|(key, id)| {
            let customer = customers.get(&id)?.clone();
            Some((
                key.clone(),
                Context {
                    identities: identities.get(&id).cloned().unwrap_or_default(),
                    open: open.get(&(id, key.0.clone())).cloned(),
                    customer,
                },
            ))
        })
        .collect())
}

/// Stores the bot's dialogue state of a conversation.
pub async fn set_bot_state<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    state: &str,
) -> Result<(), StoreError> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::BotState, Expr::value(state))
        .filter(conversation::Column::TenantId.eq(tenant_id))
        .filter(conversation::Column::Id.eq(conversation_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Stores the dialogue state of several conversations with one statement.
pub async fn set_bot_states<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    states: &[(Uuid, String)],
) -> Result<(), StoreError> {
    match states {
        [] => Ok(()),
        [(id, state)] => set_bot_state(txn, tenant_id, *id, state).await,
        _ => {
            let mut case = sea_orm::sea_query::CaseStatement::new();
            for (id, state) in states {
                case = case.case(conversation::Column::Id.eq(*id), Expr::value(state.clone()));
            }
            let case = case.finally(Expr::col(conversation::Column::BotState));
            conversation::Entity::update_many()
                .col_expr(conversation::Column::BotState, Expr::Case(Box::new(case)))
                .filter(conversation::Column::TenantId.eq(tenant_id))
                .filter(conversation::Column::Id.is_in(states.iter().map(|(id, _)| *id)))
                .exec(txn)
                .await?;
            Ok(())
        }
    }
}

/// Marks a conversation handed off (the bot stays quiet from now on) with its handoff record.
pub async fn hand_off<C: ConnectionTrait>(
    txn: &C,
    tenant_id: &str,
    conversation_id: Uuid,
    handoff: Vec<u8>,
) -> Result<(), StoreError> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::Mode, Expr::value(Mode::Queued))
        .col_expr(conversation::Column::Handoff, Expr::value(handoff))
        .filter(conversation::Column::TenantId.eq(tenant_id))
        .filter(conversation::Column::Id.eq(conversation_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The customer who holds a vouched identity (`phone`, `member_id`, …) — the oldest holder if
/// several do — following merges.
pub async fn find_by_identity<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    kind: &str,
    value: &str,
) -> Result<Option<customer::Model>, StoreError> {
    let held = customer_identity::Entity::of_tenant(tenant_id)
        .filter(customer_identity::Column::Kind.eq(kind))
        .filter(customer_identity::Column::Scope.eq(""))
        .filter(customer_identity::Column::Value.eq(value))
        .order_by_asc(customer_identity::Column::CreatedAt)
        .one(db)
        .await?;
    match held {
        Some(i) => get_customer(db, tenant_id, i.customer_id).await,
        None => Ok(None),
    }
}
