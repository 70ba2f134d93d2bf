//! Creating invitations: one, or a batch with a savepoint per item.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, TransactionTrait};
use uuid::Uuid;

mod batched;

use batched::Batched;

use super::{Delivery, Invitation, InvitationService, ItemResult, NewInvitation, expiry};
use crate::{
    entity::{InvitationStatus, OrgRole, email_outbox, event::EventType, invitation},
    service::{
        ServiceError, ServiceResult, begin_write,
        events::{self, Actor, EventData, NewEvent},
        is_unique_violation, mailbox, members, normalize_email, now, outbox,
        state::live_pending_id,
        tokens,
    },
};

impl InvitationService {
    /// Creates a pending invitation. A member's email is `AlreadyAMember` (checked first); a
    /// live pending invitation is `PendingExists`, decided by the partial unique index so
    /// concurrent creates yield exactly one row. An expired pending row is retired in the same
    /// transaction.
    #[tracing::instrument(skip_all, fields(org = %organization_id))]
    pub async fn create(
        &self,
        organization_id: Uuid,
        new: NewInvitation,
        actor: &Actor,
    ) -> ServiceResult<Invitation> {
        let now = now();
        let expires_at = self.expiry(new.expires_at, now)?;
        let email = normalize_email(&new.email);
        if !mailbox::idn_labels_valid(&email) {
            return Err(ServiceError::InvalidEmail);
        }
        let rows = NewRows::of(organization_id, &email, new.role, expires_at, actor, now);
        let outcome = match batched::create(&self.db, rows).await {
            Ok(created) => Ok(created),
            Err(Batched::Refused(refused)) => Err(refused),
            Err(Batched::NotApplicable(rows)) => {
                let txn = begin_write(&self.db).await?;
                match insert_one(&txn, *rows).await {
                    Ok(created) => {
                        txn.commit().await?;
                        Ok(created)
                    }
                    Err(refused) => {
                        txn.rollback().await?;
                        Err(refused)
                    }
                }
            }
        };
        match outcome {
            Ok(created) => {
                outbox::wake(&self.db);
                tracing::info!(invitation = %created.row.id, "invitation created");
                Ok(created)
            }
            Err(Refused::Pending) => {
                let existing =
                    live_pending_id(&self.db, organization_id, &email, super::now()).await?;
                Err(ServiceError::PendingExists { existing })
            }
            Err(Refused::Other(e)) => Err(e),
        }
    }

    /// Creates each invitation of a batch as [`create`](Self::create) would, in one
    /// transaction with a savepoint per item: an item that fails leaves no trace and does not
    /// affect the others. A second occurrence of an email conflicts with the first. `None`
    /// items (refused before they got here) are skipped and answered `None`.
    #[tracing::instrument(skip_all, fields(org = %organization_id, items = items.len()))]
    pub async fn create_many(
        &self,
        organization_id: Uuid,
        items: Vec<Option<NewInvitation>>,
        actor: &Actor,
    ) -> ServiceResult<Vec<Option<ItemResult>>> {
        let now = now();
        let txn = begin_write(&self.db).await?;
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let Some(new) = item else {
                results.push(None);
                continue;
            };
            let checked = match mailbox::idn_labels_valid(&normalize_email(&new.email)) {
                true => self.expiry(new.expires_at, now),
                false => Err(ServiceError::InvalidEmail),
            };
            let outcome = match checked.map(|expires_at| (new, expires_at)) {
                Err(refused) => Err(refused),
                Ok((new, expires_at)) => {
                    let email = normalize_email(&new.email);
                    let savepoint = txn.begin().await?;
                    let rows =
                        NewRows::of(organization_id, &email, new.role, expires_at, actor, now);
                    let inserted = insert_one(&savepoint, rows).await;
                    match inserted {
                        Ok(created) => {
                            savepoint.commit().await?;
                            Ok(created)
                        }
                        Err(refused) => {
                            savepoint.rollback().await?;
                            match refused {
                                Refused::Pending => Err(ServiceError::PendingExists {
                                    existing: live_pending_id(&txn, organization_id, &email, now)
                                        .await?,
                                }),
                                Refused::Other(e) if e.is_database() => return Err(e),
                                Refused::Other(e) => Err(e),
                            }
                        }
                    }
                }
            };
            results.push(Some(outcome));
        }
        txn.commit().await?;
        outbox::wake(&self.db);
        let created = results.iter().filter(|r| matches!(r, Some(Ok(_)))).count();
        tracing::info!(created, "invitations created in bulk");
        Ok(results)
    }
}

/// Why an invitation was not created.
pub(super) enum Refused {
    /// The pending-email index refused the row; the caller reads who holds it once its
    /// transaction (or savepoint) is rolled back.
    Pending,
    Other(ServiceError),
}

impl From<sea_orm::DbErr> for Refused {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unique_violation(&err) {
            Self::Pending
        } else {
            Self::Other(err.into())
        }
    }
}

/// Everything one create writes, built before any statement runs: the invitation, its email
/// (carrying the token, whose hash alone the invitation keeps) and its `invitation.created`
/// event.
pub(super) struct NewRows {
    pub invitation: invitation::Model,
    pub email: email_outbox::Model,
    pub event: NewEvent,
    pub actor: Actor,
    pub now: DateTime<Utc>,
}

impl NewRows {
    fn of(
        organization_id: Uuid,
        email: &str,
        role: OrgRole,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Self {
        let invited_by = actor.sub_or("");
        let token = tokens::generate();
        let email_id = Uuid::now_v7();
        let invitation = invitation::Model {
            id: Uuid::now_v7(),
            organization_id,
            email: email.to_owned(),
            role,
            status: InvitationStatus::Pending,
            invited_by: invited_by.to_owned(),
            token_hash: Some(tokens::hash(&token)),
            expires_at,
            accepted_at: None,
            created_at: now,
            updated_at: now,
            send_count: 1,
            last_sent_at: Some(now),
            email_id: Some(email_id),
        };
        let data = EventData {
            expires_at: Some(expires_at),
            invited_by: Some(invited_by.to_owned()),
            email_id: Some(email_id),
            ..EventData::about(&invitation)
        };
        Self {
            email: outbox::message(email_id, invitation.id, &invitation.email, &token),
            event: NewEvent::of(EventType::Created, &invitation, data),
            invitation,
            actor: actor.clone(),
            now,
        }
    }

    /// The answer once the rows are written.
    pub fn created(self) -> Invitation {
        Invitation {
            delivery: Delivery::queued(),
            ..Invitation::at(self.invitation, None, self.now)
        }
    }

    /// The organization's invitations of this email.
    pub fn same_email(&self) -> Condition {
        Condition::all()
            .add(invitation::Column::OrganizationId.eq(self.invitation.organization_id))
            .add(invitation::Column::Email.eq(self.invitation.email.as_str()))
    }
}

/// One create inside the caller's transaction (or savepoint): the member check, the
/// retirement of an expired pending row for the email, then the writes of
/// [`batched::write`] for the webhooks subscribed now.
async fn insert_one(txn: &DatabaseTransaction, rows: NewRows) -> Result<Invitation, Refused> {
    let organization_id = rows.invitation.organization_id;
    if members::email_is_member(txn, organization_id, &rows.invitation.email)
        .await
        .map_err(Refused::Other)?
    {
        return Err(Refused::Other(ServiceError::AlreadyAMember));
    }
    expiry::retire(txn, rows.same_email(), &rows.actor, rows.now)
        .await
        .map_err(Refused::Other)?;
    let webhooks = events::subscribers(txn, organization_id, rows.event.kind).await?;
    batched::write(txn, &rows, webhooks).await?;
    Ok(rows.created())
}
