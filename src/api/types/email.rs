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
///   characters, `--` in third and fourth place only after `xn`: no IP literals, no
///   leading, trailing or doubled dots; IDN domains are sent in their `xn--` form (and an
///   `xn--` label must decode, which the service checks).
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
    label!(),
    r"(?:\.",
    label!(),
    r")+",
    r"[\t\n\x0b\x0c\r ]*$"
);

/// One domain label: 1–63 letters, digits and inner hyphens, with `--` in the third and
/// fourth places only in an `xn--` (IDNA A-)label, as IDNA reserves them (`format: email`
/// checkers refuse `ab--c.com`). Written without look-around, which the `regex` crate lacks:
/// up to 3 characters; or a third character that is not `-`; or a third `-` and a fourth
/// that is not; or `xn--`.
macro_rules! label {
    () => {
        concat!(
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]?[A-Za-z0-9])?",
            r"|[A-Za-z0-9][A-Za-z0-9-][A-Za-z0-9][A-Za-z0-9-]{0,59}[A-Za-z0-9]",
            r"|[A-Za-z0-9][A-Za-z0-9-]-[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?",
            r"|[Xx][Nn]--[A-Za-z0-9](?:[A-Za-z0-9-]{0,57}[A-Za-z0-9])?)"
        )
    };
}
use label;

/// An email address as a client sends it; stored trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmail(pub String);

checked_string!(
    NewEmail,
    "string_new_email",
    // No `format: email`: the value may carry surrounding whitespace (it is trimmed), which
    // `format: email` checkers refuse. The pattern is the whole rule.
    MetaSchema {
        title: Some("email address".to_owned()),
        max_length: Some(EMAIL_MAX_LENGTH),
        pattern: Some(EMAIL_PATTERN.to_owned()),
        example: Some(examples::NEW_EMAIL.into()),
        ..MetaSchema::new("string")
    },
    // The pattern admits only what the mailer delivers; checked again as a safety net.
    |raw| crate::service::mailbox::deliverable(raw).then(|| NewEmail(raw.to_owned()))
);

/// A stored (normalised) email address.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_admits_only_what_the_mailer_delivers() {
        let pattern = regex::Regex::new(EMAIL_PATTERN).expect("compiles");
        let long_local = format!("{}@example.com", "a".repeat(65));
        let four_atoms = format!(
            "{}.{}.{}.{}@x.io",
            "a".repeat(15),
            "b".repeat(15),
            "c".repeat(15),
            "d".repeat(16)
        );
        for candidate in [
            "a@example.com",
            " Bob.Smith+tag@mail.example.co.uk\t",
            "x@xn--exmple-cua.de",
            "o'hara@example.ie",
            four_atoms.as_str(),
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a@-x.com",
            "a@x-.com",
            "a@[127.0.0.1]",
            "a@example.com.",
            "bob<attacker@evil.com>",
            "ünï@example.de",
            long_local.as_str(),
        ] {
            let admitted = pattern.is_match(candidate);
            if admitted {
                assert!(
                    crate::service::mailbox::deliverable(candidate),
                    "{candidate:?}"
                );
            }
        }
        assert!(pattern.is_match(&four_atoms));
        // IDNA's reserved hyphens (what `format: email` checkers refuse), and what stays.
        for refused in [
            "a@ab--c.com",
            "a@b.hn--o",
            "a@b.c--",
            "a@b.cd--e",
            "a@b.a-",
            "a@b.-a",
        ] {
            assert!(!pattern.is_match(refused), "{refused}");
        }
        for admitted in [
            "a@abc--d.com",
            "a@a--b.com",
            "a@b.x-y",
            "a@b.ab-cd",
            "a@b.c",
            "a@b.xn--p1ai",
        ] {
            assert!(pattern.is_match(admitted), "{admitted}");
        }
        let longest = format!("a@{}.com", "b".repeat(63));
        assert!(pattern.is_match(&longest));
        assert!(!pattern.is_match(&format!("a@{}.com", "b".repeat(64))));
        assert!(!pattern.is_match("a..b@example.com"));
        assert!(!pattern.is_match(&long_local));
    }
}
