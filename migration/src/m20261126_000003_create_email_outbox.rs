use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    InvitationId,
    Recipient,
    Token,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LockOwner,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(uuid(EmailOutbox::Id).primary_key())
                    .col(uuid(EmailOutbox::InvitationId))
                    .col(string_len(EmailOutbox::Recipient, 254))
                    // The raw invitation token, kept only until the message is delivered,
                    // cancelled or given up on; then set to NULL.
                    .col(string_len_null(EmailOutbox::Token, 64))
                    .col(string_len(EmailOutbox::Status, 16))
                    .col(integer(EmailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(EmailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::LockedUntil))
                    .col(uuid_null(EmailOutbox::LockOwner))
                    .col(text_null(EmailOutbox::LastError))
                    .col(timestamp_with_time_zone(EmailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone(EmailOutbox::UpdatedAt))
                    .col(timestamp_with_time_zone_null(EmailOutbox::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_outbox_invitation")
                            .from(EmailOutbox::Table, EmailOutbox::InvitationId)
                            .to(Invitation::Table, Invitation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // The worker's claim query: due messages, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_status_next_attempt")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::Status)
                    .col(EmailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("ix_email_outbox_invitation")
                    .table(EmailOutbox::Table)
                    .col(EmailOutbox::InvitationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailOutbox::Table).to_owned())
            .await
    }
}
