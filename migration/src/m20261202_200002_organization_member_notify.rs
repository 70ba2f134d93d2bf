//! PostgreSQL: every change to `organization_member` notifies channel `organization_member`
//! with the organization's id (delivered at commit), so each instance drops the roles it
//! cached for that organization at once instead of trusting them until their TTL, whoever
//! made the change (another instance, the CLI, an operator's SQL). Nothing on SQLite.

use sea_orm_migration::prelude::*;

use crate::postgres_only;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only::run(
            manager,
            &[
                "CREATE OR REPLACE FUNCTION organization_member_notify() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                 PERFORM pg_notify('organization_member', \
                     COALESCE(NEW.organization_id, OLD.organization_id)::text); \
                 RETURN NULL; END $$",
                "CREATE TRIGGER organization_member_notify \
                 AFTER INSERT OR UPDATE OR DELETE ON organization_member \
                 FOR EACH ROW EXECUTE FUNCTION organization_member_notify()",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        postgres_only::run(
            manager,
            &[
                "DROP TRIGGER IF EXISTS organization_member_notify ON organization_member",
                "DROP FUNCTION IF EXISTS organization_member_notify()",
            ],
        )
        .await
    }
}
