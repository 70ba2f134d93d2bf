//! §10.5: `Idempotency-Key` on create, bulk create and resend.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

async fn create(
    app: &TestApp,
    actor: &crate::helpers::Actor,
    key: &str,
    email: &str,
) -> crate::helpers::Resp {
    app.post("/api/v1/invitations")
        .acting_as(actor)
        .header("Idempotency-Key", key)
        .json(json!({ "email": email, "role": "OPERATOR" }))
        .send()
        .await
}

#[tokio::test]
async fn a_retry_replays_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let first = create(&app, &admin, "retry-1", "a@example.com").await;
    first.assert_status(201);
    assert!(first.headers.get("idempotent-replayed").is_none());

    // Same body, other spelling (key order, whitespace): the stored answer, word for word.
    let again = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .header("Idempotency-Key", "retry-1")
        .raw(
            "application/json",
            r#"{ "role" : "OPERATOR", "email" : "a@example.com" }"#,
        )
        .send()
        .await;
    again.assert_status(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.text, first.text);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(app.outbox().await.len(), 1, "one email");

    // Without the key, the same body is a new request: CONFLICT.
    let fresh = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "a@example.com", "role": "OPERATOR" }))
        .send()
        .await;
    fresh.assert_error(409, "CONFLICT");

    // Another body with the key: 422, and nothing created.
    let reused = create(&app, &admin, "retry-1", "b@example.com").await;
    reused.assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    // The same key on another operation is another request too.
    let id = first.body["id"].as_str().expect("id");
    let resend = app
        .post(&format!("/api/v1/invitations/{id}/resend"))
        .acting_as(&admin)
        .header("Idempotency-Key", "retry-1")
        .send()
        .await;
    resend.assert_error(422, "IDEMPOTENCY_KEY_REUSED");

    // Keys belong to a caller in an organization: another admin may use the same one.
    let other = app
        .member(
            admin.org,
            "admin-2",
            voke_invitations::entity::OrgRole::OrgAdmin,
        )
        .await;
    create(&app, &other, "retry-1", "b@example.com")
        .await
        .assert_status(201);
}

#[tokio::test]
async fn client_errors_are_stored_and_replayed_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "taken@example.com", None).await;
    let first = create(&app, &admin, "k-409", "taken@example.com").await;
    first.assert_error(409, "CONFLICT");
    // Even once the conflict is gone, the retry gets the stored 409.
    let id = first.body["details"]["invitationId"].as_str().expect("id");
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let again = create(&app, &admin, "k-409", "taken@example.com").await;
    again.assert_error(409, "CONFLICT");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.text, first.text);
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_create_one_invitation_and_one_email() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, admin) = (app.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            create(&app, &admin, "burst", "burst@example.com").await
        }));
    }
    let mut created = 0;
    let mut replayed = 0;
    let mut in_use = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let resp = task.await.expect("task");
        match resp.status.as_u16() {
            201 if resp.headers.get("idempotent-replayed").is_some() => {
                replayed += 1;
                ids.push(resp.body["id"].clone());
            }
            201 => {
                created += 1;
                ids.push(resp.body["id"].clone());
            }
            409 => {
                resp.assert_error(409, "IDEMPOTENCY_KEY_IN_USE");
                in_use += 1;
            }
            other => panic!("unexpected {other}: {}", resp.text),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every 201 names the same invitation: {ids:?}");
    assert_eq!(created, 1, "replayed {replayed}, in use {in_use}");
    assert_eq!(created + replayed + in_use, 20);
    assert_eq!(app.outbox().await.len(), 1, "one email");
    let list = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(list.body["meta"]["total"], 1);
}

#[tokio::test]
async fn bulk_and_resend_replay_as_well() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({ "invitations": [{ "email": "a@example.com" }, { "email": "bad" }] });
    let first = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .header("Idempotency-Key", "bulk-1")
        .json(body.clone())
        .send()
        .await;
    first.assert_status(200);
    let again = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .header("Idempotency-Key", "bulk-1")
        .json(body)
        .send()
        .await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.text, first.text);
    assert_eq!(app.outbox().await.len(), 1);

    let id = first.body["data"][0]["invitation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resend = |key: &'static str| {
        let (app, admin, id) = (&app, &admin, id.clone());
        async move {
            app.post(&format!("/api/v1/invitations/{id}/resend"))
                .acting_as(admin)
                .header("Idempotency-Key", key)
                .send()
                .await
        }
    };
    let r1 = resend("resend-1").await;
    r1.assert_status(200);
    let r2 = resend("resend-1").await;
    r2.assert_status(200);
    assert_eq!(r2.headers["idempotent-replayed"], "true");
    assert_eq!(r2.body["sendCount"], 2, "resent once, not twice");
    assert_eq!(app.outbox().await.len(), 2);
}

#[tokio::test]
async fn invalid_keys_are_validation_errors_and_guards_come_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let long = "k".repeat(256);
    for (key, line) in [
        ("", "Idempotency-Key: must be at least 1 characters long"),
        (
            long.as_str(),
            "Idempotency-Key: must be at most 255 characters long",
        ),
        (
            "tab\there",
            "Idempotency-Key: must be a valid idempotency key of printable ASCII",
        ),
    ] {
        let resp = create(&app, &admin, key, "a@example.com").await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.validation_errors(), [line], "{key:?}");
    }
    let longest = "k".repeat(255);
    create(&app, &admin, &longest, "a@example.com")
        .await
        .assert_status(201);
    // No token: 401, and the key is not spent.
    let anonymous = app
        .post("/api/v1/invitations")
        .header("Idempotency-Key", "anon")
        .json(json!({ "email": "b@example.com" }))
        .send()
        .await;
    anonymous.assert_error(401, "UNAUTHORIZED");
    create(&app, &admin, "anon", "b@example.com")
        .await
        .assert_status(201);
}

#[tokio::test]
async fn keys_are_purged_after_their_retention() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    create(&app, &admin, "old", "a@example.com")
        .await
        .assert_status(201);
    create(&app, &admin, "new", "b@example.com")
        .await
        .assert_status(201);
    app.query_one("UPDATE idempotency_key SET expires_at = created_at WHERE key = 'old'")
        .await;
    let purged = voke_invitations::service::idempotency::purge(&app.db)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    let left = app
        .query_one("SELECT COUNT(*) AS n FROM idempotency_key")
        .await
        .expect("row");
    assert_eq!(left.try_get::<i64>("", "n").expect("n"), 1);
    // The purged key is free again: a different body is a new request, not a 422.
    create(&app, &admin, "old", "c@example.com")
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_429_is_not_stored_so_the_retry_after_the_wait_runs() {
    let app = crate::helpers::spawn_app_with(&[("RESEND_COOLDOWN", "60s")]).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    let path = format!("/api/v1/invitations/{id}/resend");
    let first = app
        .post(&path)
        .acting_as(&admin)
        .header("Idempotency-Key", "later")
        .send()
        .await;
    first.assert_error(429, "TOO_MANY_REQUESTS");
    assert!(first.headers.get("retry-after").is_some());
    // The cooldown passes (moved back in time here); the retry runs and is not a replay.
    app.age_last_email(id, chrono::Duration::minutes(2)).await;
    let retry = app
        .post(&path)
        .acting_as(&admin)
        .header("Idempotency-Key", "later")
        .send()
        .await;
    retry.assert_status(200);
    assert!(retry.headers.get("idempotent-replayed").is_none());
    assert_eq!(retry.body["sendCount"], 2);
}
