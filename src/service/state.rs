//! An invitation's effective state, and the one conditional transition out of `PENDING`.
//! Status `EXPIRED` is derived at read time from `expires_at`, so a pending row past its
//! expiry reads as expired before any job rewrites it.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    entity::{InvitationStatus, invitation},
    service::ServiceResult,
};

/// An invitation as the API reports it: the stored row with its effective status.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub row: invitation::Model,
    pub status: InvitationStatus,
}

impl Invitation {
    pub fn at(row: invitation::Model, now: DateTime<Utc>) -> Self {
        let status = if row.status == InvitationStatus::Pending && now >= row.expires_at {
            InvitationStatus::Expired
        } else {
            row.status
        };
        Self { row, status }
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
