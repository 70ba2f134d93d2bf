//! UUIDs on the wire: path ids and the `x-org-id` header follow one rule, the 36-character
//! hyphenated form (any version, any letter case), returned lower-case.

use poem_openapi::registry::MetaSchema;
use uuid::Uuid;

use super::scalar::checked_string;
use crate::api::examples;

/// The hyphenated UUID form, as a pattern for the spec.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Accepts the hyphenated form only (what `format: uuid` promises), any version, any case.
pub fn parse_uuid(raw: &str) -> Option<Uuid> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

fn uuid_schema(example: Uuid) -> MetaSchema {
    MetaSchema {
        pattern: Some(UUID_PATTERN.to_owned()),
        min_length: Some(36),
        max_length: Some(36),
        example: Some(serde_json::Value::String(example.to_string())),
        ..MetaSchema::new_with_format("string", "uuid")
    }
}

/// The header form: the same rule without `format: uuid`, which makes generated clients
/// (openapi-python-client) type the header as a `UUID` object that HTTP libraries refuse to
/// send.
fn uuid_header_schema(example: Uuid) -> MetaSchema {
    MetaSchema {
        format: None,
        ..uuid_schema(example)
    }
}

/// The organization an operation acts on (the `x-org-id` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgId(pub Uuid);

checked_string!(
    OrgId,
    "string_org_id",
    uuid_header_schema(examples::ORG_ID),
    |raw| parse_uuid(raw).map(OrgId)
);

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An invitation's id in a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvitationId(pub Uuid);

checked_string!(
    InvitationId,
    "string_invitation_id",
    uuid_schema(examples::INVITATION_ID),
    |raw| parse_uuid(raw).map(InvitationId)
);

impl std::fmt::Display for InvitationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A webhook's id in a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookId(pub Uuid);

checked_string!(
    WebhookId,
    "string_webhook_id",
    uuid_schema(examples::WEBHOOK_ID),
    |raw| parse_uuid(raw).map(WebhookId)
);

impl std::fmt::Display for WebhookId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
