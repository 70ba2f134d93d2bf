//! Waking the worker when another instance queues a message: on PostgreSQL a trigger on
//! `email_outbox` INSERT runs `pg_notify('email_outbox', '')` (migration
//! `m20261202_000001_email_outbox_notify`), delivered when the inserting transaction commits;
//! every instance listens and wakes its worker. The listener reconnects when its connection
//! drops (waking the worker then too, in case a notification was missed while it was down),
//! and the worker keeps polling in any case, so a lost notification only costs latency.

use std::{convert::Infallible, time::Duration};

use sea_orm::{
    DatabaseBackend, DatabaseConnection,
    sqlx::{self, PgPool, postgres::PgListener},
};
use tokio::sync::watch;

use crate::service::outbox;

/// The channel the trigger notifies.
pub const CHANNEL: &str = "email_outbox";

/// Pause before connecting again after the listener failed.
const RETRY: Duration = Duration::from_secs(1);

/// Listens until `stop` turns true; returns at once on SQLite (one process, woken in memory).
pub async fn run(db: DatabaseConnection, stop: watch::Receiver<bool>) {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    while !*stop.borrow() {
        let ended = tokio::select! {
            () = super::stopped(&stop) => return,
            ended = listen(&pool) => ended,
        };
        let Err(e) = ended;
        tracing::warn!(error = %e, "outbox listener failed; polling until it reconnects");
        tokio::select! {
            () = super::stopped(&stop) => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// One listening session: wakes the worker on every notification; ends only on an error.
async fn listen(pool: &PgPool) -> Result<Infallible, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Whatever was queued while nobody listened is due now.
    outbox::wake();
    loop {
        // `None`: the connection dropped and the next call reconnects and listens again;
        // a notification may have been missed meanwhile, so wake the worker either way.
        let _notification = listener.try_recv().await?;
        outbox::wake();
    }
}
