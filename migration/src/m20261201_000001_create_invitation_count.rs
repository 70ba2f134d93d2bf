//! Exact list totals without a scan: per-(organization, status, role) counters kept by
//! database triggers, so rows written by any client (the service, an operator's SQL, a bulk
//! load) are counted. Plus the indexes the list filters need.
//!
//! PostgreSQL: statement-level triggers with transition tables add one aggregated delta per
//! statement (a bulk insert or the expiry sweep is one upsert per key, not one per row), into
//! a counter row chosen by `pg_backend_pid() % 16`, so concurrent creates in one organization
//! on different connections update different rows and do not serialise until commit. Keys
//! are written in one fixed order, so two transactions never wait on each other crosswise.
//! Reads sum the shards. SQLite has one writer at a time: one shard, row-level triggers.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_UP: &str = r#"
CREATE TABLE invitation_count (
    organization_id uuid NOT NULL,
    status varchar(16) NOT NULL,
    role varchar(16) NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT pk_invitation_count PRIMARY KEY (organization_id, status, role, shard)
);

CREATE FUNCTION invitation_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO invitation_count AS c (organization_id, status, role, shard, n)
        SELECT organization_id, status, role, (pg_backend_pid() % 16)::smallint, count(*)
        FROM new_rows GROUP BY organization_id, status, role
        ORDER BY organization_id, status, role
        ON CONFLICT (organization_id, status, role, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO invitation_count AS c (organization_id, status, role, shard, n)
        SELECT organization_id, status, role, (pg_backend_pid() % 16)::smallint, -count(*)
        FROM old_rows GROUP BY organization_id, status, role
        ORDER BY organization_id, status, role
        ON CONFLICT (organization_id, status, role, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO invitation_count AS c (organization_id, status, role, shard, n)
        SELECT organization_id, status, role, (pg_backend_pid() % 16)::smallint, sum(d)
        FROM (
            SELECT organization_id, status, role, -1 AS d FROM old_rows
            UNION ALL
            SELECT organization_id, status, role, 1 AS d FROM new_rows
        ) delta
        GROUP BY organization_id, status, role
        HAVING sum(d) <> 0
        ORDER BY organization_id, status, role
        ON CONFLICT (organization_id, status, role, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_invitation_count_insert AFTER INSERT ON invitation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invitation_count_apply();
CREATE TRIGGER tr_invitation_count_update AFTER UPDATE ON invitation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invitation_count_apply();
CREATE TRIGGER tr_invitation_count_delete AFTER DELETE ON invitation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invitation_count_apply();

INSERT INTO invitation_count (organization_id, status, role, shard, n)
SELECT organization_id, status, role, 0, count(*) FROM invitation
GROUP BY organization_id, status, role;

CREATE INDEX ix_invitation_org_status_expires ON invitation (organization_id, status, expires_at);
CREATE INDEX ix_invitation_org_status_created_id
    ON invitation (organization_id, status, created_at DESC, id DESC);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX ix_invitation_email_trgm ON invitation USING gin (email gin_trgm_ops);
"#;

const PG_DOWN: &str = r#"
DROP INDEX IF EXISTS ix_invitation_email_trgm;
DROP INDEX IF EXISTS ix_invitation_org_status_created_id;
DROP INDEX IF EXISTS ix_invitation_org_status_expires;
DROP TRIGGER IF EXISTS tr_invitation_count_delete ON invitation;
DROP TRIGGER IF EXISTS tr_invitation_count_update ON invitation;
DROP TRIGGER IF EXISTS tr_invitation_count_insert ON invitation;
DROP FUNCTION IF EXISTS invitation_count_apply();
DROP TABLE IF EXISTS invitation_count;
"#;

const SQLITE_UP: &str = r#"
CREATE TABLE invitation_count (
    organization_id uuid_text NOT NULL,
    status varchar(16) NOT NULL,
    role varchar(16) NOT NULL,
    shard integer NOT NULL,
    n integer NOT NULL,
    CONSTRAINT pk_invitation_count PRIMARY KEY (organization_id, status, role, shard)
);

CREATE TRIGGER tr_invitation_count_insert AFTER INSERT ON invitation BEGIN
    INSERT OR IGNORE INTO invitation_count VALUES (NEW.organization_id, NEW.status, NEW.role, 0, 0);
    UPDATE invitation_count SET n = n + 1 WHERE organization_id = NEW.organization_id
        AND status = NEW.status AND role = NEW.role AND shard = 0;
END;

CREATE TRIGGER tr_invitation_count_delete AFTER DELETE ON invitation BEGIN
    INSERT OR IGNORE INTO invitation_count VALUES (OLD.organization_id, OLD.status, OLD.role, 0, 0);
    UPDATE invitation_count SET n = n - 1 WHERE organization_id = OLD.organization_id
        AND status = OLD.status AND role = OLD.role AND shard = 0;
END;

CREATE TRIGGER tr_invitation_count_update AFTER UPDATE OF organization_id, status, role ON invitation
WHEN OLD.organization_id IS NOT NEW.organization_id OR OLD.status IS NOT NEW.status
    OR OLD.role IS NOT NEW.role
BEGIN
    UPDATE invitation_count SET n = n - 1 WHERE organization_id = OLD.organization_id
        AND status = OLD.status AND role = OLD.role AND shard = 0;
    INSERT OR IGNORE INTO invitation_count VALUES (NEW.organization_id, NEW.status, NEW.role, 0, 0);
    UPDATE invitation_count SET n = n + 1 WHERE organization_id = NEW.organization_id
        AND status = NEW.status AND role = NEW.role AND shard = 0;
END;

INSERT INTO invitation_count (organization_id, status, role, shard, n)
SELECT organization_id, status, role, 0, count(*) FROM invitation
GROUP BY organization_id, status, role;

CREATE INDEX ix_invitation_org_status_expires ON invitation (organization_id, status, expires_at);
CREATE INDEX ix_invitation_org_status_created_id
    ON invitation (organization_id, status, created_at DESC, id DESC);
"#;

const SQLITE_DOWN: &str = r#"
DROP INDEX IF EXISTS ix_invitation_org_status_created_id;
DROP INDEX IF EXISTS ix_invitation_org_status_expires;
DROP TRIGGER IF EXISTS tr_invitation_count_update;
DROP TRIGGER IF EXISTS tr_invitation_count_delete;
DROP TRIGGER IF EXISTS tr_invitation_count_insert;
DROP TABLE IF EXISTS invitation_count;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, PG_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, PG_DOWN, SQLITE_DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, postgres: &str, sqlite: &str) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Postgres => postgres,
        DbBackend::Sqlite => sqlite,
        other => {
            return Err(DbErr::Migration(format!(
                "invitation counters are not written for {other:?}"
            )));
        }
    };
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}
