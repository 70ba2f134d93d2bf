//! Several instances on one database: a message is sent only while its sender holds the claim.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;
use voke_invitations::{entity::email_outbox::OutboxStatus, worker::WorkerConfig};

use crate::{
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
