//! §10.4: what an invitation's emails did. `email_id` points at the latest `email_outbox` row
//! (its delivery status is read from there), `send_count` counts the emails queued so far and
//! `last_sent_at` is when the latest was queued (the resend cooldown's clock).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitation {
    Table,
    SendCount,
    LastSentAt,
    EmailId,
}

/// Existing rows: the latest message, how many were queued, and when the latest was.
const BACKFILL: &str = "UPDATE invitation SET \
    email_id = (SELECT o.id FROM email_outbox o WHERE o.invitation_id = invitation.id \
                ORDER BY o.created_at DESC, o.id DESC LIMIT 1), \
    send_count = COALESCE(NULLIF((SELECT COUNT(*) FROM email_outbox o \
                                  WHERE o.invitation_id = invitation.id), 0), 1), \
    last_sent_at = COALESCE((SELECT MAX(o.created_at) FROM email_outbox o \
                             WHERE o.invitation_id = invitation.id), invitation.created_at)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [
            integer(Invitation::SendCount).default(1).to_owned(),
            timestamp_with_time_zone_null(Invitation::LastSentAt).to_owned(),
            uuid_null(Invitation::EmailId).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Invitation::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Invitation::EmailId,
            Invitation::LastSentAt,
            Invitation::SendCount,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Invitation::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
