//! Analytics: one row per order the order system reported (`order.placed`), the first report of
//! an order id counting, with what its attribution contributed to the rollups.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facts_order")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    pub event_id: Uuid,
    /// Kefu's customer ("" when the order system's customer is not one Kefu knows).
    pub customer_id: String,
    pub merchant_id: String,
    /// Milliseconds since the epoch.
    pub placed_at: i64,
    pub amount_cents: i64,
    pub paid_cents: i64,
    /// What the attribution added to the rollups (`crate::orders::Applied`, JSON).
    pub applied: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
