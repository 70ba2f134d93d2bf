use sea_orm::entity::prelude::*;

/// An organization's webhook endpoint (§10.7).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    /// The subscribed types, comma-delimited with a comma at each end (`,*,` for all).
    pub event_types: String,
    pub description: Option<String>,
    /// `whsec_` + base64 of the 32-byte signing key.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
