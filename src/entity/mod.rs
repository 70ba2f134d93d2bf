//! SeaORM entities: the database's view of the data. Never exposed in the API spec.

pub mod email_outbox;
pub mod event;
pub mod idempotency_key;
pub mod invitation;
pub mod organization_member;
pub mod webhook;
pub mod webhook_delivery;

use sea_orm::entity::prelude::*;

/// A role inside one organization, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OrgRole {
    #[sea_orm(string_value = "ORG_ADMIN")]
    OrgAdmin,
    #[sea_orm(string_value = "OPERATOR")]
    Operator,
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
}

/// An invitation's lifecycle state, as stored. A `Pending` row past its expiry is reported
/// as expired by the service whether or not it has been rewritten yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum InvitationStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}
