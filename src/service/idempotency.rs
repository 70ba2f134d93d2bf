//! Idempotency keys (§10.5), kept in the database so they hold across instances.
//!
//! The first request with a key inserts the row and holds it (`owner`, `locked_until`) while
//! it runs; the primary key decides which of several concurrent requests that is. Its answer
//! (status, body, `Location`) is then written to the row, conditional on still holding it, and
//! replayed to every retry with the same fingerprint for 24 hours. A 5xx or 429 answer is not
//! kept: the row is deleted so a retry runs again. A holder that died without answering is presumed
//! gone once `locked_until` passes, and the next request takes the key over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::{
    entity::idempotency_key as key,
    service::{ServiceError, ServiceResult, now},
};

/// How long a completed answer is replayed.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Whose key it is: the organization, the caller's `sub`, and the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub organization_id: Uuid,
    pub caller: String,
    pub key: String,
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

/// The right to answer for a key, held by one running request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub scope: Scope,
    pub owner: Uuid,
}

/// What a request with a key may do.
#[derive(Debug)]
pub enum Begin {
    /// Run, then [`finish`].
    Fresh(Reservation),
    /// Answer with this, and do nothing else.
    Replay(Stored),
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key was used with a different request")]
    Reused,
    #[error("a request with the key is still running")]
    InUse,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<DbErr> for KeyError {
    fn from(err: DbErr) -> Self {
        Self::Service(err.into())
    }
}

/// Claims `scope` for a request whose operation, path and body hash to `fingerprint`, held
/// for at most `hold` (the request deadline and a margin).
pub async fn begin(
    db: &impl ConnectionTrait,
    scope: &Scope,
    fingerprint: &str,
    hold: Duration,
) -> Result<Begin, KeyError> {
    let now = now();
    let owner = Uuid::now_v7();
    let row = key::Model {
        organization_id: scope.organization_id,
        caller: scope.caller.clone(),
        key: scope.key.clone(),
        fingerprint: fingerprint.to_owned(),
        owner: Some(owner),
        locked_until: Some(after(now, hold)),
        response_status: None,
        response_body: None,
        response_location: None,
        created_at: now,
        expires_at: after(now, RETENTION),
    };
    let inserted = key::Entity::insert(row.into_active_model().reset_all())
        .on_conflict(
            OnConflict::columns([
                key::Column::OrganizationId,
                key::Column::Caller,
                key::Column::Key,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let reservation = Reservation {
        scope: scope.clone(),
        owner,
    };
    if inserted == 1 {
        return Ok(Begin::Fresh(reservation));
    }
    let Some(existing) = find(db, scope).await? else {
        // Purged between the insert and the read: the key is free, but let the client retry
        // rather than loop here.
        return Err(KeyError::InUse);
    };
    if existing.expires_at <= now {
        // Past its retention and not yet purged: the key starts over.
        let taken = take_over(scope, fingerprint, owner, now, hold)
            .filter(key::Column::ExpiresAt.lte(now))
            .exec(db)
            .await?;
        return match taken.rows_affected {
            1 => Ok(Begin::Fresh(reservation)),
            _ => Err(KeyError::InUse),
        };
    }
    if existing.fingerprint != fingerprint {
        return Err(KeyError::Reused);
    }
    if let (Some(status), Some(body)) = (existing.response_status, existing.response_body) {
        return Ok(Begin::Replay(Stored {
            status: u16::try_from(status).unwrap_or(500),
            body,
            location: existing.response_location,
        }));
    }
    match (existing.owner, existing.locked_until) {
        (Some(holder), Some(until)) if until <= now => {
            // The holder never answered (it crashed or was cut off): take the key over.
            let taken = take_over(scope, fingerprint, owner, now, hold)
                .filter(key::Column::Owner.eq(holder))
                .filter(key::Column::ResponseStatus.is_null())
                .exec(db)
                .await?;
            match taken.rows_affected {
                1 => Ok(Begin::Fresh(reservation)),
                _ => Err(KeyError::InUse),
            }
        }
        _ => Err(KeyError::InUse),
    }
}

/// Stores the answer of a held key (a 5xx frees the key instead). Conditional on still
/// holding it; returns whether it did.
pub async fn finish(
    db: &impl ConnectionTrait,
    reservation: &Reservation,
    answer: &Stored,
) -> ServiceResult<bool> {
    let held = |filter: sea_orm::Condition| {
        filter
            .add(key::Column::OrganizationId.eq(reservation.scope.organization_id))
            .add(key::Column::Caller.eq(reservation.scope.caller.as_str()))
            .add(key::Column::Key.eq(reservation.scope.key.as_str()))
            .add(key::Column::Owner.eq(reservation.owner))
    };
    // A 429 says "later": stored, it would answer every retry for 24 hours.
    let rows = if answer.status >= 500 || answer.status == 429 {
        key::Entity::delete_many()
            .filter(held(sea_orm::Condition::all()))
            .exec(db)
            .await?
            .rows_affected
    } else {
        key::Entity::update_many()
            .col_expr(
                key::Column::ResponseStatus,
                Expr::value(i32::from(answer.status)),
            )
            .col_expr(key::Column::ResponseBody, Expr::value(answer.body.clone()))
            .col_expr(
                key::Column::ResponseLocation,
                Expr::value(answer.location.clone()),
            )
            .col_expr(key::Column::Owner, Expr::value(Option::<Uuid>::None))
            .col_expr(
                key::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(held(sea_orm::Condition::all()))
            .exec(db)
            .await?
            .rows_affected
    };
    Ok(rows == 1)
}

/// Deletes every key past its retention; returns how many.
pub async fn purge(db: &impl ConnectionTrait) -> ServiceResult<u64> {
    Ok(key::Entity::delete_many()
        .filter(key::Column::ExpiresAt.lte(now()))
        .exec(db)
        .await?
        .rows_affected)
}

async fn find(db: &impl ConnectionTrait, scope: &Scope) -> Result<Option<key::Model>, DbErr> {
    key::Entity::find_by_id((
        scope.organization_id,
        scope.caller.clone(),
        scope.key.clone(),
    ))
    .one(db)
    .await
}

/// The update that makes `owner` the key's holder afresh (callers add their condition).
fn take_over(
    scope: &Scope,
    fingerprint: &str,
    owner: Uuid,
    now: DateTime<Utc>,
    hold: Duration,
) -> sea_orm::UpdateMany<key::Entity> {
    key::Entity::update_many()
        .col_expr(key::Column::Fingerprint, Expr::value(fingerprint))
        .col_expr(key::Column::Owner, Expr::value(Some(owner)))
        .col_expr(
            key::Column::LockedUntil,
            Expr::value(Some(after(now, hold))),
        )
        .col_expr(
            key::Column::ResponseStatus,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            key::Column::ResponseBody,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            key::Column::ResponseLocation,
            Expr::value(Option::<String>::None),
        )
        .col_expr(key::Column::CreatedAt, Expr::value(now))
        .col_expr(key::Column::ExpiresAt, Expr::value(after(now, RETENTION)))
        .filter(key::Column::OrganizationId.eq(scope.organization_id))
        .filter(key::Column::Caller.eq(scope.caller.as_str()))
        .filter(key::Column::Key.eq(scope.key.as_str()))
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(1))
}
