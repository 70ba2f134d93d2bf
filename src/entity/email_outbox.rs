use sea_orm::entity::prelude::*;

/// Where a queued email stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Delivered (or, without SMTP, written to the log).
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// Given up after the maximum number of attempts.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Superseded (resend) or pointless (revoked, declined, accepted) before delivery.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub invitation_id: Uuid,
    pub recipient: String,
    pub token: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub lock_owner: Option<Uuid>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
