//! `Idempotency-Key` (§10.5) between HTTP and [`crate::service::idempotency`].
//!
//! The edge ([`crate::middleware`]) fingerprints every request that carries the header
//! (method, path and canonical JSON body) into a [`Slot`]. An operation that honours keys
//! claims the key once its caller is authenticated ([`claim`]): a replay answers at once; a
//! fresh claim is left in the slot, and the edge stores whatever the operation answered
//! ([`settle`]) — success or 4xx alike, never a 5xx.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{Body, IntoResponse, Request, Response, error::ResponseError, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    registry::{MetaHeader, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    api::types::IdempotencyKey,
    error::ApiError,
    service::idempotency::{self, Begin, KeyError, Reservation, Scope, Stored},
};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header of a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// A request's fingerprint and, once claimed, its hold on the key.
#[derive(Clone)]
pub struct Slot {
    fingerprint: String,
    held: Arc<Mutex<Option<(DatabaseConnection, Reservation)>>>,
}

impl Slot {
    /// The slot of a request carrying `Idempotency-Key`, with `body` its buffered body.
    pub fn of(req: &Request, body: &[u8]) -> Option<Self> {
        req.headers().get(HEADER)?;
        let mut hash = Sha256::new();
        hash.update(req.method().as_str());
        hash.update(b"\n");
        hash.update(req.uri().path());
        hash.update(b"\n");
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => hash.update(canonical(value).to_string()),
            Err(_) => hash.update(body),
        }
        Some(Self {
            fingerprint: format!("{:x}", hash.finalize()),
            held: Arc::default(),
        })
    }
}

/// The same JSON with every object's keys sorted, so key order and whitespace do not make two
/// bodies different.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Claims `key` (if the request has one) for `caller` in `organization_id`. `Some` is a stored
/// answer to replay; `None` means run the operation.
pub async fn claim(
    req: &Request,
    db: &DatabaseConnection,
    organization_id: Uuid,
    caller: &str,
    key: Option<&IdempotencyKey>,
    hold: Duration,
) -> Result<Option<Replayed>, ApiError> {
    let Some(key) = key else {
        // An empty header, or one that is not text, reads as no key; both are invalid.
        return match req.headers().get(HEADER) {
            None => Ok(None),
            Some(v) if v.is_empty() => Err(ApiError::validation(
                "Idempotency-Key: must be at least 1 characters long",
            )),
            Some(_) => Err(ApiError::validation(
                "Idempotency-Key: must be a valid idempotency key of printable ASCII",
            )),
        };
    };
    let Some(slot) = req.extensions().get::<Slot>() else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "an idempotency key reached an operation without its slot"
        )));
    };
    let scope = Scope {
        organization_id,
        caller: caller.to_owned(),
        key: key.0.clone(),
    };
    match idempotency::begin(db, &scope, &slot.fingerprint, hold).await {
        Ok(Begin::Replay(stored)) => Ok(Some(Replayed(stored))),
        Ok(Begin::Fresh(reservation)) => {
            if let Ok(mut held) = slot.held.lock() {
                *held = Some((db.clone(), reservation));
            }
            Ok(None)
        }
        Err(KeyError::Reused) => Err(ApiError::IdempotencyKeyReused),
        Err(KeyError::InUse) => Err(ApiError::IdempotencyKeyInUse),
        Err(KeyError::Service(e)) => Err(e.into()),
    }
}

/// Stores the answer of a request that claimed a key, and passes the answer on.
pub async fn settle(slot: &Slot, response: Response) -> Response {
    let held = slot.held.lock().ok().and_then(|mut held| held.take());
    let Some((db, reservation)) = held else {
        return response;
    };
    let status = response.status();
    let location = response
        .headers()
        .get(poem::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = response.into_parts();
    let bytes = match body.into_bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "idempotency: could not read the answer to store it");
            let _ = idempotency::finish(&db, &reservation, &unstored()).await;
            return ApiError::internal(anyhow::anyhow!("unreadable response body: {e}"))
                .as_response();
        }
    };
    let answer = Stored {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        location,
    };
    match idempotency::finish(&db, &reservation, &answer).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("idempotency: the key was taken over before the answer"),
        Err(e) => tracing::warn!(error = %e, "idempotency: could not store the answer"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// What frees a key without storing anything.
fn unstored() -> Stored {
    Stored {
        status: 500,
        body: String::new(),
        location: None,
    }
}

/// A stored answer, replayed with `Idempotent-Replayed: true`.
pub struct Replayed(pub Stored);

impl IntoResponse for Replayed {
    fn into_response(self) -> Response {
        let stored = self.0;
        let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
        let mut response = Response::builder()
            .status(status)
            .content_type("application/json; charset=utf-8")
            .header(REPLAYED, "true");
        if let Some(location) = stored.location {
            response = response.header(poem::http::header::LOCATION, location);
        }
        response.body(stored.body)
    }
}

/// An operation's answer: its own, or a replay of the first answer to its key.
pub enum Idempotent<R> {
    Fresh(R),
    Replay(Replayed),
}

impl<R: IntoResponse> IntoResponse for Idempotent<R> {
    fn into_response(self) -> Response {
        match self {
            Self::Fresh(r) => r.into_response(),
            Self::Replay(r) => r.into_response(),
        }
    }
}

impl<R: ApiResponse> ApiResponse for Idempotent<R> {
    fn meta() -> MetaResponses {
        let mut meta = R::meta();
        for response in &mut meta.responses {
            response.headers.push(replayed_header());
        }
        meta
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
    }
}

/// The documentation of `Idempotent-Replayed`.
pub fn replayed_header() -> MetaHeader {
    MetaHeader {
        name: "Idempotent-Replayed".to_owned(),
        description: Some(
            "`true` when this is the stored answer to an earlier request with the same \
             `Idempotency-Key` (status, body and `Location` as they were then); absent on a \
             fresh answer. Stored 4xx answers are replayed the same way."
                .to_owned(),
        ),
        required: false,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
            enum_items: vec![Value::String("true".to_owned())],
            example: Some(Value::String("true".to_owned())),
            ..MetaSchema::new("string")
        })),
    }
}
