//! Example values of query parameters, for the spec. (Enum parameters need none: the spec
//! lists their values.)

pub fn email_filter_example() -> Option<String> {
    Some("example.com".to_owned())
}
