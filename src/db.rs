//! Database connection: one pool, tuned per engine.

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// Opens the pool. On SQLite: WAL (readers never wait for the writer), a busy timeout (writers
/// in other processes queue instead of failing; this process's queue on the write permit),
/// foreign keys on, and a few connections so reads run in parallel with the one writer SQLite
/// allows, each with a page cache of [`SQLITE_CACHE_KIB`] (SQLite's default is 2 MiB per
/// connection; the OS page cache holds the file anyway), all of SQLite's memory kept near
/// [`SQLITE_SOFT_HEAP_LIMIT`], and temporary storage in memory.
///
/// Temporary storage holds the savepoints' journal: group commit (`service::group_commit`)
/// runs each write of a group in a savepoint, which copies every page the write changes first.
/// On disk, past 64 KiB that journal went to a temporary file, opened, written and closed per
/// group: the largest share of the SQLite threads' writes under creates (perf, 10k rows). It
/// lives for one transaction, a group of at most 64 writes of a few pages each.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if is_sqlite(url) {
            SQLITE_CONNECTIONS
        } else {
            16
        })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // A connection in use is not pinged before each statement (a round trip per acquire,
        // the default); one idle for a while is, since that is when a server, a proxy or a
        // firewall may have dropped it.
        .test_before_acquire_if_idle_for(Duration::from_secs(10))
        .sqlx_logging(false)
        // Server-side deadlines, below the request deadline, so a stuck statement or a lock
        // queue ends as an error (SQLSTATE 57014 / 55P03: 503) rather than a hang; keepalive
        // probes from the server, so a session whose client vanished frees its locks.
        // (sqlx offers no client-side TCP keepalive; the request deadline bounds our waits.)
        .map_sqlx_postgres_opts(|opts| {
            opts.options([
                ("statement_timeout", "15s"),
                ("lock_timeout", "5s"),
                ("idle_in_transaction_session_timeout", "30s"),
                ("tcp_keepalives_idle", "60"),
                ("tcp_keepalives_interval", "10"),
                ("tcp_keepalives_count", "3"),
            ])
        })
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
                .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                .pragma("soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT.to_string())
                .pragma("temp_store", "memory")
        });
    Database::connect(options).await
}

/// SQLite pool size: enough readers for the cores this runs on, next to the one writer.
const SQLITE_CONNECTIONS: u32 = 4;

/// SQLite page cache per connection, in KiB.
const SQLITE_CACHE_KIB: u32 = 1024;

/// What SQLite may hold in all, in bytes: its page caches, prepared statements and the rest,
/// across every connection (process-wide: `sqlite3_soft_heap_limit64`). Past it, SQLite reuses
/// page-cache pages instead of allocating more. Without it a scan (an `email=` list, which
/// SQLite answers by reading every row of the organization) filled each connection's cache and
/// the server stayed about 7 MB larger (bench, 10k rows: RSS 44.2 MB without, 37.3 MB with
/// 4 MiB, throughput within the run's noise).
pub const SQLITE_SOFT_HEAP_LIMIT: u64 = 4 * 1024 * 1024;

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Applies every pending migration (at `serve`, `members add` and `migrate up`).
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// Rolls back the `steps` most recent migrations.
pub async fn migrate_down(db: &DatabaseConnection, steps: u32) -> Result<(), DbErr> {
    migration::Migrator::down(db, Some(steps)).await
}

/// Each migration's name and whether it is applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(migration::Migrator::get_migration_with_status(db)
        .await?
        .into_iter()
        .map(|m| {
            let applied = matches!(m.status(), migration::MigrationStatus::Applied);
            (m.name().to_owned(), applied)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Statement};

    use super::*;

    /// The value of `PRAGMA name` on a connection of a pool opened by [`connect`] on a fresh
    /// SQLite file.
    async fn sqlite_pragma(name: &str) -> i64 {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}?mode=rwc", dir.path().join("t.db").display());
        let db = connect(&url).await.expect("connect");
        let backend = db.get_database_backend();
        let row = db
            .query_one_raw(Statement::from_string(backend, format!("PRAGMA {name}")))
            .await
            .expect("query")
            .expect("a row");
        row.try_get_by_index(0).expect("an integer")
    }

    /// The limit is set on every connection the pool opens (the pragma is process-wide, so
    /// each connection reads it back).
    #[tokio::test]
    async fn sqlite_memory_is_capped() {
        let limit = sqlite_pragma("soft_heap_limit").await;
        assert_eq!(u64::try_from(limit).ok(), Some(SQLITE_SOFT_HEAP_LIMIT));
    }

    /// Temporary storage (the savepoints' journal) is in memory: 2 is `MEMORY` (0 would be the
    /// compiled default, a file past 64 KiB).
    #[tokio::test]
    async fn sqlite_temporary_storage_is_in_memory() {
        assert_eq!(sqlite_pragma("temp_store").await, 2);
    }
}
