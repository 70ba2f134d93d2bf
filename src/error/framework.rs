//! Errors poem and poem-openapi raise before (or instead of) a handler, mapped onto
//! [`ApiError`] by their type, with the real status kept. A refused parameter is explained by
//! checking its raw value against the parameter's own schema ([`RouteTable::refused_param`]),
//! never by reading the framework's message text.

use poem::{
    error::{MethodNotAllowedError, NotFoundError, ParsePathError, ReadBodyError},
    http::StatusCode,
};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseMultipartError, ParseParamError,
    ParseRequestPayloadError,
};

use super::ApiError;
use crate::routes::{Refused, RequestFacts, RouteTable};

/// Turns any error poem or poem-openapi raised (before or inside a handler) into an
/// [`ApiError`], keeping the real status.
pub fn from_poem_error(err: poem::Error, request: &RequestFacts, routes: &RouteTable) -> ApiError {
    if err.is::<ApiError>() {
        return match err.downcast::<ApiError>() {
            Ok(api) => api,
            Err(err) => ApiError::internal(anyhow::anyhow!("{err}")),
        };
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        return routes.refused_param(request, Refused::Named(e.name));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        return routes.refused_param(request, Refused::Path(e.name));
    }
    if err.is::<ParsePathError>() {
        return ApiError::validation("path: is invalid");
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::validation(format!("body: {}", e.reason));
    }
    if let Some(e) = err.downcast_ref::<ParseMultipartError>() {
        return ApiError::validation(format!("body: {}", e.reason));
    }
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        return unsupported_media_type(e);
    }
    if err.is::<AuthorizationError>() {
        return ApiError::Unauthorized("A valid bearer token is required");
    }
    if err.is::<NotFoundError>() {
        return not_found(request);
    }
    if err.is::<MethodNotAllowedError>() {
        return ApiError::MethodNotAllowed {
            allow: routes.allow(&request.path),
        };
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
    from_status(err, request, routes)
}

fn unsupported_media_type(e: &ContentTypeError) -> ApiError {
    match e {
        ContentTypeError::NotSupported { content_type } => ApiError::UnsupportedMediaType(format!(
            "Content-Type `{content_type}` is not supported; send application/json"
        )),
        ContentTypeError::ExpectContentType => ApiError::UnsupportedMediaType(
            "The Content-Type header is required; send application/json".to_owned(),
        ),
    }
}

fn not_found(request: &RequestFacts) -> ApiError {
    ApiError::NotFound {
        method: request.method.clone(),
        path: request.path.clone(),
    }
}

/// Anything else keeps its status, with the envelope of that status.
fn from_status(err: poem::Error, request: &RequestFacts, routes: &RouteTable) -> ApiError {
    match err.status() {
        StatusCode::NOT_FOUND => not_found(request),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
            allow: routes.allow(&request.path),
        },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(err.to_string()),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("A valid bearer token is required"),
        StatusCode::FORBIDDEN => ApiError::Forbidden("Forbidden"),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable(anyhow::anyhow!("{err}")),
        s if s.is_client_error() => ApiError::BadRequest(err.to_string()),
        _ => ApiError::internal(anyhow::anyhow!("{err}")),
    }
}
