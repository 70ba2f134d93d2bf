//! Every send has a deadline and the worker stops promptly, whatever the SMTP server does.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use voke_invitations::entity::email_outbox::OutboxStatus;

use crate::{
    helpers::spawn_app,
    smtp_server::{Behaviour, SmtpServer},
    worker_support::{quick_config, wait_for, worker_with},
};

#[tokio::test]
async fn a_send_to_a_server_that_never_greets_fails_at_its_deadline_and_is_retried() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Blackhole).await;
    let admin = app.admin().await;
    app.invite(&admin, "silent@example.com", None).await;
    let worker = worker_with(&app, &smtp.url(), quick_config(Duration::from_millis(300)));

    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(5), worker.deliver_due())
        .await
        .expect("the pass ends at the send deadline")
        .expect("pass");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.retrying, 1);
    assert_eq!(smtp.connections(), 1);
    let row = &app.outbox().await[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        row.last_error
    );
    assert!(row.token.is_some(), "kept for the retry");
    assert_eq!(row.locked_until, None, "due again for the next pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_worker_records_timed_out_attempts_and_stops_promptly_mid_send() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Blackhole).await;
    let admin = app.admin().await;
    app.invite(&admin, "silent@example.com", None).await;
    let worker = worker_with(&app, &smtp.url(), quick_config(Duration::from_millis(300)));
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(app.invitations(), stopped));

    let row = wait_for(Duration::from_secs(5), "an attempt on record", || async {
        app.outbox().await.into_iter().find(|r| r.attempts >= 1)
    })
    .await;
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out"))
    );
    // Retries are immediate here, so another send is soon under way: stop in the middle of it.
    wait_for(Duration::from_secs(5), "a second attempt", || async {
        (smtp.connections() >= 2).then_some(())
    })
    .await;
    let asked = Instant::now();
    stop.send(true).expect("worker listening");
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("the worker stops promptly")
        .expect("the worker does not panic");
    eprintln!(
        "worker stopped {:?} after being told, mid-send",
        asked.elapsed()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );

    let row = &app.outbox().await[0];
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(row.locked_until, None, "the claim is released");
    let connections = i32::try_from(smtp.connections()).expect("few");
    assert!(
        (connections - 1..=connections).contains(&row.attempts),
        "every finished attempt is recorded, the abandoned one is not: {} attempts, {connections} connections",
        row.attempts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_mid_batch_on_a_slow_server_returns_promptly_and_marks_only_delivered_mail_sent() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Slow(Duration::from_millis(200))).await;
    let admin = app.admin().await;
    for i in 0..10 {
        app.invite(&admin, &format!("slow{i}@example.com"), None)
            .await;
    }
    let worker = worker_with(&app, &smtp.url(), quick_config(Duration::from_secs(10)));
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(app.invitations(), stopped));

    wait_for(Duration::from_secs(15), "a first delivery", || async {
        (!smtp.received().is_empty()).then_some(())
    })
    .await;
    let asked = Instant::now();
    stop.send(true).expect("worker listening");
    tokio::time::timeout(Duration::from_secs(3), running)
        .await
        .expect("the worker stops without finishing its batch")
        .expect("the worker does not panic");
    eprintln!(
        "worker stopped {:?} after being told, mid-batch",
        asked.elapsed()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    let rows = app.outbox().await;
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Sent)
        .collect();
    assert!(sent.len() < rows.len(), "the batch was cut short");
    for row in &sent {
        assert_eq!(
            smtp.deliveries_to(&row.recipient),
            (1, 1),
            "{} is marked sent, so it arrived",
            row.recipient
        );
    }
    for row in rows.iter().filter(|r| r.status != OutboxStatus::Sent) {
        assert_eq!(row.status, OutboxStatus::Pending);
        assert_eq!(row.attempts, 0, "an abandoned send is not an attempt");
        assert_eq!(row.locked_until, None, "released for the next start");
        assert!(row.token.is_some());
    }
}
