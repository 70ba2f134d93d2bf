//! The audit trail (§10.6): every change of an invitation writes one event in the transaction
//! of the change, and in the same statement batch one webhook delivery per matching endpoint
//! of the organization (§10.7), so an event is delivered if and only if it happened.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, IntoActiveModel};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entity::{
    event::{self, EventType},
    invitation, webhook_delivery,
    webhook_delivery::WebhookDeliveryStatus,
};

pub mod list;
mod subscriptions;

pub use list::{EventPage, EventQuery};
pub use subscriptions::{ALL_TYPES, parse_types, stored_types, subscribed_to, subscribers};

/// Who caused a change: the caller's `sub` and the request's id. Background work (the expiry
/// sweep, the email worker) has neither.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    pub sub: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// A change made by an authenticated caller in a request.
    pub fn user(sub: &str, request_id: Option<String>) -> Self {
        Self {
            sub: Some(sub.to_owned()),
            request_id,
        }
    }

    /// A change made in a request by someone who is not logged in (a decline by token).
    pub fn anonymous(request_id: Option<String>) -> Self {
        Self {
            sub: None,
            request_id,
        }
    }

    /// A change made by the service itself.
    pub fn system() -> Self {
        Self::default()
    }

    /// The `sub`, or `fallback` when there is none.
    pub fn sub_or<'a>(&'a self, fallback: &'a str) -> &'a str {
        self.sub.as_deref().unwrap_or(fallback)
    }
}

/// An event's `data`: the facts of the change that a reader needs, never a token. Which
/// fields are set depends on the type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "millis_opt::serialize"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl EventData {
    /// The invitation's email and role, the facts every invitation event carries.
    pub fn about(row: &invitation::Model) -> Self {
        Self {
            email: Some(row.email.clone()),
            role: Some(sea_orm::ActiveEnum::to_value(&row.role)),
            ..Self::default()
        }
    }
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub kind: EventType,
    pub organization_id: Uuid,
    pub invitation_id: Uuid,
    pub data: EventData,
}

impl NewEvent {
    /// An event about the invitation `row`.
    pub fn of(kind: EventType, row: &invitation::Model, data: EventData) -> Self {
        Self {
            kind,
            organization_id: row.organization_id,
            invitation_id: row.id,
            data,
        }
    }
}

/// Records `event` at `at` inside the caller's transaction, and queues its delivery to every
/// endpoint of the organization subscribed to its type. Returns the event's id.
pub async fn record(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    event: NewEvent,
    at: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let kind = event.kind;
    let organization_id = event.organization_id;
    let row = row(actor, event, at)?;
    let id = row.id;
    event::Entity::insert(row.into_active_model())
        .exec_without_returning(txn)
        .await?;
    let endpoints = subscribers(txn, organization_id, kind).await?;
    if endpoints.is_empty() {
        return Ok(id);
    }
    webhook_delivery::Entity::insert_many(deliveries(id, kind, at, endpoints))
        .exec_without_returning(txn)
        .await?;
    Ok(id)
}

/// The stored row of `event`, with a new id.
pub fn row(actor: &Actor, event: NewEvent, at: DateTime<Utc>) -> Result<event::Model, DbErr> {
    let data = serde_json::to_string(&event.data).map_err(|e| DbErr::Json(e.to_string()))?;
    Ok(event::Model {
        id: Uuid::now_v7(),
        organization_id: event.organization_id,
        invitation_id: event.invitation_id,
        r#type: event.kind,
        actor: actor.sub.clone(),
        request_id: actor.request_id.clone(),
        occurred_at: at,
        data,
    })
}

/// One pending delivery of event `event_id` per endpoint in `webhooks`.
pub fn deliveries(
    event_id: Uuid,
    kind: EventType,
    at: DateTime<Utc>,
    webhooks: Vec<Uuid>,
) -> Vec<webhook_delivery::ActiveModel> {
    webhooks
        .into_iter()
        .map(|webhook_id| {
            webhook_delivery::Model {
                id: Uuid::now_v7(),
                webhook_id,
                event_id,
                event_type: kind,
                status: WebhookDeliveryStatus::Pending,
                attempts: 0,
                response_status: None,
                last_error: None,
                attempted_at: None,
                next_attempt_at: at,
                locked_until: None,
                lock_owner: None,
                created_at: at,
            }
            .into_active_model()
        })
        .collect()
}

/// The event as JSON, exactly as `listEvents` shows it: the body of every webhook delivery.
pub fn payload(row: &event::Model) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        id: Uuid,
        r#type: String,
        organization_id: Uuid,
        invitation_id: Uuid,
        actor: Option<&'a str>,
        request_id: Option<&'a str>,
        occurred_at: String,
        data: EventData,
    }
    let body = Body {
        id: row.id,
        r#type: sea_orm::ActiveEnum::to_value(&row.r#type),
        organization_id: row.organization_id,
        invitation_id: row.invitation_id,
        actor: row.actor.as_deref(),
        request_id: row.request_id.as_deref(),
        occurred_at: millis(&row.occurred_at),
        data: serde_json::from_str(&row.data).unwrap_or_default(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// RFC 3339 in UTC with milliseconds, as every timestamp of the API.
pub fn millis(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

mod millis_opt {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::millis(at)),
            None => s.serialize_none(),
        }
    }
}
