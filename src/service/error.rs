//! What the service layer reports: domain outcomes in domain words. `crate::error` is the one
//! translation of these to HTTP.

use std::ops::Deref;

use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};
use uuid::Uuid;

/// A state change the current state does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Revoke,
    Resend,
    Update,
}

/// Every way a service call can fail.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no such invitation")]
    InvitationNotFound,
    #[error("no such webhook")]
    WebhookNotFound,
    /// A webhook URL that may not be registered; the reason reads after `url: `.
    #[error("unsafe webhook url: {0}")]
    UnsafeWebhookUrl(String),
    #[error("the email belongs to a member of the organization")]
    AlreadyAMember,
    /// An email the pattern admits but the service cannot stand behind (an `xn--` label that
    /// is not a real internationalised label).
    #[error("the email address is not valid")]
    InvalidEmail,
    /// A live pending invitation exists for the email (`existing`, when it could be read).
    #[error("a pending invitation already exists for this email")]
    PendingExists { existing: Option<Uuid> },
    #[error("the invitation's state does not allow {0:?}")]
    NotAllowed(Transition),
    /// An explicit `expiresAt` outside now + 5 minutes .. now + `max`.
    #[error("expiresAt is out of bounds")]
    ExpiryOutOfBounds { max: std::time::Duration },
    /// The latest email of the invitation is younger than `RESEND_COOLDOWN`.
    #[error("resent too soon; wait {wait:?}")]
    ResendTooSoon { wait: std::time::Duration },
    #[error("no invitation token was given")]
    TokenMissing,
    #[error("the invitation has expired")]
    Expired,
    #[error("the invitation has already been accepted")]
    AlreadyAccepted,
    #[error("the caller's email is not the invited one")]
    EmailMismatch,
    /// The database cannot be reached or is shutting down; worth retrying.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    #[error("database error")]
    Database(#[source] DbErr),
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// A failure of the database rather than a refusal of the request.
    pub fn is_database(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Database(_) | Self::Internal(_)
        )
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// True for a unique-constraint violation: the one portable way to recognise it.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Failures that say "the database is not there right now", by kind and SQLSTATE, never by
/// message text: no connection from the pool, I/O and TLS failures, PostgreSQL class 08
/// (connection exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now),
/// 57014 and 55P03 (a `statement_timeout` or `lock_timeout` fired), and SQLite's `SQLITE_BUSY`
/// and `SQLITE_LOCKED` families.
pub fn is_unavailable(err: &DbErr) -> bool {
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx_err) = runtime else {
        return matches!(err, DbErr::Conn(_));
    };
    match sqlx_err.deref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => matches!(err, DbErr::Conn(_)),
    }
}

/// PostgreSQL SQLSTATEs and SQLite (extended) result codes that mean "retry later".
fn unavailable_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "57014" | "55P03") {
        return true;
    }
    // SQLite reports its numeric result code; the primary code is the low byte.
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_are_recognised_and_others_are_not() {
        for code in [
            "08006", "08P01", "57P01", "57P02", "57P03", "57014", "55P03", "5", "517", "6", "262",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "40001", "19", "2067"] {
            assert!(!unavailable_code(code), "{code}");
        }
        assert!(is_unavailable(&DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout
        )));
        assert!(!is_unavailable(&DbErr::RecordNotFound("x".to_owned())));
    }
}
