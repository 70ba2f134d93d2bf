//! SQLite allows one writer at a time. Left to the busy timeout, concurrent writers poll the
//! lock with growing sleeps (up to 100 ms each), which is what made the create p99 192 ms at
//! 32 connections. Instead every write transaction, and every write statement of the worker,
//! first takes this process's write permit for the database file: writers queue in order and
//! each starts as soon as the previous one commits. The busy timeout still covers writers in
//! other processes. PostgreSQL takes no permit.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, Statement,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One permit per SQLite database file in this process.
static PERMITS: LazyLock<Mutex<HashMap<PathBuf, Arc<Semaphore>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The right to write `db` now, held until dropped; `None` on PostgreSQL.
pub async fn write_permit(db: &DatabaseConnection) -> Result<Option<OwnedSemaphorePermit>, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let semaphore = {
        let mut permits = PERMITS.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            permits
                .entry(file)
                .or_insert_with(|| Arc::new(Semaphore::new(1))),
        )
    };
    semaphore
        .acquire_owned()
        .await
        .map(Some)
        .map_err(|e| DbErr::Custom(format!("write permit: {e}")))
}

/// A write transaction together with the write permit it holds until commit or rollback.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _permit: Option<OwnedSemaphorePermit>,
}

impl WriteTxn {
    pub(super) fn new(txn: DatabaseTransaction, permit: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            txn,
            _permit: permit,
        }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl std::ops::Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}
