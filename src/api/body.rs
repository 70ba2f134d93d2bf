//! JSON request bodies, validated against the schema the spec documents.
//!
//! `JsonBody<T>` documents `T`'s derived schema and checks a body against that same schema
//! with [`crate::api::validate`], reporting one `field: problem` line per offending field (the
//! contract's `details.errors`); only a body that passes is parsed into `T`. poem-openapi's own
//! `Json<T>` would stop at the first problem without naming the field.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    payload::Payload,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

use crate::{
    api::validate::{Schema, Violation},
    error::ApiError,
};

/// A request body type: its schema is the rule, and it may choose how a refusal is reported.
pub trait JsonRequest: Type + ParseFromJSON + Send {
    /// What makes the whole body unacceptable; by default every violation of the schema.
    fn violations(body: &Value) -> Vec<Violation> {
        check::<Self>(body)
    }

    /// The answer to a body that breaks the schema; by default one line per field.
    fn refused(_body: &Value, violations: Vec<Violation>) -> ApiError {
        ApiError::Validation(violations.iter().map(ToString::to_string).collect())
    }
}

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: JsonRequest> Payload for JsonBody<T> {
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

impl<'a, T: JsonRequest> ApiExtractor<'a> for JsonBody<T> {
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
        check_content_type::<Self>(request, &bytes)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::validation(format!("body: is not valid JSON ({e})")))?;
        let violations = T::violations(&value);
        if !violations.is_empty() {
            return Err(T::refused(&value, violations).into());
        }
        T::parse_from_json(Some(value)).map(Self).map_err(|e| {
            // The schema passed, so the type's own parse cannot disagree; if it ever does,
            // that is a bug in the schema, not the client's fault.
            ApiError::internal(anyhow::anyhow!(
                "{} parse after validation: {}",
                T::name(),
                e.into_message()
            ))
            .into()
        })
    }
}

/// No body at all is a missing body, whatever the headers say; otherwise the type must be
/// JSON.
fn check_content_type<P: Payload>(request: &Request, bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation("body: is required"));
    }
    match request.content_type() {
        Some(ct) if P::check_content_type(ct) => Ok(()),
        Some(ct) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type `{ct}` is not supported; send application/json"
        ))),
        None => Err(ApiError::UnsupportedMediaType(
            "The Content-Type header is required; send application/json".to_owned(),
        )),
    }
}

/// `value` checked against `T`'s schema.
pub fn check<T: Type>(value: &Value) -> Vec<Violation> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let root = T::schema_ref();
    Schema {
        root: &root,
        registry: &registry,
    }
    .check("body", value)
}
