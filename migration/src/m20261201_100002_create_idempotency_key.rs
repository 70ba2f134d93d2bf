//! §10.5: idempotency keys. One row per (organization, caller, key): while the first request
//! runs it holds the row (`owner`, `locked_until`); once it has answered, the row keeps that
//! answer for 24 hours (`expires_at`), and the worker purges it after.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    OrganizationId,
    Caller,
    Key,
    Fingerprint,
    Owner,
    LockedUntil,
    ResponseStatus,
    ResponseBody,
    ResponseLocation,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .col(uuid(IdempotencyKey::OrganizationId))
                    .col(string_len(IdempotencyKey::Caller, 255))
                    .col(string_len(IdempotencyKey::Key, 255))
                    // SHA-256 (hex) of the operation, its path and its canonical body.
                    .col(string_len(IdempotencyKey::Fingerprint, 64))
                    // Set while the first request runs; NULL once its answer is stored.
                    .col(uuid_null(IdempotencyKey::Owner))
                    .col(timestamp_with_time_zone_null(IdempotencyKey::LockedUntil))
                    .col(integer_null(IdempotencyKey::ResponseStatus))
                    .col(text_null(IdempotencyKey::ResponseBody))
                    .col(string_len_null(IdempotencyKey::ResponseLocation, 255))
                    .col(timestamp_with_time_zone(IdempotencyKey::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKey::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKey::OrganizationId)
                            .col(IdempotencyKey::Caller)
                            .col(IdempotencyKey::Key),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge: everything past its retention.
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_key_expires_at")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKey::Table).to_owned())
            .await
    }
}
