use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    Status,
    InvitedBy,
    TokenHash,
    ExpiresAt,
    AcceptedAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitation::Table)
                    .col(uuid(Invitation::Id).primary_key())
                    .col(uuid(Invitation::OrganizationId))
                    .col(string_len(Invitation::Email, 254))
                    .col(string_len(Invitation::Role, 16))
                    .col(string_len(Invitation::Status, 16))
                    .col(string_len(Invitation::InvitedBy, 255))
                    .col(string_len_null(Invitation::TokenHash, 64))
                    .col(timestamp_with_time_zone(Invitation::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitation::AcceptedAt))
                    .col(timestamp_with_time_zone(Invitation::CreatedAt))
                    .col(timestamp_with_time_zone(Invitation::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        // At most one PENDING invitation per (organization, email): the database, not the
        // handler, decides which of several concurrent creates wins.
        manager
            .create_index(
                Index::create()
                    .name("ux_invitation_pending_org_email")
                    .table(Invitation::Table)
                    .col(Invitation::OrganizationId)
                    .col(Invitation::Email)
                    .unique()
                    .and_where(Expr::col(Invitation::Status).eq("PENDING"))
                    .to_owned(),
            )
            .await?;

        // Serves the list query (newest first inside one organization) without a sort.
        manager
            .create_index(
                Index::create()
                    .name("ix_invitation_org_created_id")
                    .table(Invitation::Table)
                    .col(Invitation::OrganizationId)
                    .col((Invitation::CreatedAt, IndexOrder::Desc))
                    .col((Invitation::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;

        // Tokens are looked up by their hash; two invitations can never share one.
        manager
            .create_index(
                Index::create()
                    .name("ux_invitation_token_hash")
                    .table(Invitation::Table)
                    .col(Invitation::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitation::Table).to_owned())
            .await
    }
}
