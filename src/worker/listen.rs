//! Waking the worker when another instance queues a message: on PostgreSQL the instance that
//! committed it runs `pg_notify('email_outbox', '')` right after (`service::outbox::wake`;
//! until migration `m20261203_000001_email_outbox_notify_after_commit` a trigger did it inside
//! the transaction); every instance listens and wakes its worker. On PostgreSQL that is the
//! only wake-up, for the instance's own messages too (the in-process one is for SQLite). The
//! listener reconnects when its connection drops (waking the worker then too, in case a
//! notification was missed while it was down), and the worker keeps polling in any case, so a
//! lost notification only costs latency.
//!
//! The same session listens on `organization_member` (migration
//! `m20261202_200002_organization_member_notify`): a membership change anywhere drops the
//! roles this process cached for that organization; on (re)connect, all of them, since a
//! change may have gone unheard. The cache's TTL bounds staleness if the listener is down.

use std::{convert::Infallible, time::Duration};

use sea_orm::{
    DatabaseBackend, DatabaseConnection,
    sqlx::{self, PgPool, postgres::PgListener},
};
use tokio::sync::watch;
use uuid::Uuid;

use crate::service::members;

/// The channel `service::outbox::wake` notifies after a commit that queued a message.
pub use crate::service::outbox::CHANNEL;

/// The channel the membership trigger notifies, with the organization's id as payload.
pub const MEMBERS_CHANNEL: &str = "organization_member";

/// Pause before connecting again after the listener failed.
const RETRY: Duration = Duration::from_secs(1);

/// Listens until `stop` turns true, bumping `wake` on every notification; returns at once on
/// SQLite (one process, woken in memory by
/// [`crate::service::outbox::wake`]).
pub async fn run(db: DatabaseConnection, wake: watch::Sender<u64>, stop: watch::Receiver<bool>) {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    while !*stop.borrow() {
        let ended = tokio::select! {
            () = super::stopped(&stop) => return,
            ended = listen(&pool, &wake) => ended,
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
async fn listen(pool: &PgPool, wake: &watch::Sender<u64>) -> Result<Infallible, sqlx::Error> {
    let bump = || wake.send_modify(|n| *n = n.wrapping_add(1));
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, MEMBERS_CHANNEL]).await?;
    // Whatever was queued or changed while nobody listened is due now.
    bump();
    members::invalidate_all();
    loop {
        // `None`: the connection dropped and the next call reconnects and listens again;
        // a notification may have been missed meanwhile, so act on both channels.
        match listener.try_recv().await? {
            Some(note) if note.channel() == MEMBERS_CHANNEL => {
                match note.payload().parse::<Uuid>() {
                    Ok(organization_id) => members::invalidate(organization_id),
                    Err(_) => members::invalidate_all(),
                }
            }
            Some(_) => bump(),
            None => {
                bump();
                members::invalidate_all();
            }
        }
    }
}
