//! Delivery through a real SMTP conversation over TCP.

use std::sync::Arc;

use serde_json::json;
use voke_invitations::{entity::email_outbox::OutboxStatus, worker::DeliveryReport};

use crate::{
    helpers::spawn_app,
    smtp_server::{Behaviour, SmtpServer, token_in},
};

#[tokio::test]
async fn the_invitation_email_arrives_with_both_parts_and_a_link_that_accepts() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    let inv = app
        .invite(&admin, "Bob@Example.com", Some("OPERATOR"))
        .await;

    let report = app
        .worker(&smtp.url(), 5)
        .deliver_due()
        .await
        .expect("deliver");
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            ..DeliveryReport::default()
        }
    );
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.to, ["bob@example.com"]);
    assert!(message.from.contains("no-reply@voke.example"));
    let data = &message.data;
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/plain"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    assert!(
        data.contains(&admin.org.to_string()),
        "names the organization"
    );
    assert!(data.contains("OPERATOR"), "names the role");
    assert!(data.contains(&admin.user_id), "names the inviter");
    assert!(data.contains("https://app.voke.example/auth/accept-invite?token="));

    // The token is gone from the database once delivered.
    let rows = app.outbox().await;
    assert_eq!(rows[0].status, OutboxStatus::Sent);
    assert_eq!(rows[0].token, None);
    assert_eq!(rows[0].attempts, 1);

    // Nothing more to send.
    let again = app
        .worker(&smtp.url(), 5)
        .deliver_due()
        .await
        .expect("deliver");
    assert_eq!(again, DeliveryReport::default());

    let token = token_in(data).expect("a token in the link");
    let bob = app.token("bob", Some("bob@example.com"), false);
    let resp = app
        .post("/api/v1/invitations/accept")
        .bearer(&bob)
        .json(json!({ "token": token }))
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["invitation"]["id"], inv["id"]);
    assert_eq!(resp.body["membership"]["role"], "OPERATOR");
}

#[tokio::test]
async fn a_server_that_refuses_at_first_gets_the_message_on_a_later_attempt() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::RefuseFirst(2)).await;
    let admin = app.admin().await;
    app.invite(&admin, "retry@example.com", None).await;
    let worker = app.worker(&smtp.url(), 5);

    let first = worker.deliver_due().await.expect("pass 1");
    assert_eq!(first.retrying, 1);
    let row = &app.outbox().await[0];
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(row.attempts, 1);
    assert!(
        row.last_error.as_deref().is_some_and(|e| e.contains("451")),
        "{:?}",
        row.last_error
    );
    assert!(row.token.is_some());

    assert_eq!(worker.deliver_due().await.expect("pass 2").retrying, 1);
    assert_eq!(worker.deliver_due().await.expect("pass 3").sent, 1);
    assert_eq!(smtp.refused(), 2);
    assert_eq!(smtp.received().len(), 1);
    let row = &app.outbox().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
}

#[tokio::test]
async fn a_server_that_never_accepts_leaves_the_invitation_intact_and_the_error_recorded() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::RefuseAll).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "never@example.com", None).await;
    let worker = app.worker(&smtp.url(), 3);
    for _ in 0..2 {
        assert_eq!(worker.deliver_due().await.expect("pass").retrying, 1);
    }
    assert_eq!(worker.deliver_due().await.expect("pass").failed, 1);
    assert_eq!(
        worker.deliver_due().await.expect("pass"),
        DeliveryReport::default()
    );

    let row = &app.outbox().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Failed, 3));
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("550")));
    assert_eq!(row.token, None, "a message given up on forgets its token");
    let resp = app
        .get(&format!(
            "/api/v1/invitations/{}",
            inv["id"].as_str().expect("id")
        ))
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["status"], "PENDING");
    // An admin can resend, which queues a fresh message.
    app.post(&format!(
        "/api/v1/invitations/{}/resend",
        inv["id"].as_str().expect("id")
    ))
    .acting_as(&admin)
    .send()
    .await
    .assert_status(200);
    assert_eq!(app.outbox().await.len(), 2);
}

#[tokio::test]
async fn an_unreachable_server_is_retried_not_fatal() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "down@example.com", None).await;
    // Nothing listens on port 1.
    let report = app
        .worker("smtp://127.0.0.1:1", 5)
        .deliver_due()
        .await
        .expect("pass");
    assert_eq!(report.retrying, 1);
    assert!(app.outbox().await[0].last_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_one_database_send_each_message_once() {
    let app = Arc::new(spawn_app().await);
    let smtp = Arc::new(SmtpServer::start(Behaviour::Accept).await);
    let admin = app.admin().await;
    for i in 0..30 {
        app.invite(&admin, &format!("many{i}@example.com"), None)
            .await;
    }
    let mut handles = Vec::new();
    for _ in 0..2 {
        let (app, smtp) = (app.clone(), smtp.clone());
        handles.push(tokio::spawn(async move {
            let worker = app.worker(&smtp.url(), 5);
            let mut sent = 0;
            loop {
                let report = worker.deliver_due().await.expect("pass");
                if report == DeliveryReport::default() {
                    break sent;
                }
                sent += report.sent;
            }
        }));
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.expect("worker");
    }
    assert_eq!(total, 30);
    let mut recipients: Vec<String> = smtp.received().into_iter().flat_map(|m| m.to).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(smtp.received().len(), 30, "no message twice");
    assert_eq!(recipients.len(), 30, "every message once");
}

#[tokio::test]
async fn revoked_and_resent_invitations_do_not_mail_stale_tokens() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    let revoked = app.invite(&admin, "gone@example.com", None).await;
    app.delete(&format!(
        "/api/v1/invitations/{}",
        revoked["id"].as_str().expect("id")
    ))
    .acting_as(&admin)
    .send()
    .await
    .assert_status(200);
    let resent = app.invite(&admin, "twice@example.com", None).await;
    let id = resent["id"].as_str().expect("id");
    app.post(&format!("/api/v1/invitations/{id}/resend"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let new_token = app.outbox_token(id).await;

    let report = app
        .worker(&smtp.url(), 5)
        .deliver_due()
        .await
        .expect("pass");
    assert_eq!(report.sent, 1);
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["twice@example.com"]);
    assert_eq!(token_in(&received[0].data), Some(new_token));
    assert!(app.outbox().await.iter().all(|m| m.token.is_none()));
}

#[tokio::test]
async fn smtp_credentials_from_the_url_are_used() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    app.invite(&admin, "auth@example.com", None).await;
    let url = format!("smtp://mailer:s%40cret@{}", smtp.addr);
    assert_eq!(
        app.worker(&url, 5).deliver_due().await.expect("pass").sent,
        1
    );
    let auth = smtp.received()[0]
        .auth
        .clone()
        .expect("AUTH PLAIN was used");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .expect("base64");
    assert_eq!(decoded, b"\0mailer\0s@cret");
}
