//! The list's keyset cursor and the list page's `meta`.
//!
//! A cursor is base64url (no padding) of 49 bytes: a version byte, the page number it leads
//! to, the last row's `createdAt` (microseconds) and `id`, a fingerprint of the request it
//! continues (organization, filters, limit) and a checksum of all that. It is opaque to
//! clients; the checksum makes an edited or truncated cursor a 400 rather than a wrong page.
//! It is not a secret: forging one only repositions a walk inside the caller's own list.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use poem_openapi::{Object, types::Example};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    api::types::Nullable,
    error::ApiError,
    service::invitations::{ListQuery, Position},
};

const VERSION: u8 = 1;
const LEN: usize = 1 + 8 + 8 + 16 + 8 + 8;

/// Where a page sits in the whole result, and how to continue after it.
#[derive(Object, serde::Serialize, Clone, Debug, PartialEq, Eq)]
#[oai(rename = "InvitationPageMeta", rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The page returned, starting at 1. In cursor mode, the page number the cursor leads
    /// to (pages of `limit` rows counted from the start of the walk).
    pub page: i64,
    /// The page size requested.
    pub limit: i64,
    /// How many items match in all (exact).
    pub total: i64,
    /// `ceil(total / limit)`; 0 when there are no items.
    pub total_pages: i64,
    /// Pass as `cursor` (with the same filters and `limit`) for the next page; `null` when
    /// this is the last page.
    pub next_cursor: Nullable<String>,
}

impl Example for ListMeta {
    fn example() -> Self {
        Self {
            page: 1,
            limit: 20,
            total: 1,
            total_pages: 1,
            next_cursor: Nullable(None),
        }
    }
}

impl ListMeta {
    pub fn new(page: u64, limit: u64, total: u64, next_cursor: Option<String>) -> Self {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            page: signed(page),
            limit: signed(limit),
            total: signed(total),
            total_pages: signed(total.div_ceil(limit.max(1))),
            next_cursor: Nullable(next_cursor),
        }
    }
}

/// A decoded cursor: the page it leads to and the row it continues after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub page: u64,
    pub after: Position,
}

/// The cursor for the page after `page`, continuing after `after`, for this request.
pub fn encode(org: Uuid, query: &ListQuery, page: u64, after: Position) -> String {
    let mut bytes = Vec::with_capacity(LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&page.to_be_bytes());
    bytes.extend_from_slice(&after.created_at.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(after.id.as_bytes());
    bytes.extend_from_slice(&fingerprint(org, query));
    let check = digest(b"voke-cursor-check", &bytes);
    bytes.extend_from_slice(&check);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a cursor back, refusing one that is malformed, edited, or made for another
/// organization, other filters or another `limit`.
pub fn decode(raw: &str, org: Uuid, query: &ListQuery) -> Result<Cursor, ApiError> {
    let invalid = |why: &str| ApiError::validation(format!("cursor: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| invalid("is not a cursor this API issued"))?;
    if bytes.len() != LEN || bytes[0] != VERSION {
        return Err(invalid("is not a cursor this API issued"));
    }
    let (body, check) = bytes.split_at(LEN - 8);
    if digest(b"voke-cursor-check", body) != check {
        return Err(invalid("is corrupted or was modified"));
    }
    if body[33..41] != fingerprint(org, query) {
        return Err(invalid(
            "was issued for other filters or another limit; repeat them unchanged",
        ));
    }
    let num = |range: std::ops::Range<usize>| {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(&body[range]);
        buf
    };
    let page = u64::from_be_bytes(num(1..9));
    let micros = i64::from_be_bytes(num(9..17));
    let created_at = DateTime::<Utc>::from_timestamp_micros(micros)
        .ok_or_else(|| invalid("is not a cursor this API issued"))?;
    let id =
        Uuid::from_slice(&body[17..33]).map_err(|_| invalid("is not a cursor this API issued"))?;
    Ok(Cursor {
        page,
        after: Position { created_at, id },
    })
}

fn fingerprint(org: Uuid, query: &ListQuery) -> [u8; 8] {
    let text = format!(
        "{org}|{:?}|{:?}|{}|{}",
        query.status,
        query.role,
        query.email.as_deref().unwrap_or(""),
        query.limit
    );
    digest(b"voke-cursor-request", text.as_bytes())
}

fn digest(domain: &[u8], data: &[u8]) -> [u8; 8] {
    let hash = Sha256::new()
        .chain_update(domain)
        .chain_update(data)
        .finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash[..8]);
    out
}
