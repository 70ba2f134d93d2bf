//! Business rules and SeaORM queries. No poem types in any signature; failures are
//! [`ServiceError`]s.

pub mod acceptance;
pub mod counts;
mod error;
pub mod events;
pub mod idempotency;
pub mod invitations;
pub mod mailbox;
pub mod members;
pub mod outbox;
pub mod state;
pub mod tokens;
pub mod webhooks;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
pub use error::{ServiceError, ServiceResult, Transition, is_unavailable, is_unique_violation};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// The current time at the precision the API reports (milliseconds), so what is stored and
/// what is returned compare equal.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing
/// with `database is locked` when a read transaction tries to upgrade. PostgreSQL ignores
/// the SQLite mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Normalises an email the one way the service compares them.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}
