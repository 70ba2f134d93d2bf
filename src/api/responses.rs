//! Success responses the `ApiResponse` derive cannot describe exactly: a 201 with a `Location`
//! header spelled as HTTP spells it, and confirmations whose example is their real message.

use std::marker::PhantomData;

use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, Registry},
    types::{ToJSON, Type},
};

use crate::api::{
    examples::{self, Named},
    types::MessageResponse,
};

const JSON: &str = "application/json; charset=utf-8";

/// The IETF rate-limit headers every response of a limited operation carries (§9.1).
pub fn rate_limit_headers() -> Vec<MetaHeader> {
    let header = |name: &str, description: &str, example: &str| MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: false,
        deprecated: false,
        schema: poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
            example: Some(example.into()),
            ..MetaSchema::new("string")
        })),
    };
    vec![
        header(
            "RateLimit-Policy",
            "The limits that apply (draft-ietf-httpapi-ratelimit-headers): quota `q` per window \
             `w` seconds, one entry per bucket.",
            "\"caller\";q=600;w=60, \"writes\";q=120;w=60",
        ),
        header(
            "RateLimit",
            "Where this request leaves each limit: `r` requests remaining, `t` seconds until \
             the bucket is full again.",
            "\"caller\";r=599;t=1, \"writes\";r=119;t=1",
        ),
    ]
}

/// A 200 with a JSON body, documented with `description` and the rate-limit headers: what
/// [`ok_response!`] declares for each read-like operation.
pub fn ok_meta<T: Type>(description: &'static str) -> MetaResponses {
    MetaResponses {
        responses: vec![MetaResponse {
            description,
            status: Some(200),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: JSON,
                schema: T::schema_ref(),
            }],
            headers: rate_limit_headers(),
        }],
    }
}

/// The 200 answer of one operation: `$name($ty)`, serialised as JSON and documented as
/// `$description` with the rate-limit headers.
macro_rules! ok_response {
    ($(#[$doc:meta])* $name:ident($ty:ty), $description:literal) => {
        $(#[$doc])*
        pub struct $name(pub $ty);

        impl poem::IntoResponse for $name {
            fn into_response(self) -> poem::Response {
                $crate::api::responses::json_ok(poem_openapi::types::ToJSON::to_json(&self.0))
            }
        }

        $crate::api::responses::ok_response!(@meta $name($ty), $description);
    };
    // The same, written straight from `$ty`'s `serde::Serialize` (which must give the JSON its
    // `ToJSON` gives: the types' tests compare the two) instead of through a
    // `serde_json::Value` tree: for the bodies that are large and hot (the list, the get).
    ($(#[$doc:meta])* serialize $name:ident($ty:ty), $description:literal) => {
        $(#[$doc])*
        pub struct $name(pub $ty);

        impl poem::IntoResponse for $name {
            fn into_response(self) -> poem::Response {
                $crate::api::responses::json_ok_serialized(&self.0)
            }
        }

        $crate::api::responses::ok_response!(@meta $name($ty), $description);
    };
    (@meta $name:ident($ty:ty), $description:literal) => {
        impl poem_openapi::ApiResponse for $name {
            fn meta() -> poem_openapi::registry::MetaResponses {
                $crate::api::responses::ok_meta::<$ty>($description)
            }

            fn register(registry: &mut poem_openapi::registry::Registry) {
                <$ty as poem_openapi::types::Type>::register(registry);
            }
        }
    };
}
pub(crate) use ok_response;

/// A 200 JSON response.
pub fn json_ok(body: Option<serde_json::Value>) -> Response {
    json_response(StatusCode::OK, body)
}

/// A 200 JSON response written by `body`'s `Serialize`; a body that cannot be written (none
/// of ours: they hold strings, numbers and timestamps) is the 500 envelope, logged.
pub fn json_ok_serialized<T: serde::Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => Response::builder().content_type(JSON).body(bytes),
        Err(err) => poem::error::ResponseError::as_response(&crate::error::ApiError::internal(err)),
    }
}

fn json_response(status: StatusCode, body: Option<serde_json::Value>) -> Response {
    let mut response = poem::web::Json(body).into_response();
    response.set_status(status);
    response
}

/// Something was created: 201 with the new resource and its `Location`.
pub struct Created<T> {
    pub body: T,
    pub location: String,
}

impl<T: ToJSON + Send> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = json_response(StatusCode::CREATED, self.body.to_json());
        if let Ok(value) = self.location.parse() {
            response
                .headers_mut()
                .insert(poem::http::header::LOCATION, value);
        }
        response
    }
}

impl<T: Type + ToJSON + Send> ApiResponse for Created<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Created; `Location` is where the new resource can be read.",
                status: Some(201),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: JSON,
                    schema: T::schema_ref(),
                }],
                headers: [MetaHeader {
                    name: "Location".to_owned(),
                    description: Some("The path of the new resource.".to_owned()),
                    required: true,
                    deprecated: false,
                    schema: poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
                        example: Some(
                            format!("/api/v1/invitations/{}", examples::INVITATION_ID).into(),
                        ),
                        ..MetaSchema::new("string")
                    })),
                }]
                .into_iter()
                .chain(rate_limit_headers())
                .collect(),
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// What a confirmation says: its message and the response's description.
pub trait Said: Send + Sync + 'static {
    const MESSAGE: &'static str;
    const DESCRIPTION: &'static str;
}

/// A 200 `{ "message": S::MESSAGE }`, documented with that very message as its example.
pub struct Confirmation<S: Said>(PhantomData<S>);

impl<S: Said> Confirmation<S> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<S: Said> Default for Confirmation<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Said> IntoResponse for Confirmation<S> {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, MessageResponse::new(S::MESSAGE).to_json())
    }
}

impl<S: Said> ApiResponse for Confirmation<S> {
    fn meta() -> MetaResponses {
        let example = Named {
            name: "confirmation".to_owned(),
            summary: S::MESSAGE.to_owned(),
            value: MessageResponse::new(S::MESSAGE)
                .to_json()
                .unwrap_or_default(),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: S::DESCRIPTION,
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: JSON,
                    schema: examples::carry(MessageResponse::schema_ref(), vec![example]),
                }],
                headers: rate_limit_headers(),
            }],
        }
    }

    fn register(registry: &mut Registry) {
        MessageResponse::register(registry);
    }
}
