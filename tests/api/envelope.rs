//! The envelope for everything the framework produces before (or instead of) a handler.

use poem::{EndpointExt, endpoint::make, http::StatusCode};
use serde_json::json;
use std::sync::Arc;
use voke_invitations::middleware::{BODY_LIMIT, envelope};

use crate::helpers::{call_endpoint, spawn_app};

#[tokio::test]
async fn unknown_routes_are_404_not_found() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/api/v1/nothing",
        "/api/v2/invitations",
        "/api/v1/invitations/x/y",
    ] {
        app.get(path).send().await.assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_an_allow_header() {
    let app = spawn_app().await;
    let resp = app
        .request("PUT".parse().expect("m"), "/api/v1/invitations")
        .send()
        .await;
    resp.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(resp.headers["allow"], "GET, POST");
    let resp = app
        .request(
            "PUT".parse().expect("m"),
            &format!("/api/v1/invitations/{}", uuid::Uuid::now_v7()),
        )
        .send()
        .await;
    resp.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(resp.headers["allow"], "DELETE, GET, PATCH");
    let resp = app.post("/healthz").send().await;
    resp.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(resp.headers["allow"], "GET");
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_whether_declared_or_streamed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let big = format!(r#"{{"email":"{}@example.com"}}"#, "a".repeat(BODY_LIMIT));
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .raw("application/json", big.clone())
        .send()
        .await;
    resp.assert_error(413, "PAYLOAD_TOO_LARGE");

    // Exactly at the limit is read (and then judged on its content).
    let padding = BODY_LIMIT - r#"{"email":"x@example.com","p":""}"#.len();
    let at_limit = format!(
        r#"{{"email":"x@example.com","p":"{}"}}"#,
        "a".repeat(padding)
    );
    assert_eq!(at_limit.len(), BODY_LIMIT);
    app.post("/api/v1/invitations")
        .acting_as(&admin)
        .raw("application/json", at_limit)
        .send()
        .await
        .assert_status(201);

    // A chunked body without Content-Length is cut off at the limit too.
    let ep = voke_invitations::startup::build_app(app_state(&app));
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(bytes_of(c)))
            .collect::<Vec<_>>(),
    );
    let req = poem::Request::builder()
        .method(poem::http::Method::POST)
        .uri(poem::http::Uri::from_static("/api/v1/invitations"))
        .header("authorization", format!("Bearer {}", admin.token))
        .header("x-org-id", admin.org.to_string())
        .header("content-type", "application/json")
        .body(poem::Body::from_bytes_stream(stream));
    let resp = call_endpoint(ep, req).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value =
        serde_json::from_str(&resp.into_body().into_string().await.expect("text")).expect("json");
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
}

fn bytes_of(chunk: &[u8]) -> Vec<u8> {
    chunk.to_vec()
}

fn app_state(app: &crate::helpers::TestApp) -> voke_invitations::startup::AppState {
    voke_invitations::startup::AppState {
        db: app.db.clone(),
        verifier: app.verifier.clone(),
        policy: Default::default(),
        http: voke_invitations::config::HttpConfig::default(),
        webhooks: Default::default(),
        load: Default::default(),
    }
}

#[tokio::test]
async fn non_json_bodies_are_415_and_json_suffix_types_are_accepted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        app.post("/api/v1/invitations")
            .acting_as(&admin)
            .raw(ct, r#"{"email":"a@example.com"}"#)
            .send()
            .await
            .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }
    app.post("/api/v1/invitations")
        .acting_as(&admin)
        .raw("", r#"{"email":"a@example.com"}"#)
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post("/api/v1/invitations")
        .acting_as(&admin)
        .raw(
            "application/vnd.voke+json; charset=utf-8",
            r#"{"email":"suffix@example.com"}"#,
        )
        .send()
        .await
        .assert_status(201);
}

#[tokio::test]
async fn malformed_missing_and_non_object_bodies_are_400_validation_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases: [(&str, &str, &str); 7] = [
        ("application/json", "{bad", "body: is not valid JSON"),
        ("application/json", "[1,2]", "body: must be a JSON object"),
        (
            "application/json",
            "\"a@example.com\"",
            "body: must be a JSON object",
        ),
        ("application/json", "null", "body: must be a JSON object"),
        ("application/json", "", "body: is required"),
        ("application/json", "   ", "body: is required"),
        ("", "", "body: is required"),
    ];
    for (ct, body, line) in cases {
        let resp = app
            .post("/api/v1/invitations")
            .acting_as(&admin)
            .raw(ct, body)
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        let errors = resp.validation_errors();
        assert_eq!(errors.len(), 1, "{body:?}: {errors:?}");
        assert!(errors[0].starts_with(line), "{body:?}: {errors:?}");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_envelope_without_internals() {
    let inner = make(|_| async move {
        if true {
            panic!("secret internal detail");
        }
        Ok::<_, poem::Error>(poem::Response::default())
    });
    let inner = Arc::new(inner);
    let ep = make(move |req| {
        envelope(
            inner.clone(),
            Arc::new(voke_invitations::middleware::Edge::bare()),
            req,
        )
    });
    let resp = call_endpoint(ep.boxed(), poem::Request::builder().finish()).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = resp.into_body().into_string().await.expect("text");
    assert!(!text.contains("secret"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body,
        json!({ "statusCode": 500, "message": "Internal server error", "error": "Internal Server Error",
                "code": "INTERNAL_SERVER_ERROR", "details": {} })
    );
}

#[tokio::test]
async fn readiness_reports_503_when_the_database_is_gone_and_health_stays_up() {
    let app = spawn_app().await;
    app.get("/healthz").send().await.assert_status(200);
    let resp = app.get("/readyz").send().await;
    resp.assert_status(200);
    assert_eq!(resp.body, json!({ "status": "ok" }));

    let closed = app.db.clone();
    closed.close_by_ref().await.expect("close pool");
    let resp = app.get("/readyz").send().await;
    resp.assert_error(503, "SERVICE_UNAVAILABLE");
    let resp = app.get("/healthz").send().await;
    assert_eq!(resp.body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn operations_report_503_service_unavailable_when_the_database_is_gone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let root = app.super_admin(admin.org);
    app.db.close_by_ref().await.expect("close pool");
    let resp = app.get("/api/v1/invitations").acting_as(&root).send().await;
    resp.assert_error(503, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn the_spec_documents_answer_only_get_and_say_so_with_405_and_allow() {
    let app = spawn_app().await;
    for path in ["/openapi.json", "/openapi.yaml"] {
        app.get(path).send().await.assert_status(200);
        let resp = app.post(path).json(json!({})).send().await;
        resp.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(resp.headers["allow"], "GET", "{path}");
    }
}
