//! PostgreSQL: an index on each invitation's local part, reversed, so an `email` filter that
//! holds the `@` (`ana@`, `ana@example.com`) finds its few rows by a range scan: such a match
//! needs the local part to end with the text before the `@`, which is a prefix of the reversed
//! local part. The trigram index cannot do this cheaply when the addresses share a domain:
//! the domain's trigrams are in every row, and reading their posting lists took ~50 ms per
//! query at 1,000,000 rows. `COLLATE "C"` makes the order byte order, so a prefix is a range
//! whatever the database's collation. Nothing on SQLite (it scans the organization's rows).

use sea_orm_migration::prelude::*;

use crate::postgres_only;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only::run(
            manager,
            &["CREATE INDEX ix_invitation_org_local_rev ON invitation \
               (organization_id, (reverse(split_part(email, '@', 1)) COLLATE \"C\"))"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only::run(
            manager,
            &["DROP INDEX IF EXISTS ix_invitation_org_local_rev"],
        )
        .await
    }
}
