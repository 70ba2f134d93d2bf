//! Resending: a new token, a new expiry and a new email, within the cooldown's limits.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{Delivery, Invitation, InvitationService, chrono_duration, expiry, find_in_org};
use crate::{
    entity::{InvitationStatus, event::EventType, invitation},
    service::{
        ServiceError, ServiceResult, Transition, begin_write,
        events::{self, Actor, EventData, NewEvent},
        is_unique_violation, members, now, outbox,
        state::live_pending_id,
        tokens,
    },
};

impl InvitationService {
    /// Issues a new token, extends the expiry and queues a new email. Allowed from `PENDING`
    /// or `EXPIRED`, and not within `RESEND_COOLDOWN` of the latest email; the old token stops
    /// working and its unsent email is cancelled. The update is conditional on both the state
    /// and the cooldown, so of concurrent resends (on any instance) one wins.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn resend(
        &self,
        organization_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> ServiceResult<Invitation> {
        let resent_by = actor.sub_or("");
        let txn = begin_write(&self.db).await?;
        let now = now();
        let (row, _) = find_in_org(&txn, organization_id, id).await?;
        let status = Invitation::at(row.clone(), None, now).status;
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) {
            return Err(ServiceError::NotAllowed(Transition::Resend));
        }
        if members::email_is_member(&txn, organization_id, &row.email).await? {
            return Err(ServiceError::AlreadyAMember);
        }
        self.cooled_down(&row, now)?;
        // Not yet swept: it expires (and says so) before it is revived.
        let this_one = Condition::all().add(invitation::Column::Id.eq(id));
        expiry::retire(&txn, this_one, actor, now).await?;
        let cooldown = chrono_duration(self.policy.resend_cooldown);
        let token = tokens::generate();
        let email_id = Uuid::now_v7();
        let expires_at = now + chrono_duration(self.policy.ttl);
        let written = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Status,
                Expr::value(InvitationStatus::Pending),
            )
            .col_expr(
                invitation::Column::TokenHash,
                Expr::value(Some(tokens::hash(&token))),
            )
            .col_expr(invitation::Column::ExpiresAt, Expr::value(expires_at))
            .col_expr(invitation::Column::InvitedBy, Expr::value(resent_by))
            .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                invitation::Column::SendCount,
                Expr::col(invitation::Column::SendCount).add(1),
            )
            .col_expr(invitation::Column::LastSentAt, Expr::value(Some(now)))
            .col_expr(invitation::Column::EmailId, Expr::value(Some(email_id)))
            .filter(invitation::Column::Id.eq(id))
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .filter(
                invitation::Column::Status
                    .is_in([InvitationStatus::Pending, InvitationStatus::Expired]),
            )
            .filter(
                Condition::any()
                    .add(invitation::Column::LastSentAt.is_null())
                    .add(invitation::Column::LastSentAt.lte(now - cooldown)),
            )
            .exec(&txn)
            .await;
        let written = match written {
            Ok(result) => result.rows_affected,
            // An expired invitation whose email has since been invited again.
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                let existing = live_pending_id(&self.db, organization_id, &row.email, now).await?;
                return Err(ServiceError::PendingExists { existing });
            }
            Err(e) => return Err(e.into()),
        };
        if written == 0 {
            // Another resend (or accept, revoke) committed between the read and the write.
            txn.rollback().await?;
            let (row, _) = find_in_org(&self.db, organization_id, id).await?;
            let status = Invitation::at(row.clone(), None, now).status;
            if !matches!(
                status,
                InvitationStatus::Pending | InvitationStatus::Expired
            ) {
                return Err(ServiceError::NotAllowed(Transition::Resend));
            }
            self.cooled_down(&row, super::now())?;
            return Err(ServiceError::Internal(
                "resend: the conditional update matched nothing".to_owned(),
            ));
        }
        outbox::cancel_pending(&txn, id).await?;
        outbox::enqueue(&txn, email_id, id, &row.email, &token).await?;
        let data = EventData {
            expires_at: Some(expires_at),
            send_count: Some(row.send_count.saturating_add(1)),
            email_id: Some(email_id),
            ..EventData::about(&row)
        };
        events::record(
            &txn,
            actor,
            NewEvent::of(EventType::Resent, &row, data),
            now,
        )
        .await?;
        txn.commit().await?;
        outbox::wake(&self.db);
        tracing::info!("invitation resent");
        let updated = invitation::Model {
            status: InvitationStatus::Pending,
            token_hash: Some(tokens::hash(&token)),
            expires_at,
            invited_by: resent_by.to_owned(),
            updated_at: now,
            send_count: row.send_count.saturating_add(1),
            last_sent_at: Some(now),
            email_id: Some(email_id),
            ..row
        };
        Ok(Invitation {
            delivery: Delivery::queued(),
            ..Invitation::at(updated, None, now)
        })
    }

    /// `ResendTooSoon` while the latest email is younger than the cooldown.
    fn cooled_down(&self, row: &invitation::Model, now: DateTime<Utc>) -> ServiceResult<()> {
        let Some(last) = row.last_sent_at else {
            return Ok(());
        };
        let ready_at = last + chrono_duration(self.policy.resend_cooldown);
        if now < ready_at {
            let wait = (ready_at - now).to_std().unwrap_or_default();
            return Err(ServiceError::ResendTooSoon { wait });
        }
        Ok(())
    }
}
