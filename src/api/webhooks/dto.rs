//! The webhook wire types: what registration accepts, and the endpoints and deliveries the
//! operations return.

use poem_openapi::{Object, registry::MetaSchema, types::Example};
use sea_orm::{ActiveEnum, Iterable};
use uuid::Uuid;

use crate::{
    api::{
        body::JsonRequest,
        events::EventType,
        examples,
        types::{Nullable, NullableTimestamp, PageMeta, Timestamp},
    },
    entity::{
        event::EventType as Stored,
        webhook_delivery::{self as delivery, WebhookDeliveryStatus as Status},
    },
    service::webhooks::Webhook,
};

/// One entry of `eventTypes`: an event type, or `*` for every type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription(pub Option<Stored>);

impl std::fmt::Display for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            None => f.write_str("*"),
            Some(kind) => f.write_str(&kind.to_value()),
        }
    }
}

fn subscription_schema() -> MetaSchema {
    let names = std::iter::once("*".to_owned()).chain(Stored::iter().map(|k| k.to_value()));
    MetaSchema {
        enum_items: names.map(serde_json::Value::String).collect(),
        example: Some(serde_json::Value::String("invitation.accepted".to_owned())),
        ..MetaSchema::new("string")
    }
}

crate::api::types::scalar::checked_string!(
    Subscription,
    "string_subscription",
    subscription_schema(),
    |raw| match raw {
        "*" => Some(Subscription(None)),
        other => Stored::try_from_value(&other.to_owned())
            .ok()
            .map(|k| Subscription(Some(k))),
    }
);

/// A webhook URL as a request gives it: `http(s)://`, at most 2048 characters; the server
/// checks the rest (scheme allowed, host, addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(pub String);

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

crate::api::types::scalar::checked_string!(
    WebhookUrl,
    "string_webhook_url",
    MetaSchema {
        title: Some("http(s) URL".to_owned()),
        format: Some("uri"),
        pattern: Some(r"^https?://[^\s]+$".to_owned()),
        max_length: Some(2048),
        example: Some(serde_json::Value::String(EXAMPLE_URL.to_owned())),
        ..MetaSchema::new("string")
    },
    |raw| Some(WebhookUrl(raw.to_owned()))
);

/// What to register.
#[derive(Object, Clone, Debug)]
#[oai(rename = "CreateWebhookRequest", rename_all = "camelCase", example)]
pub struct CreateWebhookRequest {
    /// Where to `POST` events: `https://` (plain `http://` only when `WEBHOOK_ALLOW_HTTP`),
    /// and not resolving to a loopback, private, link-local or metadata address (unless
    /// `WEBHOOK_ALLOW_PRIVATE`).
    pub url: WebhookUrl,
    /// The event types to deliver, or `["*"]` for all (a `*` anywhere means all).
    #[oai(validator(min_items = 1, max_items = 20))]
    pub event_types: Vec<Subscription>,
    /// A note for people, at most 500 characters; absent or `null` for none.
    #[oai(validator(max_length = 500, pattern = r"^[^\x00]*$"))]
    pub description: Option<Nullable<String>>,
}

impl JsonRequest for CreateWebhookRequest {}

impl Example for CreateWebhookRequest {
    fn example() -> Self {
        Self {
            url: WebhookUrl(EXAMPLE_URL.to_owned()),
            event_types: vec![
                Subscription(Some(Stored::Accepted)),
                Subscription(Some(Stored::Declined)),
            ],
            description: Some(Nullable(Some("CRM sync".to_owned()))),
        }
    }
}

const EXAMPLE_URL: &str = "https://hooks.example.com/voke";

/// A registered endpoint.
#[derive(Object, Clone, Debug)]
#[oai(rename = "Webhook", rename_all = "camelCase", example)]
pub struct WebhookDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Where events are delivered.
    pub url: String,
    /// The delivered types, or `["*"]` for all.
    pub event_types: Vec<Subscription>,
    /// The note given at registration, or `null`.
    pub description: Nullable<String>,
    pub created_at: Timestamp,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        let event_types = match w.event_types {
            None => vec![Subscription(None)],
            Some(types) => types.into_iter().map(|t| Subscription(Some(t))).collect(),
        };
        Self {
            id: w.row.id,
            organization_id: w.row.organization_id,
            url: w.row.url,
            event_types,
            description: Nullable(w.row.description),
            created_at: Timestamp(w.row.created_at),
        }
    }
}

impl Example for WebhookDto {
    fn example() -> Self {
        let CreateWebhookRequest {
            url,
            event_types,
            description,
        } = CreateWebhookRequest::example();
        Self {
            id: examples::WEBHOOK_ID,
            organization_id: examples::ORG_ID,
            url: url.0,
            event_types,
            description: description.unwrap_or(Nullable(None)),
            created_at: Timestamp::example_at(examples::TIMESTAMP),
        }
    }
}

/// A new endpoint and its signing secret, which is shown only here.
#[derive(Object, Clone, Debug)]
#[oai(rename = "CreatedWebhook", rename_all = "camelCase", example)]
pub struct CreatedWebhookDto {
    #[oai(flatten)]
    pub webhook: WebhookDto,
    /// `whsec_` + base64 of the 32-byte key that signs every delivery (Standard Webhooks).
    /// Store it now: it cannot be read again.
    pub secret: String,
}

impl Example for CreatedWebhookDto {
    fn example() -> Self {
        Self {
            webhook: WebhookDto::example(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3nqBVrU3yKk=".to_owned(),
        }
    }
}

/// A page of endpoints, newest first.
#[derive(Object, Clone, Debug)]
#[oai(rename_all = "camelCase", example)]
pub struct WebhookPage {
    pub data: Vec<WebhookDto>,
    pub meta: PageMeta,
}

impl Example for WebhookPage {
    fn example() -> Self {
        Self {
            data: vec![WebhookDto::example()],
            meta: PageMeta::example(),
        }
    }
}

/// Where the delivery of one event to the endpoint stands.
#[derive(poem_openapi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "WebhookDeliveryStatus", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatusDto {
    /// Not attempted yet.
    Pending,
    /// The receiver answered 2xx within 10 seconds.
    Succeeded,
    /// An attempt failed; another is scheduled (exponential backoff, for 24 hours).
    Retrying,
    /// Given up 24 hours after the event.
    Failed,
}

/// One event's delivery to the endpoint (retries update it in place).
#[derive(Object, Clone, Debug)]
#[oai(rename = "WebhookDelivery", rename_all = "camelCase", example)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: EventType,
    /// Attempts made so far.
    pub attempt: i32,
    pub status: DeliveryStatusDto,
    /// The latest attempt's HTTP status, or `null` (no attempt yet, or no answer).
    pub response_status: Nullable<i32>,
    /// Why the latest attempt failed, or `null`.
    pub error: Nullable<String>,
    /// When the latest attempt was made, or `null` before the first.
    pub attempted_at: NullableTimestamp,
}

impl From<delivery::Model> for DeliveryDto {
    fn from(d: delivery::Model) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type.into(),
            attempt: d.attempts,
            status: match d.status {
                Status::Pending => DeliveryStatusDto::Pending,
                Status::Succeeded => DeliveryStatusDto::Succeeded,
                Status::Retrying => DeliveryStatusDto::Retrying,
                Status::Failed => DeliveryStatusDto::Failed,
            },
            response_status: Nullable(d.response_status),
            error: Nullable(d.last_error),
            attempted_at: NullableTimestamp(d.attempted_at),
        }
    }
}

impl Example for DeliveryDto {
    fn example() -> Self {
        Self {
            id: uuid::uuid!("0193a5b2-9f32-7c4d-8e5f-60718293a4b5"),
            event_id: uuid::uuid!("0193a5b2-7d10-7a2b-8c3d-4e5f60718293"),
            event_type: EventType::Accepted,
            attempt: 1,
            status: DeliveryStatusDto::Succeeded,
            response_status: Nullable(Some(204)),
            error: Nullable(None),
            attempted_at: NullableTimestamp(Some(Timestamp::example_at(examples::TIMESTAMP).0)),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Object, Clone, Debug)]
#[oai(rename_all = "camelCase", example)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryDto>,
    pub meta: PageMeta,
}

impl Example for DeliveryPage {
    fn example() -> Self {
        Self {
            data: vec![DeliveryDto::example()],
            meta: PageMeta::example(),
        }
    }
}
