use sea_orm::entity::prelude::*;

/// What happened to an invitation (§10.6), as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
pub enum EventType {
    #[sea_orm(string_value = "invitation.created")]
    Created,
    #[sea_orm(string_value = "invitation.updated")]
    Updated,
    #[sea_orm(string_value = "invitation.resent")]
    Resent,
    #[sea_orm(string_value = "invitation.revoked")]
    Revoked,
    #[sea_orm(string_value = "invitation.accepted")]
    Accepted,
    #[sea_orm(string_value = "invitation.declined")]
    Declined,
    #[sea_orm(string_value = "invitation.expired")]
    Expired,
    #[sea_orm(string_value = "invitation.email_sent")]
    EmailSent,
    #[sea_orm(string_value = "invitation.email_failed")]
    EmailFailed,
}

/// One entry of the audit trail, written in the transaction of the change it records.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub invitation_id: Uuid,
    pub r#type: EventType,
    /// The caller's `sub`; `None` for the expiry sweep, the email worker and declines.
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub occurred_at: DateTimeUtc,
    /// The `data` object as JSON text.
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
