use sea_orm::entity::prelude::*;

use super::{InvitationStatus, OrgRole};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: OrgRole,
    pub status: InvitationStatus,
    pub invited_by: String,
    pub token_hash: Option<String>,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How many emails have been queued for this invitation (1 after create).
    pub send_count: i32,
    /// When the latest email was queued; `None` only for rows loaded by hand (SQL).
    pub last_sent_at: Option<DateTimeUtc>,
    /// The latest email's `email_outbox` row, whose state is the invitation's `delivery`.
    pub email_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The latest email queued for the invitation.
    #[sea_orm(
        belongs_to = "super::email_outbox::Entity",
        from = "Column::EmailId",
        to = "super::email_outbox::Column::Id"
    )]
    LatestEmail,
}

impl Related<super::email_outbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::LatestEmail.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
