//! Waking the worker on enqueue, several messages in flight over pooled connections, and
//! exactly-once delivery with concurrent workers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::watch;
use voke_invitations::{
    config::{MailConfig, Secret},
    db,
    entity::email_outbox::OutboxStatus,
    mail::Mailer,
    worker::{Worker, WorkerConfig},
};

use crate::{
    helpers::spawn_app,
    smtp_server::{Behaviour, SmtpServer},
    worker_support::{quick_config, wait_for, worker_with},
};

/// Polls so rarely that only a wake-up can explain a delivery within seconds.
fn sleepy(config: WorkerConfig) -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_secs(600),
        ..config
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_wakes_the_worker_long_before_its_next_poll() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    let worker = worker_with(
        &app,
        &smtp.url(),
        sleepy(quick_config(Duration::from_secs(5))),
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(app.invitations(), stopped));
    // Past the pass the first poll tick starts with (and, on PostgreSQL, LISTEN is set up).
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    app.invite(&admin, "woken@example.com", None).await;
    wait_for(
        Duration::from_secs(5),
        "the email at the SMTP server",
        || async { (smtp.deliveries_to("woken@example.com") == (1, 1)).then_some(()) },
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "delivered after {took:?}");

    stop.send(true).expect("worker listening");
    running.await.expect("the worker does not panic");
    let rows = app.outbox().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, OutboxStatus::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_enqueue_in_one_instance_wakes_the_worker_of_another() {
    let app = spawn_app().await;
    if !app.is_postgres() {
        return; // SQLite is one process: there is no other instance to wake.
    }
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    // The second instance: its own pool on the same database, and the only worker.
    let other = db::connect(&app.database_url).await.expect("connect");
    let accept_url = "https://app.voke.example/auth/accept-invite";
    let mailer = Mailer::from_config(&MailConfig {
        smtp_url: Some(Secret::new(smtp.url())),
        mode: None,
        from: "Voke <no-reply@voke.example>".into(),
        accept_url: accept_url.into(),
    })
    .expect("mailer");
    let config = sleepy(quick_config(Duration::from_secs(5)));
    let worker = Worker::new(other.clone(), mailer, accept_url.into(), config);
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(app.invitations(), stopped));
    tokio::time::sleep(Duration::from_millis(500)).await;

    app.invite(&admin, "elsewhere@example.com", None).await;
    wait_for(
        Duration::from_secs(5),
        "the other instance's delivery",
        || async { (smtp.deliveries_to("elsewhere@example.com") == (1, 1)).then_some(()) },
    )
    .await;

    // A burst: the notifications are coalesced, but each commit is followed by one, so the
    // other instance (which polls every ten minutes) still hears of every message.
    let burst: Vec<String> = (0..20).map(|i| format!("burst{i}@example.com")).collect();
    futures_util::future::join_all(burst.iter().map(|email| app.invite(&admin, email, None))).await;
    wait_for(
        Duration::from_secs(10),
        "the other instance's deliveries of the burst",
        || async {
            burst
                .iter()
                .all(|email| smtp.deliveries_to(email) == (1, 1))
                .then_some(())
        },
    )
    .await;

    stop.send(true).expect("worker listening");
    running.await.expect("the worker does not panic");
    other.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_keeps_several_messages_in_flight_on_a_slow_server() {
    let app = spawn_app().await;
    // Each reply waits 100 ms: one message alone takes about 0.7 s (greeting, EHLO, MAIL,
    // RCPT, DATA, the data, and the next connection's greeting), so eight one at a time
    // would need over 5 s.
    let smtp = SmtpServer::start(Behaviour::Slow(Duration::from_millis(100))).await;
    let admin = app.admin().await;
    let recipients: Vec<String> = (0..8).map(|i| format!("busy{i}@example.com")).collect();
    for email in &recipients {
        app.invite(&admin, email, None).await;
    }
    let config = WorkerConfig {
        concurrency: 8,
        ..quick_config(Duration::from_secs(10))
    };
    let worker = worker_with(&app, &smtp.url(), config);

    let started = Instant::now();
    let report = worker.deliver_due().await.expect("pass");
    let took = started.elapsed();
    assert_eq!(report.sent, recipients.len(), "{report:?}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert!(
        smtp.connections() >= 4,
        "{} connections: the sends overlapped",
        smtp.connections()
    );
    for email in &recipients {
        assert_eq!(smtp.deliveries_to(email), (1, 1), "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_of_clean_sends_are_reused() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    for i in 0..10 {
        app.invite(&admin, &format!("reuse{i}@example.com"), None)
            .await;
    }
    let worker = worker_with(&app, &smtp.url(), quick_config(Duration::from_secs(5)));
    let report = worker.deliver_due().await.expect("pass");
    assert_eq!(report.sent, 10);
    assert_eq!(smtp.received().len(), 10);
    assert_eq!(
        smtp.connections(),
        1,
        "one at a time on one pooled connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_workers_deliver_each_message_exactly_once() {
    let app = Arc::new(spawn_app().await);
    let smtp = SmtpServer::start(Behaviour::Slow(Duration::from_millis(5))).await;
    let admin = app.admin().await;
    let recipients: Vec<String> = (0..40).map(|i| format!("pair{i}@example.com")).collect();
    for email in &recipients {
        app.invite(&admin, email, None).await;
    }
    // Small batches, so both workers keep claiming while the other sends.
    let config = WorkerConfig {
        batch: 6,
        concurrency: 4,
        ..quick_config(Duration::from_secs(5))
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
        assert_eq!(smtp.deliveries_to(email), (1, 1), "{email}");
    }
    assert_eq!(smtp.received().len(), recipients.len());
    for row in app.outbox().await {
        assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 1));
        assert_eq!(row.token, None);
    }
}
