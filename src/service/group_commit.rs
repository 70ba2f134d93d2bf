//! Group commit on SQLite, for the hot writes: a single create, and the email worker's record
//! of a sent or failed message. SQLite takes one writer at a time, so concurrent writes queue
//! anyway; instead of each taking the write permit for its own `BEGIN`, batch and `COMMIT`
//! (three round trips to the database thread and a hand-over of the permit per write), they
//! queue here, and one writer task per database file takes every write waiting (up to
//! [`MAX_GROUP`]) into one transaction, under the write permit:
//!
//! `BEGIN IMMEDIATE`, then per write one round trip `SAVEPOINT; <its batch>; RELEASE`, then
//! one `COMMIT` for the group; only then does each write hear that it is committed.
//!
//! A write that fails (the partial unique index refusing a second live pending invitation,
//! say) is rolled back to its savepoint and hears its own error; the others go on. A failure
//! of the group's `BEGIN` or `COMMIT`, or of a rollback to a savepoint, fails every write of
//! the group not already answered, with that error, and commits none of them. A write whose
//! caller is gone (a client that hung up, a deadline) before its turn is not made.
//!
//! The writer task lives on the runtime of the first write to a file; if that runtime has
//! gone (tests run one per test), the next write starts a new one.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{LazyLock, Mutex, PoisonError},
};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult, Statement,
};
use tokio::sync::{mpsc, oneshot};

use super::{WriteTxn, begin_write};

/// The most writes one transaction takes.
const MAX_GROUP: usize = 64;

/// One write's statements, and where to say how they went (the rows its `SELECT`s returned).
struct Job {
    /// The pool it came through: a group runs on its first write's pool (all of them reach
    /// the same file), so a pool closed meanwhile fails only the writes made through it.
    db: DatabaseConnection,
    batch: Statement,
    done: oneshot::Sender<Result<Vec<QueryResult>, DbErr>>,
}

/// The queue of each SQLite database file's writer task in this process.
static WRITERS: LazyLock<Mutex<HashMap<PathBuf, mpsc::UnboundedSender<Job>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Runs `batch` (one write's statements, SQLite) in the next group transaction on `db`'s
/// file; returns the rows its `SELECT`s returned, if any, once that transaction committed,
/// or the error that kept it out. (Not the rows changed: sqlx reads `sqlite3_changes()`
/// after every statement, which a `SAVEPOINT` leaves at the previous write's count.)
pub async fn write(db: &DatabaseConnection, batch: Statement) -> Result<Vec<QueryResult>, DbErr> {
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let (done, outcome) = oneshot::channel();
    let mut job = Job {
        db: db.clone(),
        batch,
        done,
    };
    // Twice at most: a queue whose task went with its runtime is replaced once.
    for _ in 0..2 {
        let queue = {
            let mut writers = WRITERS.lock().unwrap_or_else(PoisonError::into_inner);
            let queue = writers.entry(file.clone()).or_insert_with(spawn);
            if queue.is_closed() {
                *queue = spawn();
            }
            queue.clone()
        };
        match queue.send(job) {
            Ok(()) => {
                return outcome
                    .await
                    .map_err(|_| DbErr::Custom("the SQLite writer task stopped".into()))?;
            }
            Err(mpsc::error::SendError(back)) => job = back,
        }
    }
    Err(DbErr::Custom(
        "no SQLite writer task could be started".into(),
    ))
}

fn spawn() -> mpsc::UnboundedSender<Job> {
    let (queue, jobs) = mpsc::unbounded_channel();
    tokio::spawn(run(jobs));
    queue
}

/// The writer task: one group transaction at a time, while writes keep coming.
async fn run(mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let wanted: Vec<Job> = group
            .drain(..)
            .filter(|job| !job.done.is_closed())
            .collect();
        if let Some(db) = wanted.first().map(|job| job.db.clone()) {
            commit(&db, wanted).await;
        }
    }
}

/// Writes `group` in one transaction and answers each write.
async fn commit(db: &DatabaseConnection, group: Vec<Job>) {
    let txn = match begin_write(db).await {
        Ok(txn) => txn,
        Err(err) => return fail(group.into_iter().map(|job| job.done), &err),
    };
    let mut written = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    while let Some(job) = jobs.next() {
        match write_one(&txn, job.batch).await {
            Ok(rows) => written.push((job.done, rows)),
            Err(Step::Refused(err)) => {
                let _ = job.done.send(Err(err));
            }
            Err(Step::Broken(err)) => {
                let _ = txn.rollback().await;
                let rest = jobs.map(|job| job.done);
                let written = written.into_iter().map(|(done, _)| done);
                let all = written.chain([job.done]).chain(rest);
                return fail(all, &err);
            }
        }
    }
    match txn.commit().await {
        Ok(()) => {
            for (done, rows) in written {
                let _ = done.send(Ok(rows));
            }
        }
        Err(err) => fail(written.into_iter().map(|(done, _)| done), &err),
    }
}

enum Step {
    /// This write failed and was rolled back to its savepoint; the group goes on.
    Refused(DbErr),
    /// The transaction cannot go on.
    Broken(DbErr),
}

/// One write in its savepoint, in one round trip (a second to roll back on failure); the rows
/// its `SELECT`s returned.
async fn write_one(txn: &WriteTxn, batch: Statement) -> Result<Vec<QueryResult>, Step> {
    let sql = format!("SAVEPOINT one_write;\n{}\nRELEASE one_write;", batch.sql);
    let values = batch.values.map(|v| v.0).unwrap_or_default();
    let statement = Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values);
    let err = match txn.query_all_raw(statement).await {
        Ok(rows) => return Ok(rows),
        Err(err) => err,
    };
    txn.execute_unprepared("ROLLBACK TO one_write; RELEASE one_write;")
        .await
        .map_err(Step::Broken)?;
    Err(Step::Refused(err))
}

fn fail(jobs: impl Iterator<Item = oneshot::Sender<Result<Vec<QueryResult>, DbErr>>>, err: &DbErr) {
    for done in jobs {
        let _ = done.send(Err(err.clone()));
    }
}
