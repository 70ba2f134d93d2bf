//! PostgreSQL: every INSERT into `email_outbox` notifies channel `email_outbox` (delivered at
//! commit), so the workers of every instance wake at once instead of at their next poll. A
//! statement-level trigger, so a bulk insert notifies once. Nothing on SQLite (one process,
//! woken in memory).

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION email_outbox_notify() RETURNS trigger \
             LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('email_outbox', ''); RETURN NULL; END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER email_outbox_notify AFTER INSERT ON email_outbox \
             FOR EACH STATEMENT EXECUTE FUNCTION email_outbox_notify()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::postgres_only::run(manager, &DROP).await
    }
}

/// Removes the trigger and its function (also what its successor,
/// `m20261203_000001_email_outbox_notify_after_commit`, runs).
pub(crate) const DROP: [&str; 2] = [
    "DROP TRIGGER IF EXISTS email_outbox_notify ON email_outbox",
    "DROP FUNCTION IF EXISTS email_outbox_notify()",
];
