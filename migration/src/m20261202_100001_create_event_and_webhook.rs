//! §10.6 and §10.7: the audit trail of invitation events, the organizations' webhook
//! endpoints, and the webhook outbox (one row per event and endpoint, written in the event's
//! transaction and claimed by the delivery worker the way the email outbox is).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
    OrganizationId,
    InvitationId,
    Type,
    Actor,
    RequestId,
    OccurredAt,
    Data,
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    OrganizationId,
    Url,
    EventTypes,
    Description,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    WebhookId,
    EventId,
    EventType,
    Status,
    Attempts,
    ResponseStatus,
    LastError,
    AttemptedAt,
    NextAttemptAt,
    LockedUntil,
    LockOwner,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(uuid(Event::Id).primary_key())
                    .col(uuid(Event::OrganizationId))
                    .col(uuid(Event::InvitationId))
                    .col(string_len(Event::Type, 64))
                    .col(string_len_null(Event::Actor, 255))
                    .col(string_len_null(Event::RequestId, 128))
                    .col(timestamp_with_time_zone(Event::OccurredAt))
                    // The event's `data` object as JSON text (never a token).
                    .col(text(Event::Data))
                    .to_owned(),
            )
            .await?;
        // listEvents: newest first within an organization, optionally by invitation or type.
        for (name, filter) in [
            ("ix_event_org_occurred", None),
            (
                "ix_event_org_invitation_occurred",
                Some(Event::InvitationId),
            ),
            ("ix_event_org_type_occurred", Some(Event::Type)),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(Event::Table)
                .col(Event::OrganizationId);
            if let Some(column) = filter {
                index.col(column);
            }
            index.col(Event::OccurredAt).col(Event::Id);
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .col(uuid(Webhook::Id).primary_key())
                    .col(uuid(Webhook::OrganizationId))
                    .col(string_len(Webhook::Url, 2048))
                    // Comma-delimited with a leading and trailing comma (`,a,b,` or `,*,`).
                    .col(string_len(Webhook::EventTypes, 1024))
                    .col(string_len_null(Webhook::Description, 500))
                    // `whsec_` + base64 of 32 bytes: needed in clear to sign every delivery.
                    .col(string_len(Webhook::Secret, 64))
                    .col(timestamp_with_time_zone(Webhook::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_org_created")
                    .table(Webhook::Table)
                    .col(Webhook::OrganizationId)
                    .col(Webhook::CreatedAt)
                    .col(Webhook::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(uuid(WebhookDelivery::Id).primary_key())
                    .col(uuid(WebhookDelivery::WebhookId))
                    .col(uuid(WebhookDelivery::EventId))
                    .col(string_len(WebhookDelivery::EventType, 64))
                    .col(string_len(WebhookDelivery::Status, 16))
                    .col(integer(WebhookDelivery::Attempts).default(0))
                    .col(integer_null(WebhookDelivery::ResponseStatus))
                    .col(text_null(WebhookDelivery::LastError))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::AttemptedAt))
                    .col(timestamp_with_time_zone(WebhookDelivery::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::LockedUntil))
                    .col(uuid_null(WebhookDelivery::LockOwner))
                    .col(timestamp_with_time_zone(WebhookDelivery::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_webhook")
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_delivery_event")
                            .from(WebhookDelivery::Table, WebhookDelivery::EventId)
                            .to(Event::Table, Event::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // listWebhookDeliveries: newest first per endpoint.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_delivery_webhook_created")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::WebhookId)
                    .col(WebhookDelivery::CreatedAt)
                    .col(WebhookDelivery::Id)
                    .to_owned(),
            )
            .await?;
        // The claim: due deliveries that are still to be made.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_delivery_due")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::Status)
                    .col(WebhookDelivery::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDelivery::Table.into_iden(),
            Webhook::Table.into_iden(),
            Event::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
