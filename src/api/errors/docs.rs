//! The failure statuses operations document, each with example errors of its codes.

mod samples;

use samples::*;

use super::ErrorDoc;

pub const E400_LIST: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: a query parameter is invalid (`details.errors` says \
                  which); `INVALID_UUID`: the `x-org-id` header is not a UUID.",
    examples: &[bad_limit, invalid_org],
};
pub const E400_CREATE: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: the body is invalid (`details.errors` has one line per \
                  field: a bad email or role, an `expiresAt` outside now + 5 minutes .. now + \
                  `INVITATION_MAX_TTL`) or the `Idempotency-Key` header is; `INVALID_UUID`: \
                  the `x-org-id` header is not a UUID.",
    examples: &[bad_email, invalid_org],
};

pub const E400_BULK: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: the body is not an object with an `invitations` array of \
                  1 to 100 items, or the `Idempotency-Key` header is invalid (a bad item is \
                  that item's 400 inside the 200 answer, not this); `INVALID_UUID`: the \
                  `x-org-id` header is not a UUID.",
    examples: &[too_many_items, invalid_org],
};

pub const E400_UPDATE: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: the body sets neither `role` nor `expiresAt`, or sets \
                  one to an invalid value (an unknown role, an `expiresAt` out of bounds); \
                  `BAD_REQUEST`: the invitation is not live and pending; `INVALID_UUID`: the \
                  path id or the `x-org-id` header is not a UUID.",
    examples: &[no_change, not_updatable, invalid_id],
};
pub const E400_UUID: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID.",
    examples: &[invalid_id],
};
pub const E400_REVOKE: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID; \
                  `BAD_REQUEST`: the invitation is not pending (accepted, declined, revoked or \
                  expired).",
    examples: &[invalid_id, not_revocable],
};
pub const E400_RESEND: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID; \
                  `BAD_REQUEST`: the invitation is neither pending nor expired (checked before \
                  the resend cooldown); `VALIDATION_ERROR`: the `Idempotency-Key` header is \
                  invalid.",
    examples: &[invalid_id, not_resendable, bad_key],
};
pub const E400_TOKEN: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`INVITATION_TOKEN_MISSING`: no token, or a blank one; `VALIDATION_ERROR`: a \
                  malformed body or a token that breaks the token's schema.",
    examples: &[token_missing, bad_token],
};
pub const E401: ErrorDoc = ErrorDoc {
    status: 401,
    description: "`UNAUTHORIZED`: the bearer token is missing, malformed, expired, or signed \
                  with another key or algorithm.",
    examples: &[unauthorized],
};
pub const E403_ORG_ADMIN: ErrorDoc = ErrorDoc {
    status: 403,
    description: "`ORG_CONTEXT_REQUIRED`: no `x-org-id` header; `ORG_MEMBERSHIP_REQUIRED`: the \
                  caller is not a member of that organization; `INSUFFICIENT_ORG_PERMISSIONS`: \
                  the caller is not an `ORG_ADMIN` there.",
    examples: &[no_org, not_member, not_admin],
};
pub const E403_ORG_MEMBER: ErrorDoc = ErrorDoc {
    status: 403,
    description: "`ORG_CONTEXT_REQUIRED`: no `x-org-id` header; `ORG_MEMBERSHIP_REQUIRED`: the \
                  caller is not a member of that organization.",
    examples: &[no_org, not_member],
};
pub const E403_TOKEN: ErrorDoc = ErrorDoc {
    status: 403,
    description: "`INVITATION_EXPIRED`: the invitation has expired.",
    examples: &[expired],
};
pub const E403_TOKEN_ACCEPT: ErrorDoc = ErrorDoc {
    status: 403,
    description: "`INVITATION_EXPIRED`: the invitation has expired; \
                  `INVITATION_EMAIL_MISMATCH`: the caller's `email` claim is absent or differs \
                  from the invited email (the invitation stays usable).",
    examples: &[expired, mismatch],
};
pub const E404_INVITATION: ErrorDoc = ErrorDoc {
    status: 404,
    description: "`INVITATION_NOT_FOUND`: no such invitation in the caller's organization.",
    examples: &[not_found],
};
pub const E404_WEBHOOK: ErrorDoc = ErrorDoc {
    status: 404,
    description: "`NOT_FOUND`: no such webhook in the caller's organization.",
    examples: &[webhook_not_found],
};
pub const E400_WEBHOOK: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: the body is invalid (`details.errors` has one line per \
                  field): a URL that is not `https://`, does not resolve, or resolves to a \
                  loopback, private, link-local or metadata address, or an unknown event \
                  type; `INVALID_UUID`: the `x-org-id` header is not a UUID.",
    examples: &[unsafe_url, invalid_org],
};
pub const E400_EVENTS: ErrorDoc = ErrorDoc {
    status: 400,
    description: "`VALIDATION_ERROR`: a query parameter is invalid (`details.errors` says \
                  which); `INVALID_UUID`: the `x-org-id` header or `invitationId` is not a \
                  UUID.",
    examples: &[bad_limit, invalid_org],
};
pub const E404_TOKEN: ErrorDoc = ErrorDoc {
    status: 404,
    description: "`INVITATION_NOT_FOUND`: the token is unknown, or its invitation was revoked \
                  or declined.",
    examples: &[not_found],
};
pub const E409_CREATE: ErrorDoc = ErrorDoc {
    status: 409,
    description: "`ALREADY_A_MEMBER`: the email belongs to a member of the organization; \
                  `CONFLICT`: a pending, unexpired invitation already exists for this email \
                  (`details.invitationId` names it); `IDEMPOTENCY_KEY_IN_USE`: a request with \
                  this `Idempotency-Key` is still running.",
    examples: &[conflict, member, key_in_use],
};

pub const E409_BULK: ErrorDoc = ErrorDoc {
    status: 409,
    description: "`IDEMPOTENCY_KEY_IN_USE`: a request with this `Idempotency-Key` is still \
                  running.",
    examples: &[key_in_use],
};

pub const E422_IDEMPOTENCY: ErrorDoc = ErrorDoc {
    status: 422,
    description: "`IDEMPOTENCY_KEY_REUSED`: this `Idempotency-Key` was used (within 24 hours) \
                  for a different request: another operation, path or body.",
    examples: &[key_reused],
};
pub const E409_RESEND: ErrorDoc = ErrorDoc {
    status: 409,
    description: "`ALREADY_A_MEMBER`: the email now belongs to a member; `CONFLICT`: another \
                  pending invitation exists for this email; `IDEMPOTENCY_KEY_IN_USE`: a \
                  request with this `Idempotency-Key` is still running.",
    examples: &[member, conflict, key_in_use],
};
pub const E409_TOKEN: ErrorDoc = ErrorDoc {
    status: 409,
    description: "`INVITATION_ALREADY_ACCEPTED`: the invitation has already been accepted.",
    examples: &[accepted],
};
pub const E409_ACCEPT: ErrorDoc = ErrorDoc {
    status: 409,
    description: "`INVITATION_ALREADY_ACCEPTED`: the invitation has already been accepted; \
                  `ALREADY_A_MEMBER`: the caller (or the invited email) is already a member.",
    examples: &[accepted, member],
};
pub const E413: ErrorDoc = ErrorDoc {
    status: 413,
    description: "`PAYLOAD_TOO_LARGE`: the body is over 64 KiB.",
    examples: &[too_large],
};
pub const E415: ErrorDoc = ErrorDoc {
    status: 415,
    description: "`UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json`.",
    examples: &[media_type],
};
pub const E429: ErrorDoc = ErrorDoc {
    status: 429,
    description: "`TOO_MANY_REQUESTS`: a rate limit of this operation is spent (`Retry-After` \
                  says when to retry; `RateLimit-Policy` and `RateLimit` say which bucket).",
    examples: &[limited],
};
pub const E429_RESEND: ErrorDoc = ErrorDoc {
    status: 429,
    description: "`TOO_MANY_REQUESTS`: a rate limit of this operation is spent, or the \
                  invitation's latest email is younger than `RESEND_COOLDOWN` (60 s by \
                  default). `Retry-After` says when to retry.",
    // One example per code: the cooldown's, the answer particular to this operation.
    examples: &[cooldown],
};

pub const E500: ErrorDoc = ErrorDoc {
    status: 500,
    description: "`INTERNAL_SERVER_ERROR`: an unexpected failure; the cause is logged, not \
                  returned.",
    examples: &[internal],
};
pub const E503: ErrorDoc = ErrorDoc {
    status: 503,
    description: "`SERVICE_UNAVAILABLE`: the database cannot be reached.",
    examples: &[unavailable],
};

/// Every document, for the test that checks examples against their status.
pub const ALL: &[&ErrorDoc] = &[
    &E400_LIST,
    &E400_CREATE,
    &E400_BULK,
    &E400_UPDATE,
    &E400_UUID,
    &E400_REVOKE,
    &E400_RESEND,
    &E400_TOKEN,
    &E401,
    &E403_ORG_ADMIN,
    &E403_ORG_MEMBER,
    &E403_TOKEN,
    &E403_TOKEN_ACCEPT,
    &E404_INVITATION,
    &E404_TOKEN,
    &E404_WEBHOOK,
    &E400_WEBHOOK,
    &E400_EVENTS,
    &E409_CREATE,
    &E409_BULK,
    &E422_IDEMPOTENCY,
    &E429_RESEND,
    &E409_RESEND,
    &E409_TOKEN,
    &E409_ACCEPT,
    &E413,
    &E415,
    &E429,
    &E500,
    &E503,
];

#[cfg(test)]
mod tests {
    use poem::error::ResponseError;

    use super::*;

    #[test]
    fn every_example_belongs_to_the_status_it_documents() {
        for doc in ALL {
            assert!(!doc.examples.is_empty(), "{} has no example", doc.status);
            for example in doc.examples {
                let error = example();
                assert_eq!(error.status().as_u16(), doc.status, "{error:?}");
                let code = format!("{:?}", error.code()).to_uppercase();
                let shown = doc.description.replace('_', "").to_uppercase();
                assert!(
                    shown.contains(&code),
                    "{} does not mention {code}",
                    doc.status
                );
            }
        }
    }
}
