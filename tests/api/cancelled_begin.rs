//! A write transaction whose caller goes away while its `BEGIN` is in flight (a client that
//! disconnects, a deadline) must not leave the pooled connection inside a transaction: the next
//! borrower (the outbox worker's claim, say) would run in it, hold its row locks and never
//! commit, and the messages it claimed would sit `PENDING` under a lease nobody works on.

use std::{pin::pin, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};
use voke_invitations::{entity::email_outbox::OutboxStatus, service::begin_write};

use crate::{
    helpers::{TestApp, spawn_app},
    smtp_server::{Behaviour, SmtpServer},
    worker_support::{quick_config, worker_on},
};

/// The app's database through a pool of one connection, so every borrower gets the same one.
async fn one_connection(app: &TestApp) -> DatabaseConnection {
    let mut options = ConnectOptions::new(app.database_url.clone());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    Database::connect(options).await.expect("connect")
}

/// Starts a write transaction and gives up on it after `polls` polls, as a dropped request
/// future does (one poll and a yield per step, so the cut lands at every await in turn).
async fn begin_and_abandon(db: &DatabaseConnection, polls: usize) {
    let mut begin = pin!(begin_write(db));
    for _ in 0..polls {
        if futures_util::poll!(begin.as_mut()).is_ready() {
            return; // It finished: the transaction is dropped, and rolled back, here.
        }
        tokio::task::yield_now().await;
    }
}

/// Whether the connection runs statements in autocommit: PostgreSQL refuses a `SAVEPOINT`
/// outside a transaction block, SQLite a `BEGIN` inside one.
async fn autocommit(db: &DatabaseConnection) -> bool {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let inside = db.execute_unprepared("SAVEPOINT probe").await.is_ok();
            if inside {
                db.execute_unprepared("RELEASE SAVEPOINT probe")
                    .await
                    .expect("release the probe");
            }
            !inside
        }
        _ => match begin_write(db).await {
            Ok(txn) => txn.rollback().await.is_ok(),
            Err(_) => false,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_abandoned_at_any_point_of_its_begin_leaves_no_transaction_open() {
    let app = spawn_app().await;
    let db = one_connection(&app).await;
    for polls in 1..=40 {
        for _ in 0..5 {
            begin_and_abandon(&db, polls).await;
            // A round trip's worth of time for the abandoned BEGIN to reach the server.
            tokio::time::sleep(Duration::from_millis(2)).await;
            assert!(
                autocommit(&db).await,
                "a BEGIN abandoned after {polls} polls left its connection in a transaction"
            );
        }
    }
    db.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_sharing_a_pool_with_abandoned_begins_records_every_message_it_sends() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    let admin = app.admin().await;
    let recipients: Vec<String> = (0..6).map(|i| format!("after{i}@example.com")).collect();
    for email in &recipients {
        app.invite(&admin, email, None).await;
    }
    let db = one_connection(&app).await;
    let worker = worker_on(
        db.clone(),
        &smtp.url(),
        quick_config(Duration::from_secs(5)),
    );
    // Requests on the same pool give up on their transactions at every point of the BEGIN
    // round trip, until one leaves its connection inside a transaction (never, once fixed).
    'abandon: for polls in 1..=60 {
        for _ in 0..5 {
            begin_and_abandon(&db, polls).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
            if !autocommit(&db).await {
                break 'abandon;
            }
        }
    }
    let report = worker.deliver_due().await.expect("a pass");
    assert_eq!(report.sent, recipients.len());
    // Read through the app's own pool: what the worker wrote must be committed.
    let rows = app.outbox().await;
    assert_eq!(rows.len(), recipients.len());
    for row in &rows {
        assert_eq!(
            row.status,
            OutboxStatus::Sent,
            "{} stayed {:?} (attempts {}, held until {:?})",
            row.recipient,
            row.status,
            row.attempts,
            row.locked_until
        );
    }
    for email in &recipients {
        assert_eq!(smtp.deliveries_to(email), (1, 1), "{email}");
    }
    db.close().await.expect("close");
}
