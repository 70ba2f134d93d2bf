//! PostgreSQL: drops the `email_outbox` INSERT trigger that ran `pg_notify` inside every
//! transaction queueing an email. A transaction that has notified takes PostgreSQL's one
//! notification-queue lock at commit and keeps it until its commit record is flushed, so
//! concurrent creates committed one after another, each waiting for the previous one's WAL
//! flush (`Lock:object` waits in `pg_stat_activity`). The service now notifies after its
//! commit, from a transaction of its own that writes nothing (`service::outbox::wake`),
//! coalesced under load. Rows inserted by other clients wake nobody: the workers' poll
//! finds them, or the client runs `NOTIFY email_outbox` after its commit. Nothing on SQLite.

use sea_orm_migration::prelude::*;

use crate::m20261202_000001_email_outbox_notify as trigger;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::postgres_only::run(manager, &trigger::DROP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        trigger::Migration.up(manager).await
    }
}
