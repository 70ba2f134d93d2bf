//! Email addresses: what a create accepts, and how stored addresses are reported.

use poem_openapi::registry::MetaSchema;

use super::scalar::checked_string;
use crate::api::examples;

/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_LENGTH: usize = 254;

/// Optional ASCII whitespace around an ASCII `local@domain`, exactly what the mailer (lettre)
/// delivers and what `format: email` checkers accept, within RFC 5321's lengths:
/// - the local part is a dot-atom (atext characters, dots only between them) of at most 64
///   characters, written as one to four dot-separated atoms whose lengths fit in 64;
/// - the domain is two or more LDH labels (letters, digits, inner hyphens) of 1–63
///   characters: no IP literals, no leading, trailing or doubled dots; IDN domains are sent
///   in their `xn--` form.
///
/// ASCII only: no control, format, bidi or full-width character can disguise an address.
pub const EMAIL_PATTERN: &str = concat!(
    r"^[\t\n\x0b\x0c\r ]*",
    r"(?:",
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}",
    r"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,31}\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}",
    r"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,21}){2}",
    r"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){2}\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16}",
    r")@",
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+",
    r"[\t\n\x0b\x0c\r ]*$"
);

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
