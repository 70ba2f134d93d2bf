//! What a consumer sees in Swagger UI: realistic examples everywhere, error examples that
//! belong to their status, and examples that the server itself accepts.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn spec() -> Value {
    serde_json::from_str(&voke_invitations::startup::openapi_json()).expect("json")
}

/// Follows a `$ref` into `components/schemas`.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &spec["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    }
}

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn every_parameter_request_body_and_response_has_an_example() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        for param in op["parameters"].as_array().into_iter().flatten() {
            let schema = resolve(&spec, &param["schema"]);
            let listed = schema["enum"].is_array();
            assert!(
                !param["schema"]["example"].is_null() || listed,
                "{method} {path}: parameter {} has no example",
                param["name"]
            );
        }
        for media in op["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let schema = resolve(&spec, &media.1["schema"]);
            assert!(
                !schema["example"].is_null(),
                "{method} {path}: body example"
            );
        }
        for (status, response) in op["responses"].as_object().expect("responses") {
            for (_, media) in response["content"].as_object().into_iter().flatten() {
                let has_example = !resolve(&spec, &media["schema"])["example"].is_null()
                    || media["examples"].is_object();
                assert!(has_example, "{method} {path}: {status} has no example");
            }
        }
    }
}

#[test]
fn each_error_status_shows_envelopes_of_that_status_named_by_code() {
    let spec = spec();
    for (method, path, op) in operations(&spec) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            let code: u16 = status.parse().expect("numeric status");
            if code < 400 {
                continue;
            }
            let media = &response["content"]["application/json; charset=utf-8"];
            let examples = media["examples"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: {status} has no named examples"));
            for (name, example) in examples {
                let value = &example["value"];
                assert_eq!(value["statusCode"], code, "{method} {path} {status} {name}");
                assert_eq!(value["code"], name.as_str(), "{method} {path} {status}");
                let description = response["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains(name.as_str()),
                    "{path} {status} {name}"
                );
            }
        }
    }
    let conflict = &spec["paths"]["/api/v1/invitations"]["post"]["responses"]["409"]["content"]["application/json; charset=utf-8"]
        ["examples"];
    assert!(conflict["CONFLICT"]["value"]["details"]["invitationId"].is_string());
    assert_eq!(conflict["ALREADY_A_MEMBER"]["value"]["error"], "Conflict");
}

#[test]
fn the_spec_says_what_strict_validators_need() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let role = &schemas["CreateInvitationRequest"]["properties"]["role"];
    assert_eq!(role["nullable"], true);
    assert!(
        role["enum"]
            .as_array()
            .expect("enum")
            .contains(&Value::Null)
    );
    assert!(role.get("allOf").is_none(), "{role}");
    for schema in ["Invitation", "InvitationLookup", "Member"] {
        assert_eq!(schemas[schema]["properties"]["email"]["format"], "email");
    }
    assert_eq!(
        schemas["InvitationTokenRequest"]["properties"]["token"]["maxLength"],
        128
    );
    for field in ["page", "limit", "total", "totalPages"] {
        assert_eq!(schemas["PageMeta"]["properties"][field]["format"], "int64");
    }
    let created = &spec["paths"]["/api/v1/invitations"]["post"]["responses"]["201"];
    assert!(created["headers"]["Location"].is_object(), "{created}");
    let description = spec["info"]["description"].as_str().unwrap_or_default();
    assert!(description.contains("405 METHOD_NOT_ALLOWED"));
    let text = spec.to_string();
    assert!(!text.contains("uint32") && !text.contains("uint64"));
    assert!(
        !text.contains("x-voke-examples"),
        "carried examples are lifted"
    );
}

#[tokio::test]
async fn the_create_example_is_accepted_by_the_server_and_role_null_means_viewer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let spec = spec();
    let example = spec["components"]["schemas"]["CreateInvitationRequest"]["example"].clone();
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(example.clone())
        .send()
        .await;
    resp.assert_status(201);
    assert_eq!(resp.body["email"], example["email"]);
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "nobody-special@example.com", "role": null }))
        .send()
        .await;
    resp.assert_status(201);
    assert_eq!(resp.body["role"], "VIEWER");
}
