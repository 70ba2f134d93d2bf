//! Per-operation error documentation: each operation lists exactly the statuses it can
//! return, all with the error envelope. The envelope itself is built in `crate::error`.

use std::marker::PhantomData;

use poem_openapi::{
    ApiResponse,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

use crate::error::{ApiError, ErrorBody};

/// The statuses one operation can fail with, each with its description.
pub trait ErrorSet: Send + Sync + 'static {
    const RESPONSES: &'static [(u16, &'static str)];
}

/// The failure side of an operation's result: any [`ApiError`], documented as the statuses of
/// `S`.
#[derive(Debug)]
pub struct ErrorResponse<S: ErrorSet> {
    error: ApiError,
    _set: PhantomData<S>,
}

impl<S: ErrorSet> From<ApiError> for ErrorResponse<S> {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            _set: PhantomData,
        }
    }
}

impl<S: ErrorSet> From<ErrorResponse<S>> for poem::Error {
    fn from(err: ErrorResponse<S>) -> Self {
        poem::Error::from(err.error)
    }
}

impl<S: ErrorSet> ApiResponse for ErrorResponse<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::RESPONSES
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

pub const E400_VALIDATION: (u16, &str) = (
    400,
    "`VALIDATION_ERROR`: a parameter or the body is invalid (`details.errors` says which); \
     `INVALID_UUID`: the `x-org-id` header is not a UUID.",
);
pub const E400_UUID: (u16, &str) = (
    400,
    "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID.",
);
pub const E400_REVOKE: (u16, &str) = (
    400,
    "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID; `BAD_REQUEST`: the \
     invitation is not pending (accepted, declined, revoked or expired).",
);
pub const E401: (u16, &str) = (
    401,
    "`UNAUTHORIZED`: the bearer token is missing, malformed, expired, or signed with another \
     key or algorithm.",
);
pub const E403_ORG_ADMIN: (u16, &str) = (
    403,
    "`ORG_CONTEXT_REQUIRED`: no `x-org-id` header; `ORG_MEMBERSHIP_REQUIRED`: the caller is not \
     a member of that organization; `INSUFFICIENT_ORG_PERMISSIONS`: the caller is not an \
     `ORG_ADMIN` there.",
);
pub const E404_INVITATION: (u16, &str) = (
    404,
    "`INVITATION_NOT_FOUND`: no such invitation in the caller's organization.",
);
pub const E409_CREATE: (u16, &str) = (
    409,
    "`ALREADY_A_MEMBER`: the email belongs to a member of the organization; `CONFLICT`: a \
     pending, unexpired invitation already exists for this email.",
);
pub const E403_ORG_MEMBER: (u16, &str) = (
    403,
    "`ORG_CONTEXT_REQUIRED`: no `x-org-id` header; `ORG_MEMBERSHIP_REQUIRED`: the caller is not \
     a member of that organization.",
);
pub const E400_TOKEN: (u16, &str) = (
    400,
    "`INVITATION_TOKEN_MISSING`: no token, or an empty one; `VALIDATION_ERROR`: a malformed \
     body or a token that is not a string.",
);
pub const E403_TOKEN: (u16, &str) = (403, "`INVITATION_EXPIRED`: the invitation has expired.");
pub const E403_TOKEN_ACCEPT: (u16, &str) = (
    403,
    "`INVITATION_EXPIRED`: the invitation has expired; `INVITATION_EMAIL_MISMATCH`: the \
     caller's `email` claim is absent or differs from the invited email (the invitation stays \
     usable).",
);
pub const E404_TOKEN: (u16, &str) = (
    404,
    "`INVITATION_NOT_FOUND`: the token is unknown, or its invitation was revoked or declined.",
);
pub const E409_TOKEN: (u16, &str) = (
    409,
    "`INVITATION_ALREADY_ACCEPTED`: the invitation has already been accepted.",
);
pub const E409_ACCEPT: (u16, &str) = (
    409,
    "`INVITATION_ALREADY_ACCEPTED`: the invitation has already been accepted; \
     `ALREADY_A_MEMBER`: the caller (or the invited email) is already a member.",
);
pub const E400_RESEND: (u16, &str) = (
    400,
    "`INVALID_UUID`: the path id or the `x-org-id` header is not a UUID; `BAD_REQUEST`: the \
     invitation is neither pending nor expired.",
);
pub const E409_RESEND: (u16, &str) = (
    409,
    "`ALREADY_A_MEMBER`: the email now belongs to a member; `CONFLICT`: another pending \
     invitation exists for this email.",
);
pub const E413: (u16, &str) = (413, "`PAYLOAD_TOO_LARGE`: the body is over 64 KiB.");
pub const E415: (u16, &str) = (
    415,
    "`UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json`.",
);
pub const E500: (u16, &str) = (
    500,
    "`INTERNAL_SERVER_ERROR`: an unexpected failure; the cause is logged, not returned.",
);
pub const E503: (u16, &str) = (
    503,
    "`SERVICE_UNAVAILABLE`: the database cannot be reached.",
);

/// Declares an [`ErrorSet`] from the constants above.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: [$($response:expr),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl $crate::api::errors::ErrorSet for $name {
            const RESPONSES: &'static [(u16, &'static str)] = &[$($response),+];
        }
    };
}
pub(crate) use error_set;
