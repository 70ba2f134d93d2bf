//! Email addresses: what a create accepts, and how stored addresses are reported.

use poem_openapi::registry::MetaSchema;

use super::scalar::checked_string;
use crate::api::examples;

/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_LENGTH: usize = 254;

/// Optional ASCII whitespace around `local@domain.tld`, whose parts contain no `@`, space or
/// control character (C0 or C1).
pub const EMAIL_PATTERN: &str = r"^[\t\n\x0b\x0c\r ]*[^@ \x00-\x1f\x7f-\x9f]+@[^@ \x00-\x1f\x7f-\x9f]+\.[^@ \x00-\x1f\x7f-\x9f]+[\t\n\x0b\x0c\r ]*$";

/// An email address as a client sends it; stored trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmail(pub String);

checked_string!(
    NewEmail,
    "string_new_email",
    MetaSchema {
        max_length: Some(EMAIL_MAX_LENGTH),
        pattern: Some(EMAIL_PATTERN.to_owned()),
        example: Some(examples::NEW_EMAIL.into()),
        ..MetaSchema::new_with_format("string", "email")
    },
    |raw| Some(NewEmail(raw.to_owned()))
);

/// A stored (normalised) email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(pub String);

checked_string!(
    Email,
    "string_email",
    MetaSchema::new_with_format("string", "email"),
    |raw| Some(Email(raw.to_owned()))
);

macro_rules! display_inner {
    ($($ty:ty),*) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_inner!(NewEmail, Email);
