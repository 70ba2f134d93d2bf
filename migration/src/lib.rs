//! Schema migrations for voke-invitations. Append-only: a landed migration is never edited.

pub use sea_orm_migration::{MigrationStatus, prelude::*};

mod m20261126_000001_create_invitation;
mod m20261126_000002_create_organization_member;
mod m20261126_000003_create_email_outbox;
mod m20261201_000001_create_invitation_count;
mod m20261201_100001_invitation_delivery;
mod m20261201_100002_create_idempotency_key;
mod m20261202_000001_email_outbox_notify;
mod m20261202_100001_create_event_and_webhook;
mod m20261202_200001_invitation_email_local_index;
mod m20261202_200002_organization_member_notify;
mod m20261203_000001_email_outbox_notify_after_commit;
mod postgres_only;

/// Every migration, in the order it is applied.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_invitation::Migration),
            Box::new(m20261126_000002_create_organization_member::Migration),
            Box::new(m20261126_000003_create_email_outbox::Migration),
            Box::new(m20261201_000001_create_invitation_count::Migration),
            Box::new(m20261201_100001_invitation_delivery::Migration),
            Box::new(m20261201_100002_create_idempotency_key::Migration),
            Box::new(m20261202_000001_email_outbox_notify::Migration),
            Box::new(m20261202_100001_create_event_and_webhook::Migration),
            Box::new(m20261202_200001_invitation_email_local_index::Migration),
            Box::new(m20261202_200002_organization_member_notify::Migration),
            Box::new(m20261203_000001_email_outbox_notify_after_commit::Migration),
        ]
    }
}
