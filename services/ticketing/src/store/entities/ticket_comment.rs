//! Ticketing: a comment on a ticket — a public reply, an internal note, or the transcript of
//! the conversation it was made from.
use super::ticket::Strings;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: String,
    pub ticket_id: Uuid,
    /// agent | customer | system | api
    pub author_kind: String,
    pub author_id: String,
    pub public: bool,
    /// reply | note | transcript
    pub kind: String,
    pub text: String,
    pub attachments: Strings,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
