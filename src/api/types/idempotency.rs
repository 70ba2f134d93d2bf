//! The `Idempotency-Key` request header (§10.5).

use poem_openapi::registry::MetaSchema;

use super::scalar::checked_string;

/// The longest key accepted.
pub const IDEMPOTENCY_KEY_MAX_LENGTH: usize = 255;

/// A client-chosen key: 1–255 printable ASCII characters (space to `~`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn key_schema() -> MetaSchema {
    MetaSchema {
        title: Some("idempotency key of printable ASCII".to_owned()),
        min_length: Some(1),
        max_length: Some(IDEMPOTENCY_KEY_MAX_LENGTH),
        pattern: Some("^[\\x20-\\x7E]+$".to_owned()),
        example: Some("0d9c2c7e-5b1a-4e8f-9a43-2f6b7c1d8e90".into()),
        ..MetaSchema::new("string")
    }
}

checked_string!(
    IdempotencyKey,
    "string_idempotency_key",
    key_schema(),
    |raw| Some(IdempotencyKey(raw.to_owned()))
);
