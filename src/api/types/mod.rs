//! Wire types shared by several resources: timestamps, roles and statuses, ids, emails,
//! tokens, paging. Each custom type's schema is the rule it enforces (`crate::api::validate`).

mod email;
mod enums;
mod idempotency;
mod ids;
mod nullable;
mod paging;
pub(crate) mod scalar;
mod timestamp;
mod token;
mod trimmed;

pub use email::{Email, NewEmail};
pub use enums::{InvitationStatus, Role};
pub use idempotency::IdempotencyKey;
pub use ids::{InvitationId, OrgId, WebhookId, parse_uuid};
pub use nullable::{Nullable, NullableEnum};
pub use paging::{MessageResponse, PageMeta, default_limit, default_page, paging};
pub use timestamp::{NullableTimestamp, Timestamp};
pub use token::{InvitationToken, TOKEN_MAX_LENGTH, TokenQuery};
pub use trimmed::Trimmed;
