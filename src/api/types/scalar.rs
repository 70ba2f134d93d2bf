//! String newtypes whose schema is their whole rule: parsing checks the raw value against the
//! type's own schema (with [`crate::api::validate`]) and only then builds the value.

use poem_openapi::{
    registry::Registry,
    types::{ParseError, ParseResult, Type},
};

use crate::api::validate::Schema;

/// Checks `raw` against `T`'s schema, then builds `T` with `build`.
pub fn parse<T: Type>(raw: &str, build: impl FnOnce(&str) -> Option<T>) -> ParseResult<T> {
    let root = T::schema_ref();
    let registry = Registry::new();
    let schema = Schema {
        root: &root,
        registry: &registry,
    };
    if let Some(violation) = schema.check_raw("value", raw).first() {
        return Err(ParseError::custom(violation.to_string()));
    }
    build(raw).ok_or_else(|| ParseError::custom(format!("`{raw}` is not a valid {}", T::name())))
}

/// Implements `Type`, `ToJSON`, `ParseFromJSON` and `ParseFromParameter` for a newtype that
/// displays as its wire string, from its schema and a constructor `fn(&str) -> Option<Self>`.
macro_rules! checked_string {
    ($ty:ty, $name:literal, $schema:expr, $build:expr) => {
        impl poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new($schema))
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

        impl poem_openapi::types::ToJSON for $ty {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.to_string()))
            }
        }

        impl poem_openapi::types::ParseFromJSON for $ty {
            fn parse_from_json(
                value: Option<serde_json::Value>,
            ) -> poem_openapi::types::ParseResult<Self> {
                match value {
                    Some(serde_json::Value::String(s)) => {
                        $crate::api::types::scalar::parse::<Self>(&s, $build)
                    }
                    other => Err(poem_openapi::types::ParseError::expected_type(
                        other.unwrap_or_default(),
                    )),
                }
            }
        }

        impl poem_openapi::types::ParseFromParameter for $ty {
            fn parse_from_parameter(raw: &str) -> poem_openapi::types::ParseResult<Self> {
                $crate::api::types::scalar::parse::<Self>(raw, $build)
            }
        }
    };
}
pub(crate) use checked_string;
