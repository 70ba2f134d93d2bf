//! The served spec: committed copy, documentation completeness, Swagger UI.

use serde_json::Value;

use crate::helpers::spawn_app;

const REGENERATE: &str = "cargo run -q -- openapi > openapi/openapi.json";

#[tokio::test]
async fn the_committed_spec_is_byte_identical_to_the_served_one() {
    let app = spawn_app().await;
    let resp = app.get("/openapi.json").send().await;
    resp.assert_status(200);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert!(
        committed == resp.text,
        "openapi/openapi.json is out of date; regenerate it with `{REGENERATE}` and review the diff"
    );
    assert!(
        committed.ends_with("}\n"),
        "the committed spec ends with one newline"
    );
    assert_eq!(committed, voke_invitations::startup::openapi_json());
}

#[tokio::test]
async fn every_operation_is_documented_with_id_tag_summary_description_and_envelopes() {
    let spec: Value =
        serde_json::from_str(&voke_invitations::startup::openapi_json()).expect("json");
    let mut ids = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: operationId"));
            assert!(
                id.chars().next().is_some_and(|c| c.is_ascii_lowercase()),
                "{id} is camelCase"
            );
            assert!(!id.contains('_'), "{id} is camelCase");
            ids.push(id.to_owned());
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: description"
            );
            for (status, response) in op["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{id} {status}"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let schema =
                        &response["content"]["application/json; charset=utf-8"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{id} {status}");
                }
            }
            let statuses: Vec<&str> = op["responses"]
                .as_object()
                .expect("r")
                .keys()
                .map(String::as_str)
                .collect();
            let public = ["lookupInvitation", "declineInvitation", "healthz", "readyz"];
            if public.contains(&id) {
                assert_eq!(op["security"], serde_json::json!([]), "{id} is public");
            } else {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{ "bearerAuth": [] }]),
                    "{id}"
                );
                assert!(statuses.contains(&"401"), "{id} documents 401");
            }
            let org_scoped = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == "x-org-id" && p["required"] == true)
            });
            if org_scoped {
                assert!(statuses.contains(&"403"), "{id} documents 403");
            }
            if path.starts_with("/api/") {
                for s in ["500", "503"] {
                    assert!(statuses.contains(&s), "{id} documents {s}");
                }
            }
        }
    }
    for id in [
        "listInvitations",
        "createInvitation",
        "getInvitation",
        "revokeInvitation",
        "healthz",
        "readyz",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing");
    }
    let scheme = &spec["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
}

#[tokio::test]
async fn yaml_spec_swagger_ui_and_root_redirect_are_served() {
    let app = spawn_app().await;
    let resp = app.get("/openapi.yaml").send().await;
    resp.assert_status(200);
    let yaml: Value = serde_yaml::from_str(&resp.text).expect("yaml");
    let json: Value =
        serde_json::from_str(&voke_invitations::startup::openapi_json()).expect("json");
    assert_eq!(yaml, json);

    let resp = app.get("/docs").send().await;
    resp.assert_status(200);
    assert!(resp.text.contains("swagger-ui"), "Swagger UI page");

    let resp = app.get("/").send().await;
    assert!(resp.status.is_redirection());
    assert_eq!(resp.headers["location"], "/docs");
}

#[tokio::test]
async fn docs_and_spec_are_get_only_compressed_and_revalidated_by_etag() {
    let app = spawn_app().await;
    for path in ["/docs", "/openapi.json", "/openapi.yaml"] {
        let resp = app.post(path).json(serde_json::json!({})).send().await;
        resp.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(resp.headers["allow"], "GET", "{path}");

        let resp = app
            .get(path)
            .header("accept-encoding", "gzip")
            .send_raw()
            .await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-encoding"], "gzip", "{path}");
        let etag = resp.headers()["etag"].to_str().expect("etag").to_owned();
        assert_eq!(resp.headers()["cache-control"], "no-cache");
        let again = app
            .get(path)
            .header("if-none-match", &etag)
            .send_raw()
            .await;
        assert_eq!(again.status(), 304, "{path}");
    }
    // Swagger UI shows the served document, normalisations and named examples included.
    let page = app.get("/docs").send().await.text;
    assert!(
        page.contains(
            &voke_invitations::startup::openapi_json()
                .trim_end()
                .to_owned()
        )
    );
}

#[tokio::test]
async fn docs_enabled_false_turns_swagger_ui_off_but_keeps_the_spec() {
    let app = crate::helpers::spawn_app_with(&[("DOCS_ENABLED", "false")]).await;
    app.get("/docs").send().await.assert_error(404, "NOT_FOUND");
    app.get("/").send().await.assert_error(404, "NOT_FOUND");
    app.get("/openapi.json").send().await.assert_status(200);
}
