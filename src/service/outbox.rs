//! The email outbox: messages are queued in the same transaction as the invitation change and
//! delivered later by the worker. Several instances share the work through a lease: a claim
//! marks rows with a lock owner and an expiry in one statement (on PostgreSQL over
//! `FOR UPDATE SKIP LOCKED`), so no two instances hold the same message. A lease can run out
//! while its holder is busy, so every later write is conditional on still holding the message
//! (`WHERE id = ? AND lock_owner = ? AND status = 'PENDING'`), and the holder renews that
//! message's lease right before sending it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef,
    UpdateMany,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    entity::{
        email_outbox::{self as outbox, OutboxStatus},
        event::EventType,
        invitation,
    },
    service::{events::EventData, lease, now, write_lock::write_permit},
};

mod settle;
mod wake;
use settle::{Recorded, settle};
pub use wake::{CHANNEL, wake, wakeups};

/// Queues one invitation email carrying `token` as message `id` (the invitation's
/// `email_id`). Call inside the invitation's transaction.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    id: Uuid,
    invitation_id: Uuid,
    recipient: &str,
    token: &str,
) -> Result<(), DbErr> {
    outbox::Entity::insert(
        message(id, invitation_id, recipient, token)
            .into_active_model()
            .reset_all(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The row of a new message `id` for [`enqueue`]: pending, due now.
pub fn message(id: Uuid, invitation_id: Uuid, recipient: &str, token: &str) -> outbox::Model {
    let now = now();
    outbox::Model {
        id,
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
    }
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

/// Messages claimed together; `owner` is what every ownership check compares against.
#[derive(Clone, Debug)]
pub struct Claim {
    pub owner: Uuid,
    pub messages: Vec<Claimed>,
}

/// One claimed message with its invitation as it was at the claim (`None` if it is gone),
/// read in the same statement so the worker runs no query per message before renewing.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub message: outbox::Model,
    pub invitation: Option<invitation::Model>,
}

fn message_invitation() -> RelationDef {
    outbox::Entity::belongs_to(invitation::Entity)
        .from(outbox::Column::InvitationId)
        .to(invitation::Column::Id)
        .into()
}

/// Claims up to `limit` due messages for the length of `lease`, then reads them joined with
/// their invitations (two statements whatever `limit` is). Each claim has its own owner id,
/// so what it returns is exactly what this call locked.
pub async fn claim(db: &DatabaseConnection, limit: u64, lease: Duration) -> Result<Claim, DbErr> {
    let queue = lease::Queue {
        table: "email_outbox",
        open: "'PENDING'",
    };
    let (owner, claimed) = lease::claim(db, &queue, limit, lease).await?;
    if claimed == 0 {
        return Ok(Claim {
            owner,
            messages: Vec::new(),
        });
    }
    let messages = outbox::Entity::find()
        .join(JoinType::LeftJoin, message_invitation())
        .select_also(invitation::Entity)
        .filter(outbox::Column::LockOwner.eq(owner))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .order_by_asc(outbox::Column::NextAttemptAt)
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|(message, invitation)| Claimed {
            message,
            invitation,
        })
        .collect();
    Ok(Claim { owner, messages })
}

/// Extends one message's lease to `now + lease`, provided `owner` still holds it and it is
/// still pending. Called right before the send: `false` means another instance took the
/// message over (its lease had run out) or it was cancelled, and it must not be sent.
pub async fn renew(
    db: &DatabaseConnection,
    id: Uuid,
    owner: Uuid,
    lease: Duration,
) -> Result<bool, DbErr> {
    let now = now();
    let _permit = write_permit(db).await?;
    let renewed = held(outbox::Entity::update_many(), id, owner)
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(lease::later(now, lease)),
        )
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Records a delivery and forgets the token, if `owner` still holds the message, with its
/// `invitation.email_sent` event about `invitation` (the one read with the claim). `false`
/// means it did not (the lease ran out mid-send) and nothing was written.
pub async fn mark_sent(
    db: &DatabaseConnection,
    message: &outbox::Model,
    invitation: &invitation::Model,
    owner: Uuid,
) -> Result<bool, DbErr> {
    let now = now();
    let update = held(outbox::Entity::update_many(), message.id, owner)
        .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Sent))
        .col_expr(outbox::Column::Token, Expr::value(Option::<String>::None))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        );
    let event = Recorded {
        kind: EventType::EmailSent,
        data: EventData {
            attempts: Some(message.attempts + 1),
            ..EventData::default()
        },
    };
    settle(
        db,
        message,
        invitation,
        update.into_query(),
        Some(event),
        now,
    )
    .await
}

/// How a failed attempt was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub attempts: i32,
    pub gave_up: bool,
}

/// Records a failed attempt, if `owner` still holds the message: retry after `backoff`, or
/// give up (wiping the token, recording `invitation.email_failed` about `invitation`) once
/// `max_attempts` is reached. The error is kept on the row either way. `None` means the
/// claim was lost and nothing was written.
pub async fn mark_failed(
    db: &DatabaseConnection,
    message: &outbox::Model,
    invitation: &invitation::Model,
    owner: Uuid,
    error: &str,
    backoff: Duration,
    max_attempts: i32,
) -> Result<Option<Failure>, DbErr> {
    let now = now();
    let attempts = message.attempts + 1;
    let gave_up = attempts >= max_attempts;
    let mut update = held(outbox::Entity::update_many(), message.id, owner)
        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Some(error.chars().take(2000).collect::<String>())),
        )
        .col_expr(outbox::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    update = if gave_up {
        update
            .col_expr(outbox::Column::Status, Expr::value(OutboxStatus::Failed))
            .col_expr(outbox::Column::Token, Expr::value(Option::<String>::None))
    } else {
        update.col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(lease::later(now, backoff)),
        )
    };
    let event = gave_up.then(|| Recorded {
        kind: EventType::EmailFailed,
        data: EventData {
            attempts: Some(attempts),
            error: Some(error.chars().take(500).collect()),
            ..EventData::default()
        },
    });
    let settled = settle(db, message, invitation, update.into_query(), event, now).await?;
    Ok(settled.then_some(Failure { attempts, gave_up }))
}

/// Hands back every message `owner` still holds unsent (at shutdown, or after an error), so
/// another instance or the next start can take them at once instead of waiting out the lease.
pub async fn release(db: &DatabaseConnection, owner: Uuid) -> Result<u64, DbErr> {
    let _permit = write_permit(db).await?;
    let released = outbox::Entity::update_many()
        .col_expr(outbox::Column::LockOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(
            outbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::LockOwner.eq(owner))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
        .filter(outbox::Column::LockedUntil.is_not_null())
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// Restricts an update to one pending message that `owner` holds.
fn held(update: UpdateMany<outbox::Entity>, id: Uuid, owner: Uuid) -> UpdateMany<outbox::Entity> {
    update
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::LockOwner.eq(owner))
        .filter(outbox::Column::Status.eq(OutboxStatus::Pending))
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
