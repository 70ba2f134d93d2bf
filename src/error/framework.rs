//! Errors poem and poem-openapi raise before (or instead of) a handler, mapped onto
//! [`ApiError`] with the real status kept and validator messages turned into `field: problem`.

use poem::{
    error::{MethodNotAllowedError, NotFoundError, ParsePathError, ReadBodyError},
    http::StatusCode,
};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseMultipartError, ParseParamError,
    ParseRequestPayloadError,
};

use super::ApiError;

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
}
