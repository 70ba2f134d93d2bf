//! §10.4: `delivery`, `sendCount` and `lastSentAt` stay truthful as the worker works, and the
//! resend cooldown holds in the database.

use std::sync::Arc;

use serde_json::Value;

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    smtp_server::{Behaviour, SmtpServer},
};

async fn get(app: &TestApp, actor: &crate::helpers::Actor, id: &str) -> Value {
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(actor)
        .send()
        .await;
    resp.assert_status(200);
    resp.body
}

#[tokio::test]
async fn delivery_goes_from_queued_to_sent() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    assert_eq!(inv["delivery"]["status"], "QUEUED");
    assert_eq!(inv["delivery"]["attempts"], 0);
    assert_eq!(inv["delivery"]["sentAt"], Value::Null);
    assert_eq!(inv["sendCount"], 1);
    assert_eq!(inv["lastSentAt"], inv["createdAt"]);

    app.worker(&smtp.url(), 5)
        .deliver_due()
        .await
        .expect("deliver");
    let now = get(&app, &admin, id).await;
    assert_eq!(now["delivery"]["status"], "SENT");
    assert_eq!(now["delivery"]["attempts"], 1);
    assert_eq!(now["delivery"]["lastError"], Value::Null);
    assert!(now["delivery"]["sentAt"].is_string());
    // The list says the same.
    let list = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(list.body["data"][0]["delivery"], now["delivery"]);
}

#[tokio::test]
async fn delivery_goes_from_queued_to_retrying_to_failed() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::RefuseAll).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    let worker = app.worker(&smtp.url(), 2);

    worker.deliver_due().await.expect("deliver");
    let after_one = get(&app, &admin, id).await;
    assert_eq!(after_one["delivery"]["status"], "RETRYING");
    assert_eq!(after_one["delivery"]["attempts"], 1);
    let error = after_one["delivery"]["lastError"]
        .as_str()
        .expect("an error");
    assert!(error.contains("550"), "{error}");

    worker.deliver_due().await.expect("deliver");
    let after_two = get(&app, &admin, id).await;
    assert_eq!(after_two["delivery"]["status"], "FAILED");
    assert_eq!(after_two["delivery"]["attempts"], 2);
    assert_eq!(after_two["delivery"]["sentAt"], Value::Null);
    assert_eq!(
        after_two["status"], "PENDING",
        "the invitation itself is unchanged"
    );
}

#[tokio::test]
async fn revoking_cancels_the_unsent_email_and_a_resend_starts_a_new_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a = app.invite(&admin, "a@example.com", None).await;
    let a_id = a["id"].as_str().expect("id");
    app.delete(&format!("/api/v1/invitations/{a_id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    assert_eq!(
        get(&app, &admin, a_id).await["delivery"]["status"],
        "CANCELLED"
    );

    let b = app.invite(&admin, "b@example.com", None).await;
    let b_id = b["id"].as_str().expect("id");
    let resent = app
        .post(&format!("/api/v1/invitations/{b_id}/resend"))
        .acting_as(&admin)
        .send()
        .await;
    resent.assert_status(200);
    assert_eq!(resent.body["sendCount"], 2);
    assert_eq!(resent.body["delivery"]["status"], "QUEUED");
    assert_ne!(resent.body["lastSentAt"], b["lastSentAt"]);
    // Two emails on record: the first cancelled, the new one queued.
    let outbox = app.outbox().await;
    let mine: Vec<_> = outbox
        .iter()
        .filter(|m| m.recipient == "b@example.com")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(get(&app, &admin, b_id).await, resent.body);
}

#[tokio::test]
async fn a_resend_inside_the_cooldown_is_429_with_retry_after_but_the_state_check_comes_first() {
    let app = spawn_app_with(&[("RESEND_COOLDOWN", "60s"), ("RATE_LIMITS", "off")]).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    let path = format!("/api/v1/invitations/{id}/resend");
    let resp = app.post(&path).acting_as(&admin).send().await;
    resp.assert_error(429, "TOO_MANY_REQUESTS");
    let wait: u64 = resp.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(app.outbox().await.len(), 1, "no second email");

    // Once the cooldown has passed (moved back in time here), the resend goes through.
    app.age_last_email(id, chrono::Duration::minutes(2)).await;
    app.post(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    app.post(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_error(429, "TOO_MANY_REQUESTS");

    // Revoked: 400 even inside the cooldown.
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    app.post(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "BAD_REQUEST");
}

#[tokio::test]
async fn two_instances_cannot_both_resend_inside_the_cooldown() {
    let first = Arc::new(spawn_app_with(&[("RESEND_COOLDOWN", "60s")]).await);
    let second = Arc::new(first.second_instance(&[("RESEND_COOLDOWN", "60s")]).await);
    let admin = first.admin().await;
    let inv = first.invite(&admin, "a@example.com", None).await;
    let id = inv["id"].as_str().expect("id").to_owned();
    // Let the create's email age past the cooldown, then race two resends per instance.
    first
        .age_last_email(&id, chrono::Duration::minutes(2))
        .await;
    let mut tasks = Vec::new();
    for app in [&first, &second, &first, &second] {
        let (app, admin, id) = (app.clone(), admin.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            app.post(&format!("/api/v1/invitations/{id}/resend"))
                .acting_as(&admin)
                .send()
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let resp = task.await.expect("task");
        match resp.status.as_u16() {
            200 => ok += 1,
            _ => resp.assert_error(429, "TOO_MANY_REQUESTS"),
        }
    }
    assert_eq!(ok, 1, "exactly one resend wins");
    let emails = first
        .outbox()
        .await
        .into_iter()
        .filter(|m| m.token.is_some())
        .count();
    assert_eq!(emails, 1, "one live email");
    assert_eq!(get(&first, &admin, &id).await["sendCount"], 2);
}
