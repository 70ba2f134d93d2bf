//! The claim both outboxes (email and webhooks) share: one statement marks up to `limit` due
//! rows with a fresh owner id and a lease end (on PostgreSQL over `FOR UPDATE SKIP LOCKED`,
//! so concurrent claims on any instance take disjoint rows), under this process's SQLite
//! write permit. Every later write of the holder is conditional on that owner.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement};
use uuid::Uuid;

use super::{now, write_lock::write_permit};

/// What to claim: rows of `table` whose `status` is one of `open` (SQL string literals, such
/// as `'PENDING'`), due by `next_attempt_at` and not under another live lease.
pub struct Queue {
    pub table: &'static str,
    pub open: &'static str,
}

/// Claims up to `limit` rows for `lease`; returns the owner id they now carry and how many.
pub async fn claim(
    db: &DatabaseConnection,
    queue: &Queue,
    limit: u64,
    lease: Duration,
) -> Result<(Uuid, u64), DbErr> {
    let owner = Uuid::now_v7();
    let now = now();
    let until = later(now, lease);
    let backend = db.get_database_backend();
    let Queue { table, open } = queue;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (sql, values) = match backend {
        DatabaseBackend::Postgres => (
            format!(
                "UPDATE {table} SET lock_owner = $1, locked_until = $2 WHERE id IN (\
                   SELECT id FROM {table} WHERE status IN ({open}) AND next_attempt_at <= $3 \
                   AND (locked_until IS NULL OR locked_until < $3) \
                   ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)"
            ),
            vec![owner.into(), until.into(), now.into(), limit.into()],
        ),
        _ => (
            format!(
                "UPDATE {table} SET lock_owner = ?, locked_until = ? WHERE id IN (\
                   SELECT id FROM {table} WHERE status IN ({open}) AND next_attempt_at <= ? \
                   AND (locked_until IS NULL OR locked_until < ?) \
                   ORDER BY next_attempt_at, id LIMIT ?)"
            ),
            vec![
                owner.into(),
                until.into(),
                now.into(),
                now.into(),
                limit.into(),
            ],
        ),
    };
    let _permit = write_permit(db).await?;
    let claimed = db
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok((owner, claimed.rows_affected()))
}

/// `at + by`, saturating at a day for durations chrono cannot hold.
pub fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::hours(24))
}
