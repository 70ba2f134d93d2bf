//! An invitation's effective state, and the one conditional transition out of `PENDING`.
//! Status `EXPIRED` is derived at read time from `expires_at`, so a pending row past its
//! expiry reads as expired before any job rewrites it.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    entity::{
        InvitationStatus,
        email_outbox::{self as outbox, OutboxStatus},
        invitation,
    },
    service::ServiceResult,
};

/// An invitation as the API reports it: the stored row with its effective status and what
/// became of its latest email.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub row: invitation::Model,
    pub status: InvitationStatus,
    pub delivery: Delivery,
}

impl Invitation {
    /// The row as of `now`, with `email` its latest `email_outbox` row (`row.email_id`).
    pub fn at(row: invitation::Model, email: Option<&outbox::Model>, now: DateTime<Utc>) -> Self {
        let status = if row.status == InvitationStatus::Pending && now >= row.expires_at {
            InvitationStatus::Expired
        } else {
            row.status
        };
        Self {
            row,
            status,
            delivery: Delivery::of(email),
        }
    }
}

/// Where the latest email of an invitation stands (§10.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub status: DeliveryStatus,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed, while it is the latest word.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Queued,
    Sent,
    /// At least one attempt failed; another is scheduled.
    Retrying,
    /// Given up after the last attempt.
    Failed,
    /// Superseded by a resend, or pointless once the invitation left `PENDING`.
    Cancelled,
}

/// What a row without any email on record says (only rows loaded by hand have none).
pub const NO_EMAIL_ON_RECORD: &str = "No email is on record for this invitation";

impl Delivery {
    /// A message just queued.
    pub fn queued() -> Self {
        Self {
            status: DeliveryStatus::Queued,
            attempts: 0,
            last_error: None,
            sent_at: None,
        }
    }

    /// From the latest email's columns, as a joined read returns them (all `None`: no email).
    pub fn of_columns(
        status: Option<OutboxStatus>,
        attempts: Option<i32>,
        last_error: Option<String>,
        sent_at: Option<DateTime<Utc>>,
    ) -> Self {
        match status {
            None => Self::of(None),
            Some(status) => Self::from_row(status, attempts.unwrap_or(0), last_error, sent_at),
        }
    }

    fn of(email: Option<&outbox::Model>) -> Self {
        match email {
            None => Self {
                status: DeliveryStatus::Cancelled,
                attempts: 0,
                last_error: Some(NO_EMAIL_ON_RECORD.to_owned()),
                sent_at: None,
            },
            Some(m) => Self::from_row(m.status, m.attempts, m.last_error.clone(), m.sent_at),
        }
    }

    fn from_row(
        status: OutboxStatus,
        attempts: i32,
        last_error: Option<String>,
        sent_at: Option<DateTime<Utc>>,
    ) -> Self {
        let status = match status {
            OutboxStatus::Pending if attempts == 0 => DeliveryStatus::Queued,
            OutboxStatus::Pending => DeliveryStatus::Retrying,
            OutboxStatus::Sent => DeliveryStatus::Sent,
            OutboxStatus::Failed => DeliveryStatus::Failed,
            OutboxStatus::Cancelled => DeliveryStatus::Cancelled,
        };
        Self {
            status,
            attempts,
            last_error,
            sent_at,
        }
    }

    /// The same message after the invitation left `PENDING` (its unsent email is cancelled).
    pub fn after_leaving_pending(self) -> Self {
        match self.status {
            DeliveryStatus::Queued | DeliveryStatus::Retrying => Self {
                status: DeliveryStatus::Cancelled,
                ..self
            },
            _ => self,
        }
    }
}

/// Moves a live (pending, unexpired) invitation to `to` in one conditional `UPDATE`, so of
/// several concurrent transitions exactly one wins; returns whether this call did.
/// `ACCEPTED` also stamps `accepted_at`.
pub(crate) async fn leave_pending(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
    to: InvitationStatus,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let mut update = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(to))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now));
    if to == InvitationStatus::Accepted {
        update = update.col_expr(invitation::Column::AcceptedAt, Expr::value(Some(now)));
    }
    let result = update
        .filter(invitation::Column::Id.eq(id))
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The SQL for "effective status = X", consistent with [`Invitation::at`].
pub(crate) fn status_condition(status: InvitationStatus, now: DateTime<Utc>) -> Condition {
    use invitation::Column as C;
    match status {
        InvitationStatus::Pending => Condition::all()
            .add(C::Status.eq(InvitationStatus::Pending))
            .add(C::ExpiresAt.gt(now)),
        InvitationStatus::Expired => Condition::any()
            .add(C::Status.eq(InvitationStatus::Expired))
            .add(
                Condition::all()
                    .add(C::Status.eq(InvitationStatus::Pending))
                    .add(C::ExpiresAt.lte(now)),
            ),
        other => Condition::all().add(C::Status.eq(other)),
    }
}

/// The live pending invitation for an email, if any (what a `CONFLICT` points at).
pub(crate) async fn live_pending_id(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Uuid>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Email.eq(email))
        .filter(status_condition(InvitationStatus::Pending, now))
        .one(db)
        .await?
        .map(|row| row.id))
}
