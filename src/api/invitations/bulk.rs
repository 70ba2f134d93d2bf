//! `POST /api/v1/invitations/bulk`: its wire types. Each item is judged exactly as a single
//! create's body would be, so an item's own problems are that item's answer, not the
//! request's.

use std::borrow::Cow;

use poem_openapi::{
    Object,
    registry::{MetaSchemaRef, Registry},
    types::{Example, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use super::dto::{CreateInvitationRequest, InvitationDto};
use crate::{
    api::{
        body::{JsonRequest, check},
        examples,
        types::Nullable,
        validate::Violation,
    },
    error::{ApiError, ErrorBody},
    service::invitations::ItemResult,
};

/// One item of a batch: a valid create body, or why it is not one (its `details.errors`).
#[derive(Clone, Debug)]
pub struct BulkItem(pub Result<CreateInvitationRequest, Vec<String>>);

impl Type for BulkItem {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        CreateInvitationRequest::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        CreateInvitationRequest::schema_ref()
    }

    fn register(registry: &mut Registry) {
        CreateInvitationRequest::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for BulkItem {
    /// Never fails: a bad item is kept as its refusal.
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        let violations = check::<CreateInvitationRequest>(&value);
        if !violations.is_empty() {
            return Ok(Self(Err(violations
                .iter()
                .map(ToString::to_string)
                .collect())));
        }
        Ok(Self(
            CreateInvitationRequest::parse_from_json(Some(value))
                .map_err(|e| vec![format!("body: {}", e.into_message())]),
        ))
    }
}

impl ToJSON for BulkItem {
    fn to_json(&self) -> Option<Value> {
        match &self.0 {
            Ok(item) => item.to_json(),
            Err(_) => Some(Value::Null),
        }
    }
}

/// Invitations to create together.
#[derive(Object, Clone, Debug)]
#[oai(rename = "BulkCreateInvitationsRequest", example)]
pub struct BulkCreateRequest {
    /// 1 to 100 invitations, each as the body of `createInvitation`.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub invitations: Vec<BulkItem>,
}

impl JsonRequest for BulkCreateRequest {
    /// Only the shape of the batch refuses the request; each item answers for itself.
    fn violations(body: &Value) -> Vec<Violation> {
        check::<Self>(body)
            .into_iter()
            .filter(|v| !v.field.starts_with("invitations["))
            .collect()
    }
}

impl Example for BulkCreateRequest {
    fn example() -> Self {
        let mut second = CreateInvitationRequest::example();
        second.email.0 = "sam@example.com".to_owned();
        second.role.0 = None;
        Self {
            invitations: vec![
                BulkItem(Ok(CreateInvitationRequest::example())),
                BulkItem(Ok(second)),
            ],
        }
    }
}

/// What became of one item.
#[derive(Object, Clone, Debug)]
#[oai(rename = "BulkInvitationResult", rename_all = "camelCase")]
pub struct BulkResult {
    /// The item's position in the request, from 0.
    pub index: i32,
    /// The status a single create would have answered: 201, or the error's status.
    pub status: i32,
    /// The created invitation, or `null`.
    pub invitation: Nullable<InvitationDto>,
    /// The error envelope a single create would have answered, or `null`.
    pub error: Nullable<ErrorBody>,
}

impl BulkResult {
    pub fn created(index: usize, invitation: InvitationDto) -> Self {
        Self {
            index: i32::try_from(index).unwrap_or(i32::MAX),
            status: 201,
            invitation: Nullable(Some(invitation)),
            error: Nullable(None),
        }
    }

    /// Each item's result, in request order: refused before the service saw it, or what the
    /// service answered for it.
    pub fn all(
        items: Vec<Result<CreateInvitationRequest, Vec<String>>>,
        outcomes: Vec<Option<ItemResult>>,
    ) -> Vec<Self> {
        items
            .into_iter()
            .zip(outcomes)
            .enumerate()
            .map(|(index, (item, outcome))| match (item, outcome) {
                (Err(lines), _) => Self::failed(index, &ApiError::Validation(lines)),
                (Ok(_), Some(Ok(invitation))) => Self::created(index, invitation.into()),
                (Ok(_), Some(Err(e))) => Self::failed(index, &ApiError::from(e)),
                (Ok(_), None) => Self::failed(
                    index,
                    &ApiError::internal(anyhow::anyhow!("bulk item {index} has no outcome")),
                ),
            })
            .collect()
    }

    pub fn failed(index: usize, error: &ApiError) -> Self {
        let body = error.body();
        Self {
            index: i32::try_from(index).unwrap_or(i32::MAX),
            status: i32::from(body.status_code),
            invitation: Nullable(None),
            error: Nullable(Some(body)),
        }
    }
}

/// How many items were created and how many failed.
#[derive(Object, Clone, Debug)]
#[oai(rename = "BulkInvitationsMeta")]
pub struct BulkMeta {
    pub created: i32,
    pub failed: i32,
}

/// The outcome of a batch, item by item in request order.
#[derive(Object, Clone, Debug)]
#[oai(rename = "BulkInvitationsResponse", example)]
pub struct BulkResponse {
    pub data: Vec<BulkResult>,
    pub meta: BulkMeta,
}

impl BulkResponse {
    pub fn new(data: Vec<BulkResult>) -> Self {
        let created = data.iter().filter(|r| r.status == 201).count();
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            meta: BulkMeta {
                created: count(created),
                failed: count(data.len() - created),
            },
            data,
        }
    }
}

impl Example for BulkResponse {
    fn example() -> Self {
        let conflict = ApiError::Conflict {
            message: crate::error::CONFLICT_PENDING_EXISTS,
            invitation_id: Some(examples::INVITATION_ID),
        };
        let mut created = InvitationDto::example();
        created.delivery.status = super::dto::DeliveryStatus::Queued;
        created.delivery.attempts = 0;
        created.delivery.sent_at.0 = None;
        Self::new(vec![
            BulkResult::created(0, created),
            BulkResult::failed(1, &conflict),
        ])
    }
}
