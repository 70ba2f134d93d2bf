//! The example errors the failure documents show, one constructor each.

use crate::{
    api::examples,
    error::{ApiError, CONFLICT_PENDING_EXISTS},
};

pub(super) fn invalid_org() -> ApiError {
    ApiError::InvalidUuid("x-org-id")
}
pub(super) fn invalid_id() -> ApiError {
    ApiError::InvalidUuid("id")
}
pub(super) fn bad_email() -> ApiError {
    ApiError::validation("email: must be a valid email address")
}
pub(super) fn bad_limit() -> ApiError {
    ApiError::validation("limit: must be at most 100")
}
pub(super) fn bad_token() -> ApiError {
    ApiError::validation("token: has an invalid format")
}
pub(super) fn not_revocable() -> ApiError {
    ApiError::BadRequest("Invitation cannot be revoked in its current state".to_owned())
}
pub(super) fn not_resendable() -> ApiError {
    ApiError::BadRequest("Invitation cannot be resent in its current state".to_owned())
}
pub(super) fn unauthorized() -> ApiError {
    ApiError::Unauthorized("Invalid or expired bearer token")
}
pub(super) fn no_org() -> ApiError {
    ApiError::OrgContextRequired
}
pub(super) fn not_member() -> ApiError {
    ApiError::OrgMembershipRequired
}
pub(super) fn not_admin() -> ApiError {
    ApiError::InsufficientOrgPermissions
}
pub(super) fn not_found() -> ApiError {
    ApiError::InvitationNotFound
}
pub(super) fn webhook_not_found() -> ApiError {
    ApiError::WebhookNotFound
}
pub(super) fn unsafe_url() -> ApiError {
    ApiError::validation(
        "url: resolves to 127.0.0.1, a loopback, private, link-local or reserved address",
    )
}
pub(super) fn conflict() -> ApiError {
    ApiError::Conflict {
        message: CONFLICT_PENDING_EXISTS,
        invitation_id: Some(examples::INVITATION_ID),
    }
}
pub(super) fn member() -> ApiError {
    ApiError::AlreadyAMember
}
pub(super) fn token_missing() -> ApiError {
    ApiError::InvitationTokenMissing
}
pub(super) fn expired() -> ApiError {
    ApiError::InvitationExpired
}
pub(super) fn mismatch() -> ApiError {
    ApiError::InvitationEmailMismatch
}
pub(super) fn accepted() -> ApiError {
    ApiError::InvitationAlreadyAccepted
}
pub(super) fn too_large() -> ApiError {
    ApiError::PayloadTooLarge
}
pub(super) fn media_type() -> ApiError {
    ApiError::UnsupportedMediaType(
        "Content-Type `text/plain` is not supported; send application/json".to_owned(),
    )
}
pub(super) fn limited() -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: 12,
    }
}
pub(super) fn cooldown() -> ApiError {
    ApiError::ResendCooldown {
        retry_after_secs: 42,
    }
}

pub(super) fn key_reused() -> ApiError {
    ApiError::IdempotencyKeyReused
}

pub(super) fn key_in_use() -> ApiError {
    ApiError::IdempotencyKeyInUse
}

pub(super) fn bad_key() -> ApiError {
    ApiError::validation("Idempotency-Key: must be at most 255 characters long")
}

pub(super) fn no_change() -> ApiError {
    ApiError::validation("body: must set role or expiresAt")
}

pub(super) fn too_many_items() -> ApiError {
    ApiError::validation("invitations: must have at most 100 items")
}

pub(super) fn not_updatable() -> ApiError {
    ApiError::BadRequest("Invitation cannot be updated in its current state".to_owned())
}

pub(super) fn internal() -> ApiError {
    ApiError::internal(anyhow::anyhow!("example"))
}
pub(super) fn unavailable() -> ApiError {
    ApiError::ServiceUnavailable(anyhow::anyhow!("example"))
}
