//! Paging and plain confirmations.

use poem_openapi::{Object, types::Example};

/// The default `page`.
pub fn default_page() -> i64 {
    1
}

/// The default `limit`.
pub fn default_limit() -> i64 {
    20
}

/// Where a page sits in the whole result.
#[derive(Object, Clone, Debug, PartialEq, Eq)]
#[oai(rename_all = "camelCase", example)]
pub struct PageMeta {
    /// The page returned, starting at 1.
    pub page: i64,
    /// The page size requested.
    pub limit: i64,
    /// How many items match in all.
    pub total: i64,
    /// `ceil(total / limit)`; 0 when there are no items.
    pub total_pages: i64,
}

impl Example for PageMeta {
    fn example() -> Self {
        Self::new(1, 20, 1)
    }
}

/// The validated `page` and `limit` query values as page numbers. The parameters' validators
/// bound both to 1..2^31-1, so the fallbacks (the defaults) are never used.
pub fn paging(page: i64, limit: i64) -> (u64, u64) {
    (
        u64::try_from(page).unwrap_or(1),
        u64::try_from(limit).unwrap_or(20),
    )
}

impl PageMeta {
    pub fn new(page: u64, limit: u64, total: u64) -> Self {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            page: signed(page),
            limit: signed(limit),
            total: signed(total),
            total_pages: signed(total.div_ceil(limit.max(1))),
        }
    }
}

/// A plain confirmation.
#[derive(Object, Clone, Debug, PartialEq, Eq)]
pub struct MessageResponse {
    /// What happened, in words.
    pub message: String,
}

impl MessageResponse {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.to_owned(),
        }
    }
}
