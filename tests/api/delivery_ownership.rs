//! Several instances on one database: a message is sent only while its sender holds the claim.

use std::{sync::Arc, time::Duration};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::sync::watch;
use voke_invitations::{
    entity::email_outbox::OutboxStatus,
    service::outbox::{self, Failure},
    worker::WorkerConfig,
};

use crate::{
    events::events,
    helpers::spawn_app,
    smtp_server::{Behaviour, SmtpServer},
    worker_support::{quick_config, wait_for, worker_with},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_whose_leases_run_out_mid_batch_deliver_each_message_exactly_once() {
    let app = Arc::new(spawn_app().await);
    let smtp = SmtpServer::start(Behaviour::Slow(Duration::from_millis(40))).await;
    let admin = app.admin().await;
    let recipients: Vec<String> = (0..30).map(|i| format!("once{i}@example.com")).collect();
    for email in &recipients {
        app.invite(&admin, email, None).await;
    }
    // One batch takes the whole queue and needs far longer than the lease to send it.
    let config = WorkerConfig {
        lease: Duration::from_secs(3),
        batch: 50,
        ..quick_config(Duration::from_millis(1500))
    };
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let worker = worker_with(&app, &smtp.url(), config.clone());
            tokio::spawn(worker.run(app.invitations(), stopped.clone()))
        })
        .collect();

    wait_for(Duration::from_secs(60), "every message handled", || async {
        let rows = app.outbox().await;
        rows.iter()
            .all(|r| r.status != OutboxStatus::Pending)
            .then_some(())
    })
    .await;
    stop.send(true).expect("workers listening");
    for worker in workers {
        worker.await.expect("the worker does not panic");
    }

    for email in &recipients {
        assert_eq!(
            smtp.deliveries_to(email),
            (1, 1),
            "RCPT and DATA once for {email}"
        );
    }
    assert_eq!(smtp.received().len(), recipients.len());
    let rows = app.outbox().await;
    assert_eq!(rows.len(), recipients.len());
    let mut claims: Vec<_> = rows.iter().map(|r| r.lock_owner).collect();
    claims.sort();
    claims.dedup();
    assert!(
        claims.len() > 1,
        "leases ran out mid-batch and another claim took over"
    );
    for row in &rows {
        assert_eq!(
            (row.status, row.attempts),
            (OutboxStatus::Sent, 1),
            "{}",
            row.recipient
        );
        assert_eq!(row.token, None);
        assert!(row.sent_at.is_some());
    }
}

/// Takes over every message of the first claim (its lease ran out), as another instance would.
async fn take_over(app: &crate::helpers::TestApp) -> outbox::Claim {
    app.db
        .execute_unprepared("UPDATE email_outbox SET locked_until = NULL")
        .await
        .expect("run the first lease out");
    outbox::claim(&app.db, 10, Duration::from_secs(60))
        .await
        .expect("second claim")
}

#[tokio::test]
async fn a_result_recorded_after_the_claim_was_lost_writes_nothing_and_the_holder_writes_it_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (url, types) in [
        ("http://127.0.0.1:9/sent", json!(["invitation.email_sent"])),
        (
            "http://127.0.0.1:9/failed",
            json!(["invitation.email_failed"]),
        ),
        ("http://127.0.0.1:9/all", json!(["*"])),
    ] {
        app.post("/api/v1/webhooks")
            .acting_as(&admin)
            .json(json!({ "url": url, "eventTypes": types }))
            .send()
            .await
            .assert_status(201);
    }
    app.invite(&admin, "sent@example.com", None).await;
    app.invite(&admin, "failed@example.com", None).await;
    let first = outbox::claim(&app.db, 10, Duration::from_secs(60))
        .await
        .expect("first claim");
    assert_eq!(first.messages.len(), 2);
    let second = take_over(&app).await;
    assert_eq!(second.messages.len(), 2, "the second claim took both");
    let by_recipient = |claim: &outbox::Claim, email: &str| {
        claim
            .messages
            .iter()
            .find(|c| c.message.recipient == email)
            .cloned()
            .expect("claimed")
    };
    let record = async |claim: &outbox::Claim, owner| {
        let sent = by_recipient(claim, "sent@example.com");
        let failed = by_recipient(claim, "failed@example.com");
        let invitation = |c: &outbox::Claimed| c.invitation.clone().expect("invitation");
        let marked = outbox::mark_sent(&app.db, &sent.message, &invitation(&sent), owner)
            .await
            .expect("mark sent");
        let given_up = outbox::mark_failed(
            &app.db,
            &failed.message,
            &invitation(&failed),
            owner,
            "550 no such user",
            Duration::from_secs(5),
            1,
        )
        .await
        .expect("mark failed");
        (marked, given_up)
    };
    let email_events = |events: &[Value]| {
        events
            .iter()
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("invitation.email_"))
            })
            .count()
    };

    // The first holder lost both messages: nothing of what it records may land.
    assert_eq!(record(&first, first.owner).await, (false, None));
    assert!(
        app.outbox()
            .await
            .iter()
            .all(|r| r.status == OutboxStatus::Pending && r.attempts == 0 && r.token.is_some())
    );
    assert_eq!(email_events(&events(&app, &admin, "").await), 0);
    let deliveries: i64 = app
        .query_one("SELECT COUNT(*) AS n FROM webhook_delivery")
        .await
        .expect("row")
        .try_get("", "n")
        .expect("n");

    // The holder records each result once, with its event and the event's deliveries.
    let failure = Failure {
        attempts: 1,
        gave_up: true,
    };
    assert_eq!(record(&second, second.owner).await, (true, Some(failure)));
    assert_eq!(record(&second, second.owner).await, (false, None), "once");
    let rows = app.outbox().await;
    let row = |email: &str| rows.iter().find(|r| r.recipient == email).expect("row");
    assert_eq!(
        (
            row("sent@example.com").status,
            row("sent@example.com").token.as_deref()
        ),
        (OutboxStatus::Sent, None)
    );
    assert_eq!(
        (
            row("failed@example.com").status,
            row("failed@example.com").token.as_deref()
        ),
        (OutboxStatus::Failed, None)
    );
    let recorded = events(&app, &admin, "").await;
    assert_eq!(email_events(&recorded), 2);
    for (kind, email) in [
        ("invitation.email_sent", "sent@example.com"),
        ("invitation.email_failed", "failed@example.com"),
    ] {
        let event = recorded.iter().find(|e| e["type"] == kind).expect(kind);
        assert_eq!(event["data"]["email"], email);
        assert_eq!(event["data"]["attempts"], 1);
        assert_eq!(event["actor"], Value::Null);
    }
    let after: i64 = app
        .query_one("SELECT COUNT(*) AS n FROM webhook_delivery")
        .await
        .expect("row")
        .try_get("", "n")
        .expect("n");
    // email_sent → "sent" and "*"; email_failed → "failed" and "*".
    assert_eq!(after - deliveries, 4);
}
