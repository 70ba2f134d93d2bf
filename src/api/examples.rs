//! The values the spec shows as examples, and the way named examples reach a media type.
//!
//! poem-openapi puts examples on schemas only. A media type's named `examples` (one per error
//! code of a status) travel inside the generated document as a marked `example` on an inline
//! `allOf` wrapper, built here from real values, and [`crate::api::spec`] lifts them to the
//! media type where OpenAPI wants them.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use serde_json::{Map, Value, json};
use uuid::{Uuid, uuid};

/// The organization of every example: the development organization, so "Try it out" works.
pub const ORG_ID: Uuid = crate::config::DEVELOPMENT_ORG_ID;
pub const INVITATION_ID: Uuid = uuid!("0193a5b2-6c1e-7f3a-9d4b-5e2f8a1c7b90");
pub const WEBHOOK_ID: Uuid = uuid!("0193a5b2-8e21-7b3c-9d4e-5f60718293a4");
pub const NEW_EMAIL: &str = "alex@example.com";
pub const USER_ID: &str = "user_2p7Xk9";
pub const INVITER_ID: &str = "dev-admin";
pub const TOKEN: &str = "elWEUKsnx-U4tohJv3btoqfCbuj2XlS5f2H2bbTWbtA";
pub const TIMESTAMP: &str = "2026-11-26T09:30:00.123Z";
pub const LATER: &str = "2026-12-03T09:30:00.123Z";

/// The key under which named examples travel until [`crate::api::spec`] lifts them.
pub const MARKER: &str = "x-voke-examples";

/// One named example of a media type.
pub struct Named {
    pub name: String,
    pub summary: String,
    pub value: Value,
}

/// `schema` carrying `examples` for its media type.
pub fn carry(schema: MetaSchemaRef, examples: Vec<Named>) -> MetaSchemaRef {
    if examples.is_empty() {
        return schema;
    }
    let named: Map<String, Value> = examples
        .into_iter()
        .map(|e| (e.name, json!({ "summary": e.summary, "value": e.value })))
        .collect();
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        all_of: vec![schema],
        example: Some(json!({ MARKER: named })),
        ..MetaSchema::ANY
    }))
}
