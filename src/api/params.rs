//! Example values of query parameters, for the spec. (Enum parameters need none: the spec
//! lists their values.)

pub fn email_filter_example() -> Option<String> {
    Some("example.com".to_owned())
}

/// A cursor as `meta.nextCursor` gives it (opaque).
pub fn cursor_example() -> Option<String> {
    Some("AQAAAAAAAAACAAZhmwUo4g6m9Nsf71pKz53mrKORvz8xP4z3niCmXHhQgbND6dYnjw".to_owned())
}
