//! The invitee's side: look an invitation up by its token, accept it, or decline it.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter,
};

use crate::{
    entity::{
        InvitationStatus, email_outbox, event::EventType, invitation, organization_member as member,
    },
    service::{
        ServiceError, ServiceResult, begin_write,
        events::{self, Actor, EventData, NewEvent},
        is_unique_violation, members, now, outbox,
        state::{Invitation, leave_pending},
        tokens,
    },
};

/// The outcome of a successful acceptance.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub invitation: Invitation,
    pub membership: member::Model,
}

/// What a token holder can do.
#[derive(Clone, Debug)]
pub struct AcceptanceService {
    db: DatabaseConnection,
}

impl AcceptanceService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The invitation a token belongs to, if that token may still be used.
    pub async fn lookup(&self, token: &str) -> ServiceResult<Invitation> {
        let (row, email) = find_by_token(&self.db, token).await?;
        usable(Invitation::at(row, email.as_ref(), now()))
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
        request_id: Option<String>,
    ) -> ServiceResult<Accepted> {
        let txn = begin_write(&self.db).await?;
        let now = now();
        let (row, email) = find_by_token(&txn, token).await?;
        let current = usable(Invitation::at(row, email.as_ref(), now))?;
        if caller_email != Some(current.row.email.as_str()) {
            return Err(ServiceError::EmailMismatch);
        }
        let org = current.row.organization_id;
        let already = members::role_of(&txn, org, user_id).await?.is_some()
            || members::email_is_member(&txn, org, &current.row.email).await?;
        if already {
            return Err(ServiceError::AlreadyAMember);
        }
        let won = leave_pending(&txn, org, current.row.id, InvitationStatus::Accepted, now).await?;
        if !won {
            return Err(ServiceError::AlreadyAccepted);
        }
        let membership = member::Model {
            organization_id: org,
            user_id: user_id.to_owned(),
            email: current.row.email.clone(),
            role: current.row.role,
            created_at: now,
            updated_at: now,
        };
        member::Entity::insert(membership.clone().into_active_model().reset_all())
            .exec_without_returning(&txn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => ServiceError::AlreadyAMember,
                false => e.into(),
            })?;
        outbox::cancel_pending(&txn, current.row.id).await?;
        let data = EventData {
            user_id: Some(user_id.to_owned()),
            ..EventData::about(&current.row)
        };
        let actor = Actor::user(user_id, request_id);
        events::record(
            &txn,
            &actor,
            NewEvent::of(EventType::Accepted, &current.row, data),
            now,
        )
        .await?;
        txn.commit().await?;
        tracing::info!(invitation = %current.row.id, org = %org, "invitation accepted");
        let mut row = current.row;
        row.status = InvitationStatus::Accepted;
        row.accepted_at = Some(now);
        row.updated_at = now;
        Ok(Accepted {
            invitation: Invitation {
                row,
                status: InvitationStatus::Accepted,
                delivery: current.delivery.after_leaving_pending(),
            },
            membership,
        })
    }

    /// Declines: the token proves the mailbox, so no login is needed.
    pub async fn decline(&self, token: &str, request_id: Option<String>) -> ServiceResult<()> {
        let txn = begin_write(&self.db).await?;
        let now = now();
        let (row, _) = find_by_token(&txn, token).await?;
        let current = usable(Invitation::at(row, None, now))?;
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
            let (row, _) = find_by_token(&txn, token).await?;
            usable(Invitation::at(row, None, now))?;
            return Err(ServiceError::InvitationNotFound);
        }
        outbox::cancel_pending(&txn, current.row.id).await?;
        let declined = NewEvent::of(
            EventType::Declined,
            &current.row,
            EventData::about(&current.row),
        );
        events::record(&txn, &Actor::anonymous(request_id), declined, now).await?;
        txn.commit().await?;
        tracing::info!(invitation = %current.row.id, "invitation declined");
        Ok(())
    }
}

/// The invitation a token belongs to, with its latest email.
async fn find_by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> ServiceResult<(invitation::Model, Option<email_outbox::Model>)> {
    if token.trim().is_empty() {
        return Err(ServiceError::TokenMissing);
    }
    invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::hash(token)))
        .find_also_related(email_outbox::Entity)
        .one(db)
        .await?
        .ok_or(ServiceError::InvitationNotFound)
}

/// Maps a token's invitation state to the contract's answers.
fn usable(invitation: Invitation) -> ServiceResult<Invitation> {
    match invitation.status {
        InvitationStatus::Pending => Ok(invitation),
        InvitationStatus::Expired => Err(ServiceError::Expired),
        InvitationStatus::Accepted => Err(ServiceError::AlreadyAccepted),
        InvitationStatus::Revoked | InvitationStatus::Declined => {
            Err(ServiceError::InvitationNotFound)
        }
    }
}
