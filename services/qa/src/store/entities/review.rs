//! QA: a review assignment: a sampled conversation for a reviewer to confirm or reject its
//! findings.
use super::values::ReviewStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "qa_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub conversation_id: String,
    pub merchant_id: String,
    /// The assigned reviewer; empty when the policy names none (any supervisor may take it).
    pub reviewer_id: String,
    /// critical | below_score | csat | sampled
    pub reason: String,
    pub status: ReviewStatus,
    pub comment: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
