//! Which email addresses the service accepts: exactly those the mailer can deliver to, and
//! that an admin UI shows as what they are.

use std::str::FromStr;

/// RFC 5321 §4.5.3.1: local part, domain and label limits (in octets).
const LOCAL_MAX: usize = 64;
const DOMAIN_MAX: usize = 253;
const LABEL_MAX: usize = 63;

/// True when `raw` (surrounding ASCII whitespace aside) is an address lettre parses for the
/// SMTP envelope, within RFC 5321's lengths, with a dotted domain name (no IP literal), and
/// with no character that disguises what it shows (format and bidi controls, full-width
/// forms, C0/C1 controls).
pub fn deliverable(raw: &str) -> bool {
    let address = raw.trim_matches(|c| matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' '));
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let labels_ok = !domain.contains(['[', ']'])
        && domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= LABEL_MAX);
    !local.is_empty()
        && local.len() <= LOCAL_MAX
        && domain.len() <= DOMAIN_MAX
        && labels_ok
        && !address.chars().any(disguises)
        && lettre::Address::from_str(address).is_ok()
}

/// True when every `xn--` label of the (normalised) address's domain stands for a real
/// internationalised label: valid Punycode, stable when written back (UTS 46 mapping,
/// NFC), and made only of lower-case letters, ASCII digits and hyphens. A stricter reading
/// than UTS 46, close to IDNA 2008's, which `format: email` checkers apply (they refuse
/// Punycode for symbols, emoji and unassigned code points). The schema's pattern cannot say
/// this, so the service checks it (a `VALIDATION_ERROR` on `email`).
pub fn idn_labels_valid(address: &str) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    domain.split('.').all(|label| {
        let is_a_label = label
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"));
        if !is_a_label {
            return true;
        }
        let (unicode, checked) = idna::domain_to_unicode(label);
        let letters = |c: char| c == '-' || c.is_ascii_digit() || idna_letter(c);
        checked.is_ok()
            && unicode.chars().all(letters)
            && idna::domain_to_ascii_strict(&unicode).is_ok_and(|a| a.eq_ignore_ascii_case(label))
    })
}

/// A letter IDNA 2008 allows, approximately: alphabetic, not upper-case, not a letter-number
/// (Roman numerals, runic symbols), below the tertiary ideographic plane (assigned after the
/// tables checkers carry), and not one of RFC 5892's disallowed exceptions (tatweel, kana
/// repeat marks and the like).
fn idna_letter(c: char) -> bool {
    c.is_alphabetic()
        && !c.is_uppercase()
        && !c.is_numeric()
        && u32::from(c) < 0x3_0000
        && !matches!(
            c,
            '\u{0640}' | '\u{07fa}' | '\u{302e}' | '\u{302f}' | '\u{3031}'
                ..='\u{3035}' | '\u{303b}'
        )
}

/// Characters that make an address look like another one: controls, Unicode format
/// characters (zero-width, bidi embeddings, overrides and isolates, the BOM, soft hyphen)
/// and full-width ASCII look-alikes.
fn disguises(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}' | '\u{061c}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{ff01}'..='\u{ff60}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_the_mailer_can_deliver_to_pass_and_disguises_do_not() {
        for ok in [
            "a@example.com",
            " Bob.Smith+tag@mail.example.co.uk ",
            "x@xn--exmple-cua.de",
            "a@xn--80ak6aa92e.com",
            "a@b.xn--55qx5d",
            "a@b.XN--P1AI",
        ] {
            assert!(deliverable(ok), "{ok}");
        }
        for idn in [
            "a@xn--80ak6aa92e.com",
            "a@b.xn--55qx5d",
            "a@b.xn--p1ai",
            "x@xn--exmple-cua.de",
        ] {
            assert!(idn_labels_valid(idn), "{idn}");
        }
        // Not A-labels, or labels for symbols, emoji, unassigned code points (what
        // `format: email` checkers refuse too).
        for bad in [
            "a@xn--o.com",
            "a@b.xn--a",
            "a@xn--ab.com",
            "a@b.xn--9",
            "a@b.xn--zz-",
            "a@b.xn--cw0hbb",
            "a@xn--ls8h.la",
            "a@xn--a-ecp.ru",
            "a@b.xn--chb",
            "a@b.xn--n7j",
            "a@b.xn--th2o",
        ] {
            assert!(!idn_labels_valid(bad), "{bad}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for bad in [
            "bob<attacker@evil.com>",
            "<script>x</script>@example.com",
            "a@[127.0.0.1]",
            "a@example.com.",
            "a@.example.com",
            "a@localhost",
            "adm\u{202e}moc.evil@example.com",
            "a\u{200b}b@example.com",
            "ａ@example.com",
            "a..b@example.com",
            long_local.as_str(),
            long_label.as_str(),
        ] {
            assert!(!deliverable(bad), "{bad:?}");
        }
    }
}
