//! Analytics: each conversation's folded facts and what it contributed to the rollups
//! (`crate::conversation::ConvState` as JSON), with the columns other conversations and the
//! real-time view look it up by.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversation_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub state: String,
    /// Its first and last activity (another conversation's message near them may change it).
    pub first_at: i64,
    pub last_at: i64,
    /// When the passing of time alone may change what it contributes (24 h after an end).
    pub settle_at: Option<i64>,
    /// The queue it waits in now ("" when not waiting) and since when.
    pub waiting_queue: String,
    pub waiting_since: i64,
    /// The agents serving it now, comma-separated.
    pub serving: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
