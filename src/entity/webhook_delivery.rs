use sea_orm::entity::prelude::*;

use super::event::EventType;

/// Where the delivery of one event to one endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WebhookDeliveryStatus {
    /// Not attempted yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// A receiver answered 2xx within the deadline.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// At least one attempt failed; another is scheduled.
    #[sea_orm(string_value = "RETRYING")]
    Retrying,
    /// Given up after the retry window.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// The webhook outbox: one event for one endpoint, claimed by one instance at a time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: EventType,
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// The latest attempt's HTTP status, if a response came.
    pub response_status: Option<i32>,
    pub last_error: Option<String>,
    pub attempted_at: Option<DateTimeUtc>,
    pub next_attempt_at: DateTimeUtc,
    pub locked_until: Option<DateTimeUtc>,
    pub lock_owner: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
