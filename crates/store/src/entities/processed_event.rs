//! Every service: the event ids a consumer has already applied, recorded in the same
//! transaction as the effect, so a redelivered event changes nothing.
use sea_orm::entity::prelude::*;

/// The key leads with `event_id`, the selective column: a batch's lookup
/// (`event_id IN (…) AND consumer = …`) is then an index-only scan of exactly its ids, also
/// on a fresh table the planner has no statistics for yet. (With `consumer` first, PostgreSQL
/// scanned every row of the consumer until autovacuum analysed the table.) Tables created with
/// the earlier order keep it; once analysed they are planned alike.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "processed_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub consumer: String,
    pub processed_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
