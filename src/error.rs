//! The one mapping from failure to HTTP: status, stable code, reason phrase and envelope.

use poem::{
    Response,
    error::{MethodNotAllowedError, NotFoundError, ParsePathError, ReadBodyError, ResponseError},
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    Enum, Object,
    error::{
        AuthorizationError, ContentTypeError, ParseMultipartError, ParseParamError,
        ParseRequestPayloadError,
    },
    types::ToJSON,
};
use sea_orm::DbErr;

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
}

/// Extra, code-specific information about an error.
#[derive(Object, Clone, Debug, Default, PartialEq)]
pub struct ErrorDetails {
    /// For `VALIDATION_ERROR`: one human-readable line per offending field, such as
    /// `limit: must be at most 100`. Absent for every other code.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<String>>,
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
    #[error("{0}")]
    Conflict(&'static str),
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
            Self::NotFound { .. } => C::NotFound,
            Self::Conflict(_) => C::Conflict,
            Self::AlreadyAMember => C::AlreadyAMember,
            Self::InvitationTokenMissing => C::InvitationTokenMissing,
            Self::InvitationExpired => C::InvitationExpired,
            Self::InvitationAlreadyAccepted => C::InvitationAlreadyAccepted,
            Self::InvitationEmailMismatch => C::InvitationEmailMismatch,
            Self::TooManyRequests { .. } => C::TooManyRequests,
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
            C::Conflict | C::AlreadyAMember | C::InvitationAlreadyAccepted => StatusCode::CONFLICT,
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
            Self::TooManyRequests { retry_after_secs } => {
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

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::ServiceUnavailable(err.into()),
            other => Self::Internal(other.into()),
        }
    }
}

/// Turns any error poem or poem-openapi raised (before or inside a handler) into an
/// [`ApiError`], keeping the real status.
pub fn from_poem_error(err: poem::Error, method: &str, path: &str) -> ApiError {
    if err.is::<ApiError>() {
        return match err.downcast::<ApiError>() {
            Ok(api) => api,
            Err(err) => ApiError::internal(anyhow::anyhow!("{err}")),
        };
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return ApiError::validation(describe_param_error(e.name, &e.reason));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        return if e.reason.contains("\"string_uuid\"") {
            ApiError::InvalidUuid("id")
        } else {
            ApiError::validation(format!("path: {}", e.reason))
        };
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return ApiError::validation(format!("path: {e}"));
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::Validation(describe_payload_error(&e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParseMultipartError>() {
        return ApiError::validation(format!("body: {}", e.reason));
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return match e {
            ContentTypeError::NotSupported { content_type } => ApiError::UnsupportedMediaType(
                format!("Content-Type `{content_type}` is not supported; send application/json"),
            ),
            ContentTypeError::ExpectContentType => ApiError::UnsupportedMediaType(
                "The Content-Type header is required; send application/json".to_owned(),
            ),
        };
    }
    if err.is::<AuthorizationError>() {
        return ApiError::Unauthorized("A valid bearer token is required");
    }
    if err.is::<NotFoundError>() {
        return ApiError::NotFound {
            method: method.to_owned(),
            path: path.to_owned(),
        };
    }
    if err.is::<MethodNotAllowedError>() {
        return ApiError::MethodNotAllowed { allow: None };
    }
    if let Some(e) = err.downcast_ref::<ReadBodyError>() {
        return match e {
            ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge,
            ReadBodyError::Utf8(_) | ReadBodyError::Io(_) => {
                ApiError::validation(format!("body: {e}"))
            }
            ReadBodyError::BodyHasBeenTaken => ApiError::internal(anyhow::anyhow!("{e}")),
        };
    }
    match err.status() {
        StatusCode::NOT_FOUND => ApiError::NotFound {
            method: method.to_owned(),
            path: path.to_owned(),
        },
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed { allow: None },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(err.to_string()),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("A valid bearer token is required"),
        StatusCode::FORBIDDEN => ApiError::Forbidden("Forbidden"),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable(anyhow::anyhow!("{err}")),
        s if s.is_client_error() => ApiError::BadRequest(err.to_string()),
        _ => ApiError::internal(anyhow::anyhow!("{err}")),
    }
}

/// `limit` + `verification failed. maximum(100)` -> `limit: must be at most 100`.
fn describe_param_error(name: &str, reason: &str) -> String {
    format!("{name}: {}", humanize(reason))
}

/// Body errors from poem-openapi name the field inside the text; pull it out.
fn describe_payload_error(reason: &str) -> Vec<String> {
    // `failed to parse "Type": field `email` verification failed. maxLength(254)`
    if let Some(rest) = reason.split_once("field `").map(|(_, r)| r)
        && let Some((field, problem)) = rest.split_once('`')
    {
        let problem = problem.trim_start_matches(':').trim();
        return vec![format!("{field}: {}", humanize(problem))];
    }
    if reason.contains("Expected input type \"object\"") || reason.contains("found null") {
        return vec!["body: must be a JSON object".to_owned()];
    }
    vec![format!("body: {}", humanize(reason))]
}

fn humanize(reason: &str) -> String {
    let reason = reason.trim();
    let reason = reason
        .strip_prefix("verification failed. ")
        .unwrap_or(reason)
        .trim();
    let arg = |prefix: &str| {
        reason
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::to_owned)
    };
    if let Some(n) = reason
        .strip_prefix("maximum(")
        .and_then(|r| r.split([',', ')']).next())
    {
        return format!("must be at most {n}");
    }
    if let Some(n) = reason
        .strip_prefix("minimum(")
        .and_then(|r| r.split([',', ')']).next())
    {
        return format!("must be at least {n}");
    }
    if let Some(n) = arg("maxLength(") {
        return format!("must be at most {n} characters long");
    }
    if let Some(n) = arg("minLength(") {
        return format!("must be at least {n} characters long");
    }
    if reason.contains("\"InvitationStatus\"") {
        return "must be one of PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED".to_owned();
    }
    if reason.contains("\"OrgRole\"") {
        return "must be one of ORG_ADMIN, OPERATOR, VIEWER".to_owned();
    }
    if reason.contains("\"string_uuid\"") {
        return "must be a UUID".to_owned();
    }
    if reason.starts_with("pattern(") && reason.contains(r"[^\x00]*$") {
        return "must not contain NUL characters".to_owned();
    }
    if reason.starts_with("pattern(") {
        return "has an invalid format".to_owned();
    }
    if reason.starts_with("email") {
        return "must be a valid email address".to_owned();
    }
    if reason.contains("\"integer_") {
        return "must be an integer".to_owned();
    }
    if reason.contains("Expected input type \"string\"") {
        return "must be a string".to_owned();
    }
    if reason.contains("field") && reason.contains("required") || reason.contains("expected input")
    {
        return "is required".to_owned();
    }
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_messages_become_field_lines() {
        assert_eq!(
            describe_param_error("limit", "verification failed. maximum(100)"),
            "limit: must be at most 100"
        );
        assert_eq!(
            describe_param_error("page", "verification failed. minimum(1)"),
            "page: must be at least 1"
        );
    }

    #[test]
    fn every_error_renders_an_envelope_whose_status_matches() {
        let err = ApiError::Conflict(CONFLICT_PENDING_EXISTS);
        let body = err.body();
        assert_eq!(body.status_code, 409);
        assert_eq!(body.error, "Conflict");
        assert_eq!(body.code, ErrorCode::Conflict);
        assert_eq!(body.details, ErrorDetails::default());
    }
}
