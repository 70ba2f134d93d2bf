//! Per-operation error documentation: each operation lists exactly the statuses it can
//! return, all with the error envelope, and shows one named example per error code of each
//! status, rendered from the very [`ApiError`] values the server returns.

use std::marker::PhantomData;

use poem_openapi::{
    ApiResponse,
    registry::{
        MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
    },
    types::{ToJSON, Type},
};

use crate::{
    api::examples::{self, Named},
    error::{ApiError, ErrorBody},
};

/// One documented failure status of an operation.
pub struct ErrorDoc {
    pub status: u16,
    pub description: &'static str,
    /// One example per error code this status can carry here.
    pub examples: &'static [fn() -> ApiError],
}

impl ErrorDoc {
    /// The headers this status carries: a 4xx of a limited operation says where the request
    /// stands in its limits, a 429 also when to retry, and a 503 when to retry.
    pub fn headers(&self) -> Vec<MetaHeader> {
        let retry_after = MetaHeader {
            name: "Retry-After".to_owned(),
            description: Some("Whole seconds to wait before retrying (at least 1).".to_owned()),
            required: true,
            deprecated: false,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                example: Some(serde_json::json!(12)),
                minimum: Some(1.0),
                ..MetaSchema::new_with_format("integer", "int32")
            })),
        };
        match self.status {
            429 => std::iter::once(retry_after)
                .chain(crate::api::responses::rate_limit_headers())
                .collect(),
            400..=499 => crate::api::responses::rate_limit_headers(),
            503 => vec![retry_after],
            _ => vec![],
        }
    }

    /// The named examples: the envelope of each example error, keyed by its code.
    pub fn named_examples(&self) -> Vec<Named> {
        self.examples
            .iter()
            .map(|example| {
                let error = example();
                let body = error.body();
                let name = body
                    .code
                    .to_json()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                Named {
                    name,
                    summary: body.message.clone(),
                    value: body.to_json().unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// The statuses one operation can fail with.
pub trait ErrorSet: Send + Sync + 'static {
    const RESPONSES: &'static [&'static ErrorDoc];
}

/// The failure side of an operation's result: any [`ApiError`], documented as the statuses of
/// `S`.
#[derive(Debug)]
pub struct ErrorResponse<S: ErrorSet> {
    error: ApiError,
    _set: PhantomData<S>,
}

impl<S: ErrorSet, E: Into<ApiError>> From<E> for ErrorResponse<S> {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
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
                .map(|doc| MetaResponse {
                    description: doc.description,
                    status: Some(doc.status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: examples::carry(ErrorBody::schema_ref(), doc.named_examples()),
                    }],
                    headers: doc.headers(),
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// Declares an [`ErrorSet`] from the documents in [`docs`].
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: [$($response:expr),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl $crate::api::errors::ErrorSet for $name {
            const RESPONSES: &'static [&'static $crate::api::errors::ErrorDoc] = &[$(&$response),+];
        }
    };
}
pub(crate) use error_set;

pub mod docs;
