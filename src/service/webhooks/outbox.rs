//! The webhook outbox: deliveries are queued with their event and made by the webhook worker.
//! As with email, a claim leases rows to one owner in one statement (`FOR UPDATE SKIP LOCKED`
//! on PostgreSQL), the lease is renewed right before each attempt, and every result is
//! written only if the owner still holds the row, so each attempt is made by one instance.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, UpdateMany,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    entity::{
        event, webhook,
        webhook_delivery::{self as delivery, WebhookDeliveryStatus as Status},
    },
    service::{
        lease::{self, later},
        now,
        outbox::backoff,
        write_lock::write_permit,
    },
};

/// One delivery to make: the row, where it goes and what it carries.
#[derive(Clone, Debug)]
pub struct Job {
    pub delivery: delivery::Model,
    pub url: String,
    pub secret: String,
    pub event: event::Model,
}

/// Deliveries claimed together under one owner id.
#[derive(Clone, Debug)]
pub struct Claim {
    pub owner: Uuid,
    pub jobs: Vec<Job>,
}

/// Claims up to `limit` due deliveries for `lease`, with their endpoints and events.
pub async fn claim(db: &DatabaseConnection, limit: u64, lease: Duration) -> Result<Claim, DbErr> {
    let queue = lease::Queue {
        table: "webhook_delivery",
        open: "'PENDING', 'RETRYING'",
    };
    let (owner, claimed) = lease::claim(db, &queue, limit, lease).await?;
    if claimed == 0 {
        return Ok(Claim {
            owner,
            jobs: Vec::new(),
        });
    }
    let rows = delivery::Entity::find()
        .filter(delivery::Column::LockOwner.eq(owner))
        .filter(delivery::Column::Status.is_in([Status::Pending, Status::Retrying]))
        .order_by_asc(delivery::Column::NextAttemptAt)
        .order_by_asc(delivery::Column::Id)
        .all(db)
        .await?;
    let hooks: HashMap<Uuid, webhook::Model> = webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(rows.iter().map(|r| r.webhook_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let events: HashMap<Uuid, event::Model> = event::Entity::find()
        .filter(event::Column::Id.is_in(rows.iter().map(|r| r.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    // A row whose endpoint was deleted meanwhile is gone with it; skip it.
    let jobs = rows
        .into_iter()
        .filter_map(|row| {
            let hook = hooks.get(&row.webhook_id)?;
            let event = events.get(&row.event_id)?.clone();
            Some(Job {
                url: hook.url.clone(),
                secret: hook.secret.clone(),
                event,
                delivery: row,
            })
        })
        .collect();
    Ok(Claim { owner, jobs })
}

/// Extends a delivery's lease right before an attempt; `false` means it is no longer ours
/// (taken over, or its endpoint deleted) and must not be attempted.
pub async fn renew(
    db: &DatabaseConnection,
    id: Uuid,
    owner: Uuid,
    lease: Duration,
) -> Result<bool, DbErr> {
    let _permit = write_permit(db).await?;
    let renewed = held(delivery::Entity::update_many(), id, owner)
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Some(later(now(), lease))),
        )
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's status, if it answered.
    pub response_status: Option<u16>,
    /// Why it failed; `None` for a 2xx.
    pub error: Option<String>,
}

/// When to give up, and how fast to retry until then.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The first retry's delay; doubles with every failed attempt, capped at an hour.
    pub base: Duration,
    /// How long after the event attempts go on (24 h).
    pub window: Duration,
}

/// Records an attempt if `owner` still holds the delivery: `SUCCEEDED`, or `RETRYING` with
/// the next attempt after the backoff, or `FAILED` once that would fall past the window.
/// Returns the status written, or `None` when the claim was lost.
pub async fn record(
    db: &DatabaseConnection,
    job: &delivery::Model,
    owner: Uuid,
    attempt: &Attempt,
    retry: RetryPolicy,
) -> Result<Option<Status>, DbErr> {
    let now = now();
    let attempts = job.attempts.saturating_add(1);
    let next = later(now, backoff(retry.base, job.attempts));
    let status = match &attempt.error {
        None => Status::Succeeded,
        Some(_) if next > later(job.created_at, retry.window) => Status::Failed,
        Some(_) => Status::Retrying,
    };
    let mut update = held(delivery::Entity::update_many(), job.id, owner)
        .col_expr(delivery::Column::Status, Expr::value(status))
        .col_expr(delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            delivery::Column::ResponseStatus,
            Expr::value(attempt.response_status.map(i32::from)),
        )
        .col_expr(
            delivery::Column::LastError,
            Expr::value(
                attempt
                    .error
                    .as_ref()
                    .map(|e| e.chars().take(500).collect::<String>()),
            ),
        )
        .col_expr(delivery::Column::AttemptedAt, Expr::value(Some(now)))
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            delivery::Column::LockOwner,
            Expr::value(Option::<Uuid>::None),
        );
    if status == Status::Retrying {
        update = update.col_expr(delivery::Column::NextAttemptAt, Expr::value(next));
    }
    let _permit = write_permit(db).await?;
    let written = update.exec(db).await?.rows_affected == 1;
    Ok(written.then_some(status))
}

/// Hands back deliveries `owner` holds (a claim it will not attempt now).
pub async fn release(db: &DatabaseConnection, owner: Uuid, ids: &[Uuid]) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let _permit = write_permit(db).await?;
    let released = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LockOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(delivery::Column::LockOwner.eq(owner))
        .filter(delivery::Column::Id.is_in(ids.iter().copied()))
        .filter(delivery::Column::Status.is_in([Status::Pending, Status::Retrying]))
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// Restricts an update to one open delivery that `owner` holds.
fn held(
    update: UpdateMany<delivery::Entity>,
    id: Uuid,
    owner: Uuid,
) -> UpdateMany<delivery::Entity> {
    update
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::LockOwner.eq(owner))
        .filter(delivery::Column::Status.is_in([Status::Pending, Status::Retrying]))
}
