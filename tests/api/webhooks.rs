//! §10.7: webhook endpoints, signed deliveries through the webhook outbox, retries, URL
//! safety, and delivery across instances.

use std::{collections::HashMap, time::Duration};

use serde_json::{Value, json};

use crate::{
    events::events,
    helpers::{Actor, TestApp, spawn_app, spawn_app_with},
    webhook_receiver::{Answer, Receiver},
};

const SECOND: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Registers `url` for `types` and returns (webhook JSON, secret).
async fn register(app: &TestApp, admin: &Actor, url: &str, types: &[&str]) -> (Value, String) {
    let resp = app
        .post("/api/v1/webhooks")
        .acting_as(admin)
        .json(json!({ "url": url, "eventTypes": types, "description": "test receiver" }))
        .send()
        .await;
    resp.assert_status(201);
    let secret = resp.body["secret"].as_str().expect("secret").to_owned();
    (resp.body, secret)
}

async fn deliveries(app: &TestApp, admin: &Actor, webhook: &str) -> Vec<Value> {
    let resp = app
        .get(&format!("/api/v1/webhooks/{webhook}/deliveries?limit=100"))
        .acting_as(admin)
        .send()
        .await;
    resp.assert_status(200);
    resp.body["data"].as_array().expect("data").clone()
}

#[tokio::test]
async fn endpoints_are_registered_listed_read_and_deleted_and_the_secret_shown_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/api/v1/webhooks")
        .acting_as(&admin)
        .json(json!({
            "url": "https://hooks.example.com/voke",
            "eventTypes": ["invitation.accepted", "invitation.declined", "invitation.accepted"],
        }))
        .send()
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created
            .headers
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/webhooks/{id}").as_str())
    );
    let secret = created.body["secret"].as_str().expect("secret");
    let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64");
    assert_eq!(key.len(), 32);
    assert_eq!(
        created.body["eventTypes"],
        json!(["invitation.accepted", "invitation.declined"])
    );
    assert_eq!(created.body["description"], Value::Null);
    assert_eq!(created.body["organizationId"], admin.org.to_string());

    let all = register(
        &app,
        &admin,
        "https://hooks.example.com/all",
        &["*", "invitation.created"],
    )
    .await
    .0;
    assert_eq!(all["eventTypes"], json!(["*"]));
    let untitled = app
        .post("/api/v1/webhooks")
        .acting_as(&admin)
        .json(json!({ "url": "https://hooks.example.com/x", "eventTypes": ["*"], "description": null }))
        .send()
        .await;
    untitled.assert_status(201);
    assert_eq!(untitled.body["description"], Value::Null);
    let untitled = untitled.body["id"].as_str().expect("id").to_owned();
    app.delete(&format!("/api/v1/webhooks/{untitled}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);

    let list = app.get("/api/v1/webhooks").acting_as(&admin).send().await;
    list.assert_status(200);
    assert_eq!(list.body["meta"]["total"], 2);
    assert_eq!(list.body["data"][0]["id"], all["id"], "newest first");
    assert!(!list.text.contains("whsec_"), "secrets are never listed");
    let one = app
        .get(&format!("/api/v1/webhooks/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    one.assert_status(200);
    assert!(one.body.get("secret").is_none());

    // Another organization's admin finds nothing; viewers may not look.
    let stranger = app.admin().await;
    for resp in [
        app.get(&format!("/api/v1/webhooks/{id}"))
            .acting_as(&stranger)
            .send()
            .await,
        app.delete(&format!("/api/v1/webhooks/{id}"))
            .acting_as(&stranger)
            .send()
            .await,
        app.get(&format!("/api/v1/webhooks/{id}/deliveries"))
            .acting_as(&stranger)
            .send()
            .await,
    ] {
        resp.assert_error(404, "NOT_FOUND");
    }
    let viewer = app
        .member(
            admin.org,
            "viewer-w",
            voke_invitations::entity::OrgRole::Viewer,
        )
        .await;
    app.get("/api/v1/webhooks")
        .acting_as(&viewer)
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    app.get("/api/v1/webhooks/nope")
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "INVALID_UUID");

    let deleted = app
        .delete(&format!("/api/v1/webhooks/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    deleted.assert_status(200);
    assert_eq!(deleted.body, json!({ "message": "Webhook deleted" }));
    app.get(&format!("/api/v1/webhooks/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_registrations_are_validation_errors() {
    let app = spawn_app_with(&[("WEBHOOK_ALLOW_HTTP", "false")]).await;
    let admin = app.admin().await;
    for (body, line) in [
        (
            json!({ "url": "http://hooks.example.com/", "eventTypes": ["*"] }),
            "url: must use https",
        ),
        (
            json!({ "url": "not a url", "eventTypes": ["*"] }),
            "url: must be a valid",
        ),
        (
            json!({ "url": "ftp://hooks.example.com/", "eventTypes": ["*"] }),
            "url: must be a valid",
        ),
        (
            json!({ "url": "https://", "eventTypes": ["*"] }),
            "url: must be a valid",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["*"], "description": "x".repeat(501) }),
            "description: must be at most 500",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["*"], "description": 7 }),
            "description",
        ),
        (
            json!({ "url": "https://u:p@hooks.example.com/", "eventTypes": ["*"] }),
            "url: must not carry credentials",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": [] }),
            "eventTypes: must have at least 1 items",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["invitation.exploded"] }),
            "eventTypes[0]",
        ),
        (json!({ "url": "https://hooks.example.com/" }), "eventTypes"),
        (json!({ "eventTypes": ["*"] }), "url"),
    ] {
        let resp = app
            .post("/api/v1/webhooks")
            .acting_as(&admin)
            .json(body.clone())
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        let errors = resp.validation_errors();
        assert!(
            errors.iter().any(|e| e.starts_with(line)),
            "{body}: {errors:?}"
        );
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    let strict = spawn_app_with(&[
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_ALLOW_PRIVATE", "false"),
    ])
    .await;
    let admin = strict.admin().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ] {
        let resp = strict
            .post("/api/v1/webhooks")
            .acting_as(&admin)
            .json(json!({ "url": url, "eventTypes": ["*"] }))
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert!(
            resp.validation_errors()[0].starts_with("url: resolves to"),
            "{url}: {:?}",
            resp.validation_errors()
        );
    }
    let relaxed = spawn_app().await;
    let admin = relaxed.admin().await;
    register(&relaxed, &admin, "http://127.0.0.1:9/hook", &["*"]).await;
}

#[tokio::test]
async fn each_subscribed_receiver_gets_each_event_once_signed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let everything = Receiver::start(Answer::Accept).await;
    let accepted_only = Receiver::start(Answer::Accept).await;
    let (all_hook, all_secret) = register(&app, &admin, &everything.url(), &["*"]).await;
    let (_, accepted_secret) =
        register(&app, &admin, &accepted_only.url(), &["invitation.accepted"]).await;
    // Another organization's events go elsewhere.
    let stranger = app.admin().await;
    app.invite(&stranger, "elsewhere@example.com", None).await;

    let inv = app.invite(&admin, "kim@example.com", None).await;
    let id = inv["id"].as_str().expect("id").to_owned();
    let token = app.outbox_token(&id).await;
    app.post("/api/v1/invitations/accept")
        .bearer(&app.token("user-kim", Some("kim@example.com"), false))
        .json(json!({ "token": token }))
        .send()
        .await
        .assert_status(200);

    let worker = app.webhook_worker(10 * SECOND, DAY);
    let report = worker.deliver_due().await.expect("deliver");
    assert_eq!(report.succeeded, 3, "{report:?}");
    assert_eq!(worker.deliver_due().await.expect("again").succeeded, 0);

    let got = everything.received();
    let types: Vec<String> = got
        .iter()
        .map(|d| d.json()["type"].as_str().expect("type").to_owned())
        .collect();
    assert_eq!(types.len(), 2);
    assert!(types.contains(&"invitation.created".to_owned()));
    assert!(types.contains(&"invitation.accepted".to_owned()));
    let only = accepted_only.received();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].json()["type"], "invitation.accepted");

    let listed = events(&app, &admin, "").await;
    for (delivery, secret) in got
        .iter()
        .map(|d| (d, &all_secret))
        .chain(only.iter().map(|d| (d, &accepted_secret)))
    {
        assert!(delivery.signed_with(secret), "signature of {}", delivery.id);
        assert!(!delivery.signed_with(if secret == &all_secret {
            &accepted_secret
        } else {
            &all_secret
        }));
        assert_eq!(delivery.content_type, "application/json");
        let body = delivery.json();
        assert_eq!(
            body["id"],
            delivery.id.as_str(),
            "webhook-id is the event id"
        );
        let ts: i64 = delivery.timestamp.parse().expect("unix seconds");
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        let same = listed
            .iter()
            .find(|e| e["id"] == body["id"])
            .expect("listed");
        assert_eq!(&body, same, "the body is the event as listEvents shows it");
        assert!(!delivery.body.contains(&token));
    }
    // The crate the Standard Webhooks project publishes agrees.
    let verifier = standardwebhooks::Webhook::new(&all_secret).expect("secret");
    let mut headers = poem::http::HeaderMap::new();
    headers.insert("webhook-id", got[0].id.parse().expect("header"));
    headers.insert(
        "webhook-timestamp",
        got[0].timestamp.parse().expect("header"),
    );
    headers.insert(
        "webhook-signature",
        got[0].signature.parse().expect("header"),
    );
    verifier
        .verify(got[0].body.as_bytes(), &headers)
        .expect("verifies");

    let recorded = deliveries(&app, &admin, all_hook["id"].as_str().expect("id")).await;
    assert_eq!(recorded.len(), 2);
    for d in &recorded {
        assert_eq!(d["status"], "SUCCEEDED");
        assert_eq!(d["attempt"], 1);
        assert_eq!(d["responseStatus"], 204);
        assert_eq!(d["error"], Value::Null);
        assert!(d["attemptedAt"].is_string());
    }
    assert_eq!(
        recorded[0]["eventType"], "invitation.accepted",
        "newest first"
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_a_later_attempt_and_a_dead_one_is_given_up() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let flaky = Receiver::start(Answer::FailFirst(2)).await;
    let (hook, _) = register(&app, &admin, &flaky.url(), &["invitation.created"]).await;
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    app.invite(&admin, "retry@example.com", None).await;
    let worker = app.webhook_worker(10 * SECOND, DAY);

    assert_eq!(worker.deliver_due().await.expect("1").retrying, 1);
    let first = deliveries(&app, &admin, &hook_id).await;
    assert_eq!(first[0]["status"], "RETRYING");
    assert_eq!(first[0]["attempt"], 1);
    assert_eq!(first[0]["responseStatus"], 500);
    assert!(first[0]["error"].as_str().expect("error").contains("500"));
    assert_eq!(worker.deliver_due().await.expect("2").retrying, 1);
    assert_eq!(worker.deliver_due().await.expect("3").succeeded, 1);
    let last = deliveries(&app, &admin, &hook_id).await;
    assert_eq!(last[0]["status"], "SUCCEEDED");
    assert_eq!(last[0]["attempt"], 3);
    assert_eq!(last[0]["error"], Value::Null);
    let got = flaky.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|d| d.id == got[0].id),
        "retries keep the webhook-id"
    );

    // Past the retry window a failure is final.
    let dead = Receiver::start(Answer::FailFirst(usize::MAX)).await;
    let (hook, _) = register(&app, &admin, &dead.url(), &["invitation.created"]).await;
    app.invite(&admin, "dead@example.com", None).await;
    let impatient = app.webhook_worker(10 * SECOND, Duration::ZERO);
    assert_eq!(impatient.deliver_due().await.expect("once").failed, 1);
    let failed = deliveries(&app, &admin, hook["id"].as_str().expect("id")).await;
    assert_eq!(failed[0]["status"], "FAILED");
    assert_eq!(
        impatient.deliver_due().await.expect("again"),
        Default::default()
    );
}

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_another() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let hanging = Receiver::start(Answer::Hang).await;
    let prompt = Receiver::start(Answer::Accept).await;
    register(&app, &admin, &hanging.url(), &["*"]).await;
    register(&app, &admin, &prompt.url(), &["*"]).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = app.webhook_worker(10 * SECOND, DAY);
    let running = tokio::spawn(worker.run(stopped));

    app.invite(&admin, "first@example.com", None).await;
    assert_eq!(prompt.wait_for(1, 5 * SECOND).await.len(), 1);
    // The hanging receiver holds its own attempt; later events still reach the other.
    app.invite(&admin, "second@example.com", None).await;
    let started = std::time::Instant::now();
    assert_eq!(prompt.wait_for(2, 5 * SECOND).await.len(), 2);
    assert!(started.elapsed() < 5 * SECOND);
    assert!(
        !hanging.received().is_empty(),
        "the hanging receiver was tried"
    );
    let _ = stop.send(true);
    tokio::time::timeout(5 * SECOND, running)
        .await
        .expect("the worker stops at once")
        .expect("no panic");
}

#[tokio::test]
async fn deleting_an_endpoint_stops_its_deliveries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Answer::Accept).await;
    let (hook, _) = register(&app, &admin, &receiver.url(), &["*"]).await;
    app.invite(&admin, "queued@example.com", None).await;
    app.delete(&format!(
        "/api/v1/webhooks/{}",
        hook["id"].as_str().expect("id")
    ))
    .acting_as(&admin)
    .send()
    .await
    .assert_status(200);
    app.invite(&admin, "after@example.com", None).await;
    let report = app
        .webhook_worker(10 * SECOND, DAY)
        .deliver_due()
        .await
        .expect("deliver");
    assert_eq!(report, Default::default());
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_name_that_resolves_to_an_internal_address_is_refused_at_delivery() {
    // Registered while allowed; delivered by an instance that does not allow it (as after a
    // DNS change): the resolver refuses the connection and the receiver sees nothing.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Answer::Accept).await;
    let url = format!("http://localhost:{}/hook", receiver.addr.port());
    let (hook, _) = register(&app, &admin, &url, &["*"]).await;
    let literal = Receiver::start(Answer::Accept).await;
    register(&app, &admin, &literal.url(), &["*"]).await;
    app.invite(&admin, "rebind@example.com", None).await;
    use voke_invitations::{service::webhooks, worker};
    let strict = worker::WebhookWorker::new(
        app.db.clone(),
        webhooks::UrlPolicy {
            allow_http: true,
            allow_private: false,
        },
        worker::WebhookConfig::default(),
    )
    .expect("client");
    let report = strict.deliver_due().await.expect("deliver");
    assert_eq!(report.retrying, 2, "{report:?}");
    assert!(receiver.received().is_empty());
    assert!(literal.received().is_empty());
    let recorded = deliveries(&app, &admin, hook["id"].as_str().expect("id")).await;
    let error = recorded[0]["error"].as_str().expect("error");
    assert!(error.contains("internal"), "{error}");
}

#[tokio::test]
async fn two_instances_make_each_attempt_once() {
    let app = spawn_app().await;
    let other = app.second_instance(&[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start(Answer::Accept).await;
    register(&app, &admin, &receiver.url(), &["invitation.created"]).await;
    for n in 0..40 {
        app.invite(&admin, &format!("twice{n}@example.com"), None)
            .await;
    }
    let (one, two) = (
        app.webhook_worker(10 * SECOND, DAY),
        other.webhook_worker(10 * SECOND, DAY),
    );
    let mut succeeded = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(one.deliver_due(), two.deliver_due());
        succeeded += a.expect("one").succeeded + b.expect("two").succeeded;
    }
    assert_eq!(succeeded, 40);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for delivery in receiver.received() {
        *seen.entry(delivery.id).or_default() += 1;
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
}
