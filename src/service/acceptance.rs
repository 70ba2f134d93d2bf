//! What an invitation token can do: look it up, accept it, decline it; and resending, which
//! issues a new token.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    SqlErr,
};
use uuid::Uuid;

use crate::{
    entity::{InvitationStatus, invitation, organization_member as member},
    error::{ApiError, CONFLICT_PENDING_EXISTS},
    service::{
        begin_write,
        invitations::{Invitation, InvitationService, leave_pending},
        members, now, outbox, tokens,
    },
};

/// The outcome of a successful acceptance.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub invitation: Invitation,
    pub membership: member::Model,
}

impl InvitationService {
    /// The invitation a token belongs to, if that token may still be used.
    pub async fn lookup(&self, token: &str) -> Result<Invitation, ApiError> {
        let row = find_by_token(self.db(), token).await?;
        usable(Invitation::at(row, now()))
    }

    /// Accepts as the caller: the caller's email must be the invited one. In one transaction the
    /// invitation becomes `ACCEPTED` and the membership is created; of concurrent accepts
    /// exactly one wins (the conditional update decides).
    #[tracing::instrument(skip_all, fields(user = %user_id))]
    pub async fn accept(
        &self,
        token: &str,
        user_id: &str,
        caller_email: Option<&str>,
    ) -> Result<Accepted, ApiError> {
        let txn = begin_write(self.db()).await?;
        let now = now();
        let row = find_by_token(&txn, token).await?;
        let current = usable(Invitation::at(row, now))?;
        if caller_email != Some(current.row.email.as_str()) {
            return Err(ApiError::InvitationEmailMismatch);
        }
        let org = current.row.organization_id;
        let already = members::role_of(&txn, org, user_id).await?.is_some()
            || members::email_is_member(&txn, org, &current.row.email).await?;
        if already {
            return Err(ApiError::AlreadyAMember);
        }
        let won = leave_pending(&txn, org, current.row.id, InvitationStatus::Accepted, now).await?;
        if !won {
            return Err(ApiError::InvitationAlreadyAccepted);
        }
        let membership = member::Model {
            organization_id: org,
            user_id: user_id.to_owned(),
            email: current.row.email.clone(),
            role: current.row.role,
            created_at: now,
            updated_at: now,
        };
        let inserted = member::Entity::insert(membership.clone().into_active_model().reset_all())
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(ApiError::AlreadyAMember);
            }
            Err(e) => return Err(e.into()),
        }
        outbox::cancel_pending(&txn, current.row.id).await?;
        txn.commit().await?;
        tracing::info!(invitation = %current.row.id, org = %org, "invitation accepted");
        let mut row = current.row;
        row.status = InvitationStatus::Accepted;
        row.accepted_at = Some(now);
        row.updated_at = now;
        Ok(Accepted {
            invitation: Invitation::at(row, now),
            membership,
        })
    }

    /// Declines: the token proves the mailbox, so no login is needed.
    pub async fn decline(&self, token: &str) -> Result<(), ApiError> {
        let txn = begin_write(self.db()).await?;
        let now = now();
        let row = find_by_token(&txn, token).await?;
        let current = usable(Invitation::at(row, now))?;
        let won = leave_pending(
            &txn,
            current.row.organization_id,
            current.row.id,
            InvitationStatus::Declined,
            now,
        )
        .await?;
        if !won {
            // Someone else changed it first; report what it is now.
            let row = find_by_token(&txn, token).await?;
            usable(Invitation::at(row, now))?;
            return Err(ApiError::InvitationNotFound);
        }
        outbox::cancel_pending(&txn, current.row.id).await?;
        txn.commit().await?;
        tracing::info!(invitation = %current.row.id, "invitation declined");
        Ok(())
    }

    /// Issues a new token, extends the expiry and queues a new email. Allowed from `PENDING`
    /// or `EXPIRED`; the old token stops working and its unsent email is cancelled.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn resend(
        &self,
        organization_id: Uuid,
        id: Uuid,
        resent_by: &str,
    ) -> Result<Invitation, ApiError> {
        let txn = begin_write(self.db()).await?;
        let now = now();
        let row = invitation::Entity::find_by_id(id)
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .one(&txn)
            .await?
            .ok_or(ApiError::InvitationNotFound)?;
        let status = Invitation::at(row.clone(), now).status;
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) {
            return Err(ApiError::BadRequest(
                "Invitation cannot be resent in its current state".to_owned(),
            ));
        }
        if members::email_is_member(&txn, organization_id, &row.email).await? {
            return Err(ApiError::AlreadyAMember);
        }
        let token = tokens::generate();
        let mut active = row.clone().into_active_model();
        active.status = sea_orm::Set(InvitationStatus::Pending);
        active.token_hash = sea_orm::Set(Some(tokens::hash(&token)));
        active.expires_at = sea_orm::Set(now + self.ttl());
        active.invited_by = sea_orm::Set(resent_by.to_owned());
        active.updated_at = sea_orm::Set(now);
        let updated = match active.update(&txn).await {
            Ok(updated) => updated,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // An expired invitation whose email has since been invited again.
                return Err(ApiError::Conflict(CONFLICT_PENDING_EXISTS));
            }
            Err(e) => return Err(e.into()),
        };
        outbox::cancel_pending(&txn, id).await?;
        outbox::enqueue(&txn, id, &updated.email, &token).await?;
        txn.commit().await?;
        tracing::info!("invitation resent");
        Ok(Invitation::at(updated, now))
    }
}

async fn find_by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<invitation::Model, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::InvitationTokenMissing);
    }
    // Anything that is not one of our tokens cannot match; skip the query for absurd input.
    if token.len() > 128 {
        return Err(ApiError::InvitationNotFound);
    }
    invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::hash(token)))
        .one(db)
        .await?
        .ok_or(ApiError::InvitationNotFound)
}

/// Maps a token's invitation state to the contract's answers.
fn usable(invitation: Invitation) -> Result<Invitation, ApiError> {
    match invitation.status {
        InvitationStatus::Pending => Ok(invitation),
        InvitationStatus::Expired => Err(ApiError::InvitationExpired),
        InvitationStatus::Accepted => Err(ApiError::InvitationAlreadyAccepted),
        InvitationStatus::Revoked | InvitationStatus::Declined => Err(ApiError::InvitationNotFound),
    }
}
