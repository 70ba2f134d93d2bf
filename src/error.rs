//! The one mapping from failure to HTTP: status, stable code, reason phrase and envelope.

mod framework;

pub use framework::from_poem_error;
use poem::{
    Response,
    error::ResponseError,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{Enum, Object, types::ToJSON};
use uuid::Uuid;

use crate::service::{ServiceError, Transition};

/// The stable, machine-readable error code carried by every error response.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    ValidationError,
    InvalidUuid,
    Unauthorized,
    Forbidden,
    OrgContextRequired,
    OrgMembershipRequired,
    InsufficientOrgPermissions,
    InvitationNotFound,
    NotFound,
    Conflict,
    AlreadyAMember,
    InvitationTokenMissing,
    InvitationExpired,
    InvitationAlreadyAccepted,
    InvitationEmailMismatch,
    TooManyRequests,
    ServiceUnavailable,
    InternalServerError,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
}

/// Extra, code-specific information about an error.
#[derive(Object, Clone, Debug, Default, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// For `VALIDATION_ERROR`: one human-readable line per offending field, such as
    /// `limit: must be at most 100`. Absent for every other code.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<String>>,
    /// For `CONFLICT` on create and resend: the live pending invitation for that email.
    #[oai(skip_serializing_if_is_none)]
    pub invitation_id: Option<Uuid>,
}

/// The error envelope returned with every 4xx and 5xx response.
#[derive(Object, Clone, Debug, PartialEq)]
#[oai(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status code of the response.
    #[oai(validator(minimum(value = "400"), maximum(value = "599")))]
    pub status_code: u16,
    /// A human-readable description of what went wrong.
    pub message: String,
    /// The HTTP reason phrase of the status code, such as `Conflict`.
    pub error: String,
    /// The stable machine-readable error code.
    pub code: ErrorCode,
    /// Code-specific details; an empty object when there is nothing to add.
    pub details: ErrorDetails,
}

/// Every failure the service reports. Handlers and services return these; only this module
/// decides what they look like on the wire.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Validation failed")]
    Validation(Vec<String>),
    #[error("{0} must be a UUID")]
    InvalidUuid(&'static str),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("The x-org-id header is required for this operation")]
    OrgContextRequired,
    #[error("You are not a member of this organization")]
    OrgMembershipRequired,
    #[error("Your role in this organization does not allow this operation")]
    InsufficientOrgPermissions,
    #[error("Invitation not found")]
    InvitationNotFound,
    #[error("Cannot {method} {path}")]
    NotFound { method: String, path: String },
    #[error("Webhook not found")]
    WebhookNotFound,
    #[error("{message}")]
    Conflict {
        message: &'static str,
        invitation_id: Option<Uuid>,
    },
    #[error("This email already belongs to a member of this organization")]
    AlreadyAMember,
    #[error("An invitation token is required")]
    InvitationTokenMissing,
    #[error("This invitation has expired")]
    InvitationExpired,
    #[error("This invitation has already been accepted")]
    InvitationAlreadyAccepted,
    #[error("This invitation was sent to a different email address")]
    InvitationEmailMismatch,
    #[error("Too many requests, retry later")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("This invitation was emailed too recently to resend it yet; retry later")]
    ResendCooldown { retry_after_secs: u64 },
    #[error("This Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("A request with this Idempotency-Key is still in progress")]
    IdempotencyKeyInUse,
    #[error("The service is temporarily unavailable")]
    ServiceUnavailable(#[source] anyhow::Error),
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
    #[error("Method not allowed")]
    MethodNotAllowed { allow: Option<String> },
    #[error("Request body exceeds the 64 KiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
}

/// What a 503 tells clients to wait before retrying.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 5;

pub const CONFLICT_PENDING_EXISTS: &str = "A pending invitation already exists for this email";

impl ApiError {
    /// Wraps an unexpected failure; the cause is logged, never sent.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn validation(line: impl Into<String>) -> Self {
        Self::Validation(vec![line.into()])
    }

    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Self::BadRequest(_) => C::BadRequest,
            Self::Validation(_) => C::ValidationError,
            Self::InvalidUuid(_) => C::InvalidUuid,
            Self::Unauthorized(_) => C::Unauthorized,
            Self::Forbidden(_) => C::Forbidden,
            Self::OrgContextRequired => C::OrgContextRequired,
            Self::OrgMembershipRequired => C::OrgMembershipRequired,
            Self::InsufficientOrgPermissions => C::InsufficientOrgPermissions,
            Self::InvitationNotFound => C::InvitationNotFound,
            Self::NotFound { .. } | Self::WebhookNotFound => C::NotFound,
            Self::Conflict { .. } => C::Conflict,
            Self::AlreadyAMember => C::AlreadyAMember,
            Self::InvitationTokenMissing => C::InvitationTokenMissing,
            Self::InvitationExpired => C::InvitationExpired,
            Self::InvitationAlreadyAccepted => C::InvitationAlreadyAccepted,
            Self::InvitationEmailMismatch => C::InvitationEmailMismatch,
            Self::TooManyRequests { .. } | Self::ResendCooldown { .. } => C::TooManyRequests,
            Self::IdempotencyKeyReused => C::IdempotencyKeyReused,
            Self::IdempotencyKeyInUse => C::IdempotencyKeyInUse,
            Self::ServiceUnavailable(_) => C::ServiceUnavailable,
            Self::Internal(_) => C::InternalServerError,
            Self::MethodNotAllowed { .. } => C::MethodNotAllowed,
            Self::PayloadTooLarge => C::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => C::UnsupportedMediaType,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let status = self.status();
        let details = match self {
            Self::Validation(errors) => ErrorDetails {
                errors: Some(errors.clone()),
                ..ErrorDetails::default()
            },
            Self::Conflict { invitation_id, .. } => ErrorDetails {
                invitation_id: *invitation_id,
                ..ErrorDetails::default()
            },
            _ => ErrorDetails::default(),
        };
        ErrorBody {
            status_code: status.as_u16(),
            message: self.to_string(),
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
            code: self.code(),
            details,
        }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        use ErrorCode as C;
        match self.code() {
            C::BadRequest | C::ValidationError | C::InvalidUuid | C::InvitationTokenMissing => {
                StatusCode::BAD_REQUEST
            }
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::Forbidden
            | C::OrgContextRequired
            | C::OrgMembershipRequired
            | C::InsufficientOrgPermissions
            | C::InvitationExpired
            | C::InvitationEmailMismatch => StatusCode::FORBIDDEN,
            C::InvitationNotFound | C::NotFound => StatusCode::NOT_FOUND,
            C::Conflict
            | C::AlreadyAMember
            | C::InvitationAlreadyAccepted
            | C::IdempotencyKeyInUse => StatusCode::CONFLICT,
            C::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            C::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            C::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            C::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn as_response(&self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            let cause = match self {
                Self::Internal(e) | Self::ServiceUnavailable(e) => format!("{e:#}"),
                other => other.to_string(),
            };
            tracing::error!(status = status.as_u16(), code = ?self.code(), %cause, "request failed");
        }
        let json = self
            .body()
            .to_json()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "{}".to_owned());
        let mut response = Response::builder()
            .status(status)
            .content_type("application/json; charset=utf-8")
            .body(json);
        match self {
            Self::ServiceUnavailable(_) => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(RETRY_AFTER_UNAVAILABLE_SECS),
                );
            }
            Self::TooManyRequests { retry_after_secs }
            | Self::ResendCooldown { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::MethodNotAllowed { allow: Some(allow) } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::InvitationNotFound => Self::InvitationNotFound,
            ServiceError::WebhookNotFound => Self::WebhookNotFound,
            ServiceError::UnsafeWebhookUrl(reason) => {
                Self::Validation(vec![format!("url: {reason}")])
            }
            ServiceError::AlreadyAMember => Self::AlreadyAMember,
            ServiceError::InvalidEmail => {
                Self::Validation(vec!["email: must be a valid email address".to_owned()])
            }
            ServiceError::PendingExists { existing } => Self::Conflict {
                message: CONFLICT_PENDING_EXISTS,
                invitation_id: existing,
            },
            ServiceError::NotAllowed(Transition::Revoke) => {
                Self::BadRequest("Invitation cannot be revoked in its current state".to_owned())
            }
            ServiceError::NotAllowed(Transition::Resend) => {
                Self::BadRequest("Invitation cannot be resent in its current state".to_owned())
            }
            ServiceError::NotAllowed(Transition::Update) => {
                Self::BadRequest("Invitation cannot be updated in its current state".to_owned())
            }
            ServiceError::ExpiryOutOfBounds { max } => Self::Validation(vec![format!(
                "expiresAt: must be between 5 minutes and {} from now",
                humantime::format_duration(max)
            )]),
            ServiceError::ResendTooSoon { wait } => Self::ResendCooldown {
                // Whole seconds, rounded up, and at least one.
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            },
            ServiceError::TokenMissing => Self::InvitationTokenMissing,
            ServiceError::Expired => Self::InvitationExpired,
            ServiceError::AlreadyAccepted => Self::InvitationAlreadyAccepted,
            ServiceError::EmailMismatch => Self::InvitationEmailMismatch,
            ServiceError::Unavailable(e) => Self::ServiceUnavailable(e.into()),
            ServiceError::Database(e) => Self::Internal(e.into()),
            ServiceError::Internal(what) => Self::Internal(anyhow::anyhow!(what)),
        }
    }
}

#[cfg(test)]
mod tests;
