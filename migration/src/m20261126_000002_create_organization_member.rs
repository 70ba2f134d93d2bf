use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrganizationMember {
    Table,
    OrganizationId,
    UserId,
    Email,
    Role,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrganizationMember::Table)
                    .col(uuid(OrganizationMember::OrganizationId))
                    .col(string_len(OrganizationMember::UserId, 255))
                    .col(string_len(OrganizationMember::Email, 254))
                    .col(string_len(OrganizationMember::Role, 16))
                    .col(timestamp_with_time_zone(OrganizationMember::CreatedAt))
                    .col(timestamp_with_time_zone(OrganizationMember::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .name("pk_organization_member")
                            .col(OrganizationMember::OrganizationId)
                            .col(OrganizationMember::UserId),
                    )
                    .to_owned(),
            )
            .await?;

        // ALREADY_A_MEMBER looks members up by (organization, email).
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_member_org_email")
                    .table(OrganizationMember::Table)
                    .col(OrganizationMember::OrganizationId)
                    .col(OrganizationMember::Email)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrganizationMember::Table).to_owned())
            .await
    }
}
