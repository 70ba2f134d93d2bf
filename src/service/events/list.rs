//! Reading the audit trail: an organization's events, newest first.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::EventData;
use crate::{
    entity::event::{self, EventType},
    service::ServiceResult,
};

/// Which events, and which page of them.
#[derive(Clone, Debug)]
pub struct EventQuery {
    pub page: u64,
    pub limit: u64,
    pub kind: Option<EventType>,
    pub invitation_id: Option<Uuid>,
}

/// One page of events and how many match in all.
#[derive(Clone, Debug)]
pub struct EventPage {
    pub items: Vec<(event::Model, EventData)>,
    pub total: u64,
}

/// The organization's events matching `query`, newest first (`occurredAt`, then `id`).
pub async fn list(
    db: &DatabaseConnection,
    organization_id: Uuid,
    query: &EventQuery,
) -> ServiceResult<EventPage> {
    let mut select =
        event::Entity::find().filter(event::Column::OrganizationId.eq(organization_id));
    if let Some(kind) = query.kind {
        select = select.filter(event::Column::Type.eq(kind));
    }
    if let Some(id) = query.invitation_id {
        select = select.filter(event::Column::InvitationId.eq(id));
    }
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(event::Column::OccurredAt)
        .order_by_desc(event::Column::Id)
        .offset((query.page - 1).saturating_mul(query.limit))
        .limit(query.limit)
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            // Written by `record` from the same type; an unreadable row shows as empty data.
            let data = serde_json::from_str(&row.data).unwrap_or_default();
            (row, data)
        })
        .collect();
    Ok(EventPage { items, total })
}
