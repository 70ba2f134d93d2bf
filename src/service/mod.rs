//! Business rules and SeaORM queries. No poem types in any signature; failures are
//! [`ServiceError`]s.

pub mod acceptance;
pub mod counts;
mod error;
pub mod events;
pub mod group_commit;
pub mod idempotency;
pub mod invitations;
pub mod lease;
pub mod mailbox;
pub mod members;
pub mod outbox;
pub mod plan;
pub mod state;
pub mod tokens;
pub mod webhooks;
pub mod write_lock;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
pub use error::{ServiceError, ServiceResult, Transition, is_unavailable, is_unique_violation};
use sea_orm::{
    DatabaseConnection, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
pub use write_lock::WriteTxn;

/// The current time at the precision the API reports (milliseconds), so what is stored and
/// what is returned compare equal.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now)
}

/// Starts a transaction that will write. On SQLite it first takes this process's write permit
/// (see [`write_lock`]), so concurrent writers queue in process, then the write lock up front
/// (`BEGIN IMMEDIATE`), so a read transaction never fails with `database is locked` trying to
/// upgrade. PostgreSQL takes no permit and ignores the SQLite mode.
///
/// The `BEGIN` runs in a task of its own that always finishes, even when the caller is gone
/// (a client that hung up, a deadline): sqlx 0.9.0 on PostgreSQL counts a transaction only
/// once the server has answered its `BEGIN`, so a caller dropped during that round trip left
/// the connection inside a transaction nothing rolled back, and the pool handed it on. The
/// next borrower's statements (the outbox claim, say) then ran in it, uncommitted and holding
/// their row locks. Finished, an unwanted transaction is dropped and rolled back as usual.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let permit = write_lock::write_permit(db).await?;
    let db = db.clone();
    let begin = tokio::spawn(async move {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        db.begin_with_options(options).await
    });
    let txn = begin
        .await
        .map_err(|e| DbErr::Custom(format!("BEGIN task: {e}")))??;
    Ok(WriteTxn::new(txn, permit))
}

/// Normalises an email the one way the service compares them.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}
