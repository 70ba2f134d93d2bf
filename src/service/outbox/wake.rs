//! Waking the workers once a transaction that queued a message has committed.
//!
//! In this process: a counter every worker of the process watches (all a SQLite deployment
//! needs). On PostgreSQL, every instance's worker listens on channel [`CHANNEL`] instead
//! (`worker::listen`), and this process tells them with `SELECT pg_notify(…)` in a
//! transaction of its own that writes nothing, sent after the commit by one task per database,
//! so that a burst of creates costs a notification per round trip rather than one per create.
//! (Not from inside the writing transaction, as a trigger would: a transaction that has
//! notified holds PostgreSQL's notification-queue lock from its commit until its commit record
//! is flushed, so every create would wait for the previous one's flush.)
//!
//! A notification lost to a crash between the commit and the notify, or to a failed notify,
//! costs latency only: the workers poll.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex, PoisonError},
};

use sea_orm::{
    DatabaseBackend, DatabaseConnection,
    sqlx::{self, PgPool},
};
use tokio::sync::watch;

/// The channel the workers of every instance listen on.
pub const CHANNEL: &str = "email_outbox";

/// Bumped after every commit that queued a message; every worker of this process watches it.
static QUEUED: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// A database's notifying task: how to ask it for a notification, and the pool it sends
/// them through.
type Notifier = (watch::Sender<()>, PgPool);

/// Each PostgreSQL database's notifying task in this process (by host, port and database).
static NOTIFIERS: LazyLock<Mutex<HashMap<String, Notifier>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Wakes the workers of this process and, on PostgreSQL, of every instance: call after
/// committing a transaction that called [`super::enqueue`]. Never blocks and never fails
/// (a notification that cannot be sent is logged; the workers' poll is the fallback).
pub fn wake(db: &DatabaseConnection) {
    QUEUED.send_modify(|n| *n = n.wrapping_add(1));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        notify_instances(db.get_postgres_connection_pool());
    }
}

/// What a worker of this process waits on between polls: changes on every [`wake`].
pub fn wakeups() -> watch::Receiver<u64> {
    QUEUED.subscribe()
}

/// Asks `pool`'s database's notifying task for a notification sent after this call; starts
/// the task if there is none (or it went with its runtime, or its pool was closed).
fn notify_instances(pool: &PgPool) {
    let options = pool.connect_options();
    let key = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    let mut notifiers = NOTIFIERS.lock().unwrap_or_else(PoisonError::into_inner);
    let usable = notifiers
        .get(&key)
        .is_some_and(|(asked, pool)| !asked.is_closed() && !pool.is_closed());
    if !usable {
        let (asked, wanted) = watch::channel(());
        tokio::spawn(notify_while_asked(pool.clone(), wanted));
        notifiers.insert(key.clone(), (asked, pool.clone()));
    }
    if let Some((asked, _)) = notifiers.get(&key) {
        asked.send_replace(());
    }
}

/// The notifying task: one `pg_notify` at a time, each sent after every request it answers
/// (requests made while one is in flight are answered together by the next).
async fn notify_while_asked(pool: PgPool, mut wanted: watch::Receiver<()>) {
    while wanted.changed().await.is_ok() {
        wanted.borrow_and_update();
        if pool.is_closed() {
            return;
        }
        let sent = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not notify other instances of a queued email; their poll will find it");
        }
    }
}
