//! An organization's webhook endpoints (§10.7): register (the signing secret is returned
//! once), list, delete, and each endpoint's deliveries. Deliveries are queued by
//! [`events::record`](super::events::record) and made by the webhook worker.

pub mod address;
pub mod outbox;

use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub use address::UrlPolicy;

use crate::{
    entity::{event::EventType, webhook, webhook_delivery},
    service::{ServiceError, ServiceResult, begin_write, events, now},
};

/// What to register.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: String,
    /// The types to deliver; `None` for every type (`["*"]`).
    pub event_types: Option<Vec<EventType>>,
    pub description: Option<String>,
}

/// A webhook as the API shows it: the stored row with its types parsed.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub row: webhook::Model,
    /// `None` for every type.
    pub event_types: Option<Vec<EventType>>,
}

impl From<webhook::Model> for Webhook {
    fn from(row: webhook::Model) -> Self {
        let event_types = events::parse_types(&row.event_types);
        Self { row, event_types }
    }
}

/// The organizations' webhook endpoints.
#[derive(Clone, Debug)]
pub struct WebhookService {
    db: DatabaseConnection,
    policy: UrlPolicy,
}

impl WebhookService {
    pub fn new(db: DatabaseConnection, policy: UrlPolicy) -> Self {
        Self { db, policy }
    }

    /// Registers an endpoint after checking its URL, and returns it with its new secret.
    #[tracing::instrument(skip_all, fields(org = %organization_id))]
    pub async fn create(
        &self,
        organization_id: Uuid,
        new: NewWebhook,
    ) -> ServiceResult<(Webhook, String)> {
        let url = address::check(&new.url, self.policy)
            .await
            .map_err(ServiceError::UnsafeWebhookUrl)?;
        let secret = new_secret();
        let stored_types = match &new.event_types {
            None => events::ALL_TYPES.to_owned(),
            Some(types) => events::stored_types(types),
        };
        let row = webhook::Model {
            id: Uuid::now_v7(),
            organization_id,
            url: url.to_string(),
            event_types: stored_types,
            description: new.description,
            secret: secret.clone(),
            created_at: now(),
        };
        webhook::Entity::insert(row.clone().into_active_model())
            .exec_without_returning(&self.db)
            .await?;
        tracing::info!(webhook = %row.id, "webhook registered");
        Ok((row.into(), secret))
    }

    /// One page of the organization's endpoints, newest first, and how many there are.
    pub async fn list(
        &self,
        organization_id: Uuid,
        page: u64,
        limit: u64,
    ) -> ServiceResult<(Vec<Webhook>, u64)> {
        let query =
            webhook::Entity::find().filter(webhook::Column::OrganizationId.eq(organization_id));
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(webhook::Column::CreatedAt)
            .order_by_desc(webhook::Column::Id)
            .offset((page - 1).saturating_mul(limit))
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// One endpoint of the organization.
    pub async fn get(&self, organization_id: Uuid, id: Uuid) -> ServiceResult<Webhook> {
        Ok(self.find(&self.db, organization_id, id).await?.into())
    }

    /// Deletes an endpoint and its deliveries; nothing more is sent to it (a delivery in
    /// flight finds its claim gone and is not recorded).
    #[tracing::instrument(skip_all, fields(org = %organization_id, webhook = %id))]
    pub async fn delete(&self, organization_id: Uuid, id: Uuid) -> ServiceResult<()> {
        let txn = begin_write(&self.db).await?;
        self.find(&txn, organization_id, id).await?;
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .exec(&txn)
            .await?;
        webhook::Entity::delete_by_id(id).exec(&txn).await?;
        txn.commit().await?;
        tracing::info!("webhook deleted");
        Ok(())
    }

    /// One page of an endpoint's deliveries, newest first, and how many there are.
    pub async fn deliveries(
        &self,
        organization_id: Uuid,
        id: Uuid,
        page: u64,
        limit: u64,
    ) -> ServiceResult<(Vec<webhook_delivery::Model>, u64)> {
        self.find(&self.db, organization_id, id).await?;
        let query =
            webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(id));
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .order_by_desc(webhook_delivery::Column::Id)
            .offset((page - 1).saturating_mul(limit))
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok((rows, total))
    }

    /// The organization's endpoint `id`; another organization's is not found.
    async fn find(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        organization_id: Uuid,
        id: Uuid,
    ) -> ServiceResult<webhook::Model> {
        webhook::Entity::find_by_id(id)
            .filter(webhook::Column::OrganizationId.eq(organization_id))
            .one(db)
            .await?
            .ok_or(ServiceError::WebhookNotFound)
    }
}

/// `whsec_` + base64 of 32 bytes from the thread-local CSPRNG (Standard Webhooks' format).
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let secret = new_secret();
        let key = secret.strip_prefix("whsec_").expect("prefix");
        assert_eq!(STANDARD.decode(key).expect("base64").len(), 32);
        assert_ne!(secret, new_secret());
    }
}
