//! An optional enum that may also be sent as `null`.
//!
//! Documented inline as a nullable string whose `enum` lists the values *and* `null`
//! (OpenAPI 3.0.3's rule for nullable enums), so that strict validators, generators and the
//! server agree that `null` is allowed. A `nullable` beside `allOf: [$ref]` is not enough: the
//! referenced enum still excludes `null`.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// `T`, or absent, or `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NullableEnum<T>(pub Option<T>);

impl<T: Type> Type for NullableEnum<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let mut values = match T::schema_ref() {
            MetaSchemaRef::Reference(name) => registry
                .schemas
                .get(&name)
                .map(|s| s.enum_items.clone())
                .unwrap_or_default(),
            MetaSchemaRef::Inline(s) => s.enum_items,
        };
        values.push(Value::Null);
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            enum_items: values,
            ..MetaSchema::new("string")
        }))
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

impl<T: ParseFromJSON> ParseFromJSON for NullableEnum<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Self(None)),
            v => T::parse_from_json(v)
                .map(|t| Self(Some(t)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for NullableEnum<T> {
    fn to_json(&self) -> Option<Value> {
        Some(
            self.0
                .as_ref()
                .and_then(ToJSON::to_json)
                .unwrap_or(Value::Null),
        )
    }
}

/// `T` or `null`, always present. Documented as `T`'s own schema, inlined, with
/// `nullable: true` beside its `type`: OpenAPI 3.0's only spelling of "`T` or null" that
/// JSON-Schema validators accept (`nullable` next to an `allOf: [$ref]` still refuses `null`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Nullable<T>(pub Option<T>);

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let schema = match T::schema_ref() {
            MetaSchemaRef::Reference(name) => registry.schemas.get(&name).cloned(),
            MetaSchemaRef::Inline(s) => Some(*s),
        };
        let schema = schema.unwrap_or_else(|| MetaSchema::new("object"));
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            nullable: true,
            ..schema
        }))
    }

    fn register(registry: &mut Registry) {
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
