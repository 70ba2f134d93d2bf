//! The email outbox: messages are queued in the same transaction as the invitation change and
//! delivered later by the worker. Several instances share the work through a lease: a claim
//! marks rows with a lock owner and an expiry in one statement (on PostgreSQL over
//! `FOR UPDATE SKIP LOCKED`), so no two instances hold the same message.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Statement, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entity::email_outbox::{self as outbox, OutboxStatus},
    service::now,
};

/// Queues one invitation email carrying `token`. Call inside the invitation's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    invitation_id: Uuid,
    recipient: &str,
    token: &str,
) -> Result<(), DbErr> {
    let now = now();
    let row = outbox::Model {
        id: Uuid::now_v7(),
        invitation_id,
        recipient: recipient.to_owned(),
        token: Some(token.to_owned()),
        status: OutboxStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        locked_until: None,
        lock_owner: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        sent_at: None,
    };
    outbox::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Cancels (and wipes the token of) every undelivered message for an invitation.
pub async fn cancel_pending(db: &impl ConnectionTrait, invitation_id: Uuid) -> Result<(), DbErr> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Cancelled))
        .col_expr(outbox::Column::Token, Expr::value(Option::<String>::None))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now()))
        .filter(outbox::Column::InvitationId.eq(invitation_id))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Claims up to `limit` due messages for the length of `lease`. Each claim has its own owner
/// id, so what it returns is exactly what this call locked.
pub async fn claim(
    db: &DatabaseConnection,
    limit: u64,
    lease: Duration,
) -> Result<Vec<outbox::Model>, DbErr> {
    let owner = Uuid::now_v7();
    let now = now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let backend = db.get_database_backend();
    let (sql, values) = match backend {
        DatabaseBackend::Postgres => (
            "UPDATE email_outbox SET lock_owner = $1, locked_until = $2 WHERE id IN (\
               SELECT id FROM email_outbox WHERE status = 'PENDING' AND next_attempt_at <= $3 \
               AND (locked_until IS NULL OR locked_until < $3) \
               ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)",
            vec![
                owner.into(),
                until.into(),
                now.into(),
                (limit as i64).into(),
            ],
        ),
        _ => (
            "UPDATE email_outbox SET lock_owner = ?, locked_until = ? WHERE id IN (\
               SELECT id FROM email_outbox WHERE status = 'PENDING' AND next_attempt_at <= ? \
               AND (locked_until IS NULL OR locked_until < ?) \
               ORDER BY next_attempt_at, id LIMIT ?)",
            vec![
                owner.into(),
                until.into(),
                now.into(),
                now.into(),
                (limit as i64).into(),
            ],
        ),
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    outbox::Entity::find()
        .filter(outbox::Column::LockOwner.eq(owner))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .order_by_asc(outbox::Column::NextAttemptAt)
        .all(db)
        .await
}

/// Records a delivery and forgets the token.
pub async fn mark_sent(db: &DatabaseConnection, message: &outbox::Model) -> Result<(), DbErr> {
    let now = now();
    let mut row = message.clone().into_active_model();
    row.status = sea_orm::Set(OutboxStatus::Sent);
    row.token = sea_orm::Set(None);
    row.attempts = sea_orm::Set(message.attempts + 1);
    row.sent_at = sea_orm::Set(Some(now));
    row.updated_at = sea_orm::Set(now);
    row.locked_until = sea_orm::Set(None);
    row.last_error = sea_orm::Set(None);
    row.update(db).await?;
    Ok(())
}

/// Records a failed attempt: retry after `backoff`, or give up (wiping the token) once
/// `max_attempts` is reached. The error is kept on the row either way.
pub async fn mark_failed(
    db: &DatabaseConnection,
    message: &outbox::Model,
    error: &str,
    backoff: Duration,
    max_attempts: i32,
) -> Result<OutboxStatus, DbErr> {
    let now = now();
    let attempts = message.attempts + 1;
    let give_up = attempts >= max_attempts;
    let mut row = message.clone().into_active_model();
    row.attempts = sea_orm::Set(attempts);
    row.last_error = sea_orm::Set(Some(error.chars().take(2000).collect()));
    row.updated_at = sea_orm::Set(now);
    row.locked_until = sea_orm::Set(None);
    if give_up {
        row.status = sea_orm::Set(OutboxStatus::Failed);
        row.token = sea_orm::Set(None);
    } else {
        row.next_attempt_at = sea_orm::Set(next_attempt(now, backoff));
    }
    row.update(db).await?;
    Ok(if give_up {
        OutboxStatus::Failed
    } else {
        OutboxStatus::Pending
    })
}

fn next_attempt(now: DateTime<Utc>, backoff: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::hours(1))
}

/// Exponential backoff: `base * 2^(attempts-1)`, capped at one hour.
pub fn backoff(base: Duration, attempts_so_far: i32) -> Duration {
    let exp = u32::try_from(attempts_so_far.clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 0), Duration::from_secs(5));
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 3), Duration::from_secs(40));
        assert_eq!(backoff(base, 30), Duration::from_secs(3600));
    }
}
