use sea_orm::entity::prelude::*;

/// One idempotency key of one caller in one organization, and the answer it stands for.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub caller: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 (hex) of the operation, its path and its canonical body.
    pub fingerprint: String,
    /// The request holding the key while it runs; `None` once its answer is stored.
    pub owner: Option<Uuid>,
    /// When a holder that never answered (a crash) is presumed gone.
    pub locked_until: Option<DateTimeUtc>,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub response_location: Option<String>,
    pub created_at: DateTimeUtc,
    /// The end of the 24-hour retention.
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
