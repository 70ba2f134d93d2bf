//! The served OpenAPI document: poem-openapi's output with two normalisations applied, so
//! that linters and client generators read it as intended:
//!
//! - A property that references a schema and has its own description comes out of
//!   poem-openapi as `allOf: [{$ref}, {description}]`; generators such as
//!   openapi-python-client refuse `allOf` members that are not objects. The description already
//!   sits beside `allOf`, so the description-only member is dropped.
//! - Operations without a security requirement get an explicit `security: []`, which says
//!   "public" rather than "not stated".
//! - Named examples of a media type travel inside the generated document as a marked
//!   `example` on an `allOf` wrapper of the real schema ([`crate::api::examples::carry`]);
//!   they are lifted to the media type's `examples`, and the schema is the real one again.

use serde_json::Value;

use crate::api::examples::MARKER;

/// Applies the normalisations and returns pretty JSON ending in a newline (the exact bytes of
/// `openapi/openapi.json`).
pub fn finalize(raw: &str) -> String {
    let mut spec: Value = match serde_json::from_str(raw) {
        Ok(spec) => spec,
        Err(_) => return format!("{raw}\n"),
    };
    lift_named_examples(&mut spec);
    drop_description_only_all_of(&mut spec);
    mark_public_operations(&mut spec);
    let mut out = serde_json::to_string_pretty(&spec).unwrap_or_else(|_| raw.to_owned());
    out.push('\n');
    out
}

fn drop_description_only_all_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get_mut("allOf") {
                members.retain(|m| {
                    !m.as_object()
                        .is_some_and(|o| o.len() == 1 && o.contains_key("description"))
                });
            }
            map.values_mut().for_each(drop_description_only_all_of);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_description_only_all_of),
        _ => {}
    }
}

/// `{schema: {allOf: [S], example: {MARKER: E}}}` becomes `{schema: S, examples: E}`.
fn lift_named_examples(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let carried = map
                .get_mut("schema")
                .and_then(Value::as_object_mut)
                .and_then(|schema| {
                    let named = schema.get_mut("example")?.as_object_mut()?.remove(MARKER)?;
                    let inner = schema.get_mut("allOf")?.as_array_mut()?.pop()?;
                    Some((named, inner))
                });
            if let Some((named, inner)) = carried {
                map.insert("schema".to_owned(), inner);
                map.insert("examples".to_owned(), named);
            }
            map.values_mut().for_each(lift_named_examples);
        }
        Value::Array(items) => items.iter_mut().for_each(lift_named_examples),
        _ => {}
    }
}

fn mark_public_operations(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            if let Some(op) = op.as_object_mut() {
                op.entry("security").or_insert_with(|| Value::Array(vec![]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_only_all_of_members_go_and_public_operations_say_so() {
        let raw = r##"{"paths":{"/a":{"get":{"responses":{}}}},
            "x":{"description":"d","allOf":[{"$ref":"#/r"},{"description":"d"}]}}"##;
        let out: Value = serde_json::from_str(&finalize(raw)).expect("json");
        assert_eq!(out["x"]["allOf"], serde_json::json!([{ "$ref": "#/r" }]));
        assert_eq!(out["x"]["description"], "d");
        assert_eq!(out["paths"]["/a"]["get"]["security"], serde_json::json!([]));
        assert!(finalize(raw).ends_with("}\n"));
    }

    #[test]
    fn carried_examples_move_to_the_media_type() {
        let raw = r##"{"content":{"application/json":{"schema":{"allOf":[{"$ref":"#/E"}],
            "example":{"x-voke-examples":{"CONFLICT":{"summary":"s","value":{"code":"CONFLICT"}}}}}}}}"##;
        let out: Value = serde_json::from_str(&finalize(raw)).expect("json");
        let media = &out["content"]["application/json"];
        assert_eq!(media["schema"], serde_json::json!({ "$ref": "#/E" }));
        assert_eq!(media["examples"]["CONFLICT"]["value"]["code"], "CONFLICT");
    }
}
