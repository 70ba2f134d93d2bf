//! The invitation token as clients send it back: in the lookup query and the accept/decline
//! bodies.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseFromParameter, ParseResult, Type},
};

use super::scalar::checked_string;
use crate::api::examples;

/// Real tokens are 43 characters (256 bits, base64url); anything longer cannot be one.
pub const TOKEN_MAX_LENGTH: usize = 128;

/// The alphabet of invitation tokens (base64url).
const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// A token from an invitation link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationToken(pub String);

impl std::fmt::Display for InvitationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn token_schema() -> MetaSchema {
    MetaSchema {
        min_length: Some(1),
        max_length: Some(TOKEN_MAX_LENGTH),
        pattern: Some(TOKEN_PATTERN.to_owned()),
        example: Some(examples::TOKEN.into()),
        ..MetaSchema::new("string")
    }
}

checked_string!(
    InvitationToken,
    "string_invitation_token",
    token_schema(),
    |raw| Some(InvitationToken(raw.to_owned()))
);

/// The `token` query parameter: documented (and checked) as an [`InvitationToken`], but an
/// absent or blank one reaches the handler as `None`, which answers `INVITATION_TOKEN_MISSING`
/// rather than a generic validation error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenQuery(pub Option<InvitationToken>);

impl Type for TokenQuery {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        InvitationToken::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        InvitationToken::schema_ref()
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

impl ParseFromParameter for TokenQuery {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        if value.trim().is_empty() {
            return Ok(Self(None));
        }
        InvitationToken::parse_from_parameter(value)
            .map(|t| Self(Some(t)))
            .map_err(poem_openapi::types::ParseError::propagate)
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        iter: I,
    ) -> ParseResult<Self> {
        match iter.into_iter().next() {
            Some(first) => Self::parse_from_parameter(first.as_ref()),
            None => Ok(Self(None)),
        }
    }
}
