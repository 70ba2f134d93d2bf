//! JSON request bodies with field-by-field validation messages.
//!
//! poem-openapi's own `Json<T>` reports the first problem without naming the field. `JsonBody<T>`
//! keeps the schema `T` documents in the spec, but parses with `T`'s [`FromJsonBody`], which
//! returns one `field: problem` line per offending field (the contract's `details.errors`).

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::Payload,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parsing a request body from JSON, collecting every field's problem.
pub trait FromJsonBody: Sized {
    fn from_json_body(body: &Map<String, Value>) -> Result<Self, Vec<String>>;
}

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: Type + Send> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(ct) if ct.type_() == "application"
            && (ct.subtype() == "json" || ct.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<'a, T: Type + FromJsonBody + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes().await?;
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        match request.content_type() {
            // No body at all is a missing body, whatever the headers say.
            _ if blank => return Err(ApiError::validation("body: is required").into()),
            Some(ct) if <Self as Payload>::check_content_type(ct) => {}
            Some(ct) => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type `{ct}` is not supported; send application/json"
                ))
                .into());
            }
            None => {
                return Err(ApiError::UnsupportedMediaType(
                    "The Content-Type header is required; send application/json".to_owned(),
                )
                .into());
            }
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::validation(format!("body: is not valid JSON ({e})")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::validation("body: must be a JSON object").into());
        };
        T::from_json_body(&map)
            .map(Self)
            .map_err(|errors| ApiError::Validation(errors).into())
    }
}

/// Reads a required string field; `None` (with the problem recorded) when it is unusable.
pub fn required_string(
    body: &Map<String, Value>,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<String>,
) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => {
            errors.push(format!("{field}: is required"));
            None
        }
        Some(Value::String(s)) => checked_text(field, s, max_chars, errors),
        Some(_) => {
            errors.push(format!("{field}: must be a string"));
            None
        }
    }
}

/// Length and NUL checks shared by every text field.
pub fn checked_text(
    field: &str,
    s: &str,
    max_chars: usize,
    errors: &mut Vec<String>,
) -> Option<String> {
    if s.contains('\0') {
        errors.push(format!("{field}: must not contain NUL characters"));
        None
    } else if s.chars().count() > max_chars {
        errors.push(format!(
            "{field}: must be at most {max_chars} characters long"
        ));
        None
    } else {
        Some(s.to_owned())
    }
}

/// Reads an optional enum field: absent or `null` is `None`.
pub fn optional_enum<E: Copy>(
    body: &Map<String, Value>,
    field: &str,
    values: &[(&str, E)],
    errors: &mut Vec<String>,
) -> Option<E> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if values.iter().any(|(name, _)| name == s) => {
            values.iter().find(|(name, _)| name == s).map(|(_, v)| *v)
        }
        Some(_) => {
            let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
            errors.push(format!("{field}: must be one of {}", names.join(", ")));
            None
        }
    }
}
