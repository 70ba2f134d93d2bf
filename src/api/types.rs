//! Wire types shared by several resources: timestamps, roles, statuses, pagination.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    Enum, Object,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::entity;

/// An RFC 3339 UTC timestamp with millisecond precision and a `Z` suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

/// A [`Timestamp`] that is present with `null` when there is no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NullableTimestamp(pub Option<DateTime<Utc>>);

fn format_timestamp(t: &DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn parse_timestamp(value: Value) -> ParseResult<DateTime<Utc>> {
    match value {
        Value::String(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| ParseError::custom(e.to_string())),
        other => Err(ParseError::expected_type(other)),
    }
}

macro_rules! timestamp_type {
    ($ty:ty, $name:literal, $nullable:literal) => {
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    nullable: $nullable,
                    ..MetaSchema::new_with_format("string", "date-time")
                }))
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
    };
}

timestamp_type!(Timestamp, "string_date-time", false);
timestamp_type!(NullableTimestamp, "string_date-time_nullable", true);

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(format_timestamp(&self.0))
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        parse_timestamp(value.unwrap_or_default())
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for NullableTimestamp {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.as_ref().map_or(Value::Null, format_timestamp))
    }
}

impl ParseFromJSON for NullableTimestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Self(None)),
            Some(v) => parse_timestamp(v)
                .map(|t| Self(Some(t)))
                .map_err(ParseError::propagate),
        }
    }
}

/// A role inside an organization.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "OrgRole", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Manages members and invitations.
    OrgAdmin,
    /// Operates the organization's resources; cannot manage members or invitations.
    Operator,
    /// Read-only access; cannot manage members or invitations.
    Viewer,
}

impl From<entity::OrgRole> for Role {
    fn from(role: entity::OrgRole) -> Self {
        match role {
            entity::OrgRole::OrgAdmin => Self::OrgAdmin,
            entity::OrgRole::Operator => Self::Operator,
            entity::OrgRole::Viewer => Self::Viewer,
        }
    }
}

impl From<Role> for entity::OrgRole {
    fn from(role: Role) -> Self {
        match role {
            Role::OrgAdmin => Self::OrgAdmin,
            Role::Operator => Self::Operator,
            Role::Viewer => Self::Viewer,
        }
    }
}

/// An invitation's state. A pending invitation past `expiresAt` is always reported `EXPIRED`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    /// Sent and still usable.
    Pending,
    /// Accepted: the invitee is now a member.
    Accepted,
    /// Declined by the invitee.
    Declined,
    /// Revoked by an organization admin.
    Revoked,
    /// Not used before `expiresAt`.
    Expired,
}

impl From<entity::InvitationStatus> for InvitationStatus {
    fn from(status: entity::InvitationStatus) -> Self {
        use entity::InvitationStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Accepted => Self::Accepted,
            S::Declined => Self::Declined,
            S::Revoked => Self::Revoked,
            S::Expired => Self::Expired,
        }
    }
}

impl From<InvitationStatus> for entity::InvitationStatus {
    fn from(status: InvitationStatus) -> Self {
        use InvitationStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Accepted => Self::Accepted,
            S::Declined => Self::Declined,
            S::Revoked => Self::Revoked,
            S::Expired => Self::Expired,
        }
    }
}

/// Where a page sits in the whole result.
#[derive(Object, Clone, Debug, PartialEq, Eq)]
#[oai(rename_all = "camelCase")]
pub struct PageMeta {
    /// The page returned, starting at 1.
    pub page: u32,
    /// The page size requested.
    pub limit: u32,
    /// How many items match in all.
    pub total: u64,
    /// `ceil(total / limit)`; 0 when there are no items.
    pub total_pages: u64,
}

/// The validated `page` and `limit` query values as page numbers. The parameters' validators
/// bound both to `u32` range, so the fallbacks (the defaults) are never used.
pub fn paging(page: i64, limit: i64) -> (u32, u32) {
    (
        u32::try_from(page).unwrap_or(1),
        u32::try_from(limit).unwrap_or(20),
    )
}

impl PageMeta {
    pub fn new(page: u32, limit: u32, total: u64) -> Self {
        Self {
            page,
            limit,
            total,
            total_pages: total.div_ceil(u64::from(limit.max(1))),
        }
    }
}

/// A plain confirmation.
#[derive(Object, Clone, Debug, PartialEq, Eq)]
pub struct MessageResponse {
    /// What happened, in words.
    pub message: String,
}

/// An optional string-enum value that may also be sent as `null` (documented as a nullable
/// string referencing the enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Nullable<T>(pub Option<T>);

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            all_of: vec![T::schema_ref()],
            ..MetaSchema::new("string")
        }))
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(v) => v.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Self(None)),
            v => T::parse_from_json(v)
                .map(|t| Self(Some(t)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        Some(
            self.0
                .as_ref()
                .and_then(ToJSON::to_json)
                .unwrap_or(Value::Null),
        )
    }
}

/// The invitation token as a query parameter. Documented as required (with the token's
/// alphabet), but parsed leniently: an absent or empty token must reach the handler, which
/// answers `INVITATION_TOKEN_MISSING` rather than a generic validation error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenParam(pub Option<String>);

/// The alphabet of invitation tokens (base64url).
pub const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]+$";

impl Type for TokenParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_invitation_token".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: Some(1),
            pattern: Some(TOKEN_PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
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

impl ParseFromParameter for TokenParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(Some(value.to_owned())))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        iter: I,
    ) -> ParseResult<Self> {
        Ok(Self(iter.into_iter().next().map(|v| v.as_ref().to_owned())))
    }
}

/// A query value that is trimmed before it is parsed (the contract trims filters); documented
/// exactly as `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trimmed<T>(pub T);

impl<T: Type> Type for Trimmed<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }
}

impl<T: ParseFromParameter> ParseFromParameter for Trimmed<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        T::parse_from_parameter(value.trim())
            .map(Self)
            .map_err(ParseError::propagate)
    }
}
