//! The HTTP edge a browser UI and an operator meet: request ids (§9.3) and CORS (§9.4).

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_valid_request_id_is_echoed_and_an_absent_or_invalid_one_is_generated() {
    let app = spawn_app().await;
    let resp = app
        .get("/healthz")
        .header("x-request-id", "trace-42.a_b")
        .send()
        .await;
    assert_eq!(resp.headers["x-request-id"], "trace-42.a_b");

    let generated = app.get("/healthz").send().await.headers["x-request-id"].clone();
    let generated = generated.to_str().expect("ascii");
    let uuid = uuid::Uuid::try_parse(generated).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 7);

    let long = "x".repeat(129);
    for invalid in ["has space", "semi;colon", long.as_str(), "ünï"] {
        let resp = app
            .get("/healthz")
            .header("x-request-id", invalid)
            .send()
            .await;
        let echoed = resp.headers["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_ne!(echoed, invalid);
        assert!(uuid::Uuid::try_parse(&echoed).is_ok(), "{echoed}");
    }
    // Errors carry it too, the envelope's framework errors included.
    let resp = app
        .get("/nope")
        .header("x-request-id", "err-1")
        .send()
        .await;
    resp.assert_error(404, "NOT_FOUND");
    assert_eq!(resp.headers["x-request-id"], "err-1");
}

const ORIGIN: &str = "https://admin.example.com";

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_before_authentication() {
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", ORIGIN)]).await;
    let resp = app
        .request(poem::http::Method::OPTIONS, "/api/v1/invitations")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-org-id",
        )
        .send()
        .await;
    resp.assert_status(204);
    assert_eq!(resp.headers["access-control-allow-origin"], ORIGIN);
    let methods = resp.headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    for method in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = resp.headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii");
    for name in [
        "authorization",
        "content-type",
        "x-org-id",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }

    // A simple request: the browser may read the documented headers of the answer.
    let admin = app.admin().await;
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .header("origin", ORIGIN)
        .json(serde_json::json!({ "email": "cors@example.com" }))
        .send()
        .await;
    resp.assert_status(201);
    assert_eq!(resp.headers["access-control-allow-origin"], ORIGIN);
    let exposed = resp.headers["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    for name in [
        "location",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "x-request-id",
        "idempotent-replayed",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn a_refused_origin_gets_no_cors_grant_and_no_origins_means_no_cors_headers() {
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", ORIGIN)]).await;
    let resp = app
        .request(poem::http::Method::OPTIONS, "/api/v1/invitations")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    resp.assert_error(403, "FORBIDDEN");
    assert!(resp.headers.get("access-control-allow-origin").is_none());
    // A simple request from a refused origin is refused too, and grants nothing.
    let resp = app
        .get("/healthz")
        .header("origin", "https://evil.example")
        .send()
        .await;
    resp.assert_error(403, "FORBIDDEN");
    assert!(resp.headers.get("access-control-allow-origin").is_none());

    let plain = spawn_app().await;
    let resp = plain.get("/healthz").header("origin", ORIGIN).send().await;
    resp.assert_status(200);
    assert!(resp.headers.get("access-control-allow-origin").is_none());
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_id() {
    let app = spawn_app().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    app.get("/api/v1/invitations")
        .header("x-request-id", "log-7")
        .send()
        .await;
    drop(_guard);
    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let line = text
        .lines()
        .find(|l| l.contains("\"message\":\"request\""))
        .unwrap_or_else(|| panic!("no request line in {text}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("json line");
    assert_eq!(json["span"]["request_id"], "log-7", "{line}");
    assert_eq!(json["fields"]["status"], 401);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_show_the_pool_and_outbox() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "metrics@example.com", None).await;
    let id = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    let resp = app.get("/metrics").send().await;
    resp.assert_status(200);
    assert!(
        resp.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = resp.text;
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/invitations/{id}",status="404"}"#
        ),
        "{text}"
    );
    assert!(
        !text.contains(&id.to_string()),
        "raw paths never become labels"
    );
    for series in [
        "http_request_duration_seconds_bucket",
        "db_pool_connections",
        "db_pool_idle_connections",
        r#"outbox_messages{status="PENDING"}"#,
        r#"rate_limited_total{bucket="public"}"#,
        r#"invitation_emails_total{result="sent"}"#,
    ] {
        assert!(text.contains(series), "{series} missing from\n{text}");
    }
    assert!(
        !app.get("/openapi.json")
            .send()
            .await
            .text
            .contains("/metrics")
    );
}

#[tokio::test]
async fn metrics_token_guards_the_scrape_when_set() {
    let app = spawn_app_with(&[("METRICS_TOKEN", "scrape-secret")]).await;
    app.get("/metrics")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let wrong = app.get("/metrics").bearer("scrape-secreT").send().await;
    wrong.assert_error(401, "UNAUTHORIZED");
    app.get("/metrics")
        .bearer("scrape-secret")
        .send()
        .await
        .assert_status(200);
    app.post("/metrics")
        .send()
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
}
