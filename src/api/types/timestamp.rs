//! Timestamps: RFC 3339 in UTC with millisecond precision and a `Z` suffix.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::api::examples;

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
                    // RFC 3339 with nanoseconds and an offset is 35 characters.
                    max_length: Some(64),
                    example: Some(examples::TIMESTAMP.into()),
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

/// The same text as [`ToJSON`], for the bodies written without a `serde_json::Value` tree.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl serde::Serialize for NullableTimestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(t) => Timestamp(t).serialize(serializer),
            None => serializer.serialize_none(),
        }
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

impl Timestamp {
    /// A fixed example instant, for the spec.
    pub fn example_at(rfc3339: &str) -> Self {
        Self(
            DateTime::parse_from_rfc3339(rfc3339)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        )
    }
}
