//! An organization's invitations as its admins manage them: create (one or a batch), list,
//! get, update, revoke, resend, and the expiry sweep.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

mod expiry;
mod list;

pub use list::{ListPage, ListQuery, Position};

pub use super::state::{Delivery, DeliveryStatus, Invitation};
use crate::{
    entity::{InvitationStatus, OrgRole, email_outbox, event::EventType, invitation},
    service::{
        ServiceError, ServiceResult, Transition, begin_write,
        events::{self, Actor, EventData, NewEvent},
        is_unique_violation, mailbox, members, normalize_email, now, outbox,
        state::{leave_pending, live_pending_id, status_condition},
        tokens,
    },
};

/// The nearest an explicit `expiresAt` may lie (§10.2).
pub const MIN_LEAD: Duration = Duration::from_secs(5 * 60);

/// How long invitations live and how often they may be resent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvitationPolicy {
    /// The lifetime of an invitation without an explicit `expiresAt` (`INVITATION_TTL`).
    pub ttl: Duration,
    /// The furthest an explicit `expiresAt` may lie (`INVITATION_MAX_TTL`).
    pub max_ttl: Duration,
    /// The least time between two emails of one invitation (`RESEND_COOLDOWN`; 0 disables).
    pub resend_cooldown: Duration,
}

impl Default for InvitationPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(7 * 24 * 3600),
            max_ttl: Duration::from_secs(30 * 24 * 3600),
            resend_cooldown: Duration::from_secs(60),
        }
    }
}

/// What to invite.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub email: String,
    pub role: OrgRole,
    /// An explicit expiry; `None` means now + TTL.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What an update changes; at least one is set.
#[derive(Clone, Copy, Debug, Default)]
pub struct Changes {
    pub role: Option<OrgRole>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The invitations service, holding its database and the invitation policy.
#[derive(Clone, Debug)]
pub struct InvitationService {
    db: DatabaseConnection,
    policy: InvitationPolicy,
}

/// One item of a batch: its invitation, or why it was refused.
pub type ItemResult = ServiceResult<Invitation>;

impl InvitationService {
    /// The service with lifetime `ttl` and the default bounds and cooldown.
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        let policy = InvitationPolicy {
            ttl,
            max_ttl: ttl.max(InvitationPolicy::default().max_ttl),
            ..InvitationPolicy::default()
        };
        Self::with_policy(db, policy)
    }

    pub fn with_policy(db: DatabaseConnection, policy: InvitationPolicy) -> Self {
        Self { db, policy }
    }

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
        let txn = begin_write(&self.db).await?;
        match insert_one(
            &txn,
            organization_id,
            &email,
            new.role,
            expires_at,
            actor,
            now,
        )
        .await
        {
            Ok(created) => {
                txn.commit().await?;
                outbox::wake();
                tracing::info!(invitation = %created.row.id, "invitation created");
                Ok(created)
            }
            Err(Refused::Pending) => {
                txn.rollback().await?;
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
                    let inserted = insert_one(
                        &savepoint,
                        organization_id,
                        &email,
                        new.role,
                        expires_at,
                        actor,
                        now,
                    )
                    .await;
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
        outbox::wake();
        let created = results.iter().filter(|r| matches!(r, Some(Ok(_)))).count();
        tracing::info!(created, "invitations created in bulk");
        Ok(results)
    }

    /// An explicit expiry within bounds, or now + TTL.
    fn expiry(
        &self,
        requested: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> ServiceResult<DateTime<Utc>> {
        match requested {
            None => Ok(now + chrono_duration(self.policy.ttl)),
            Some(at) => {
                let earliest = now + chrono_duration(MIN_LEAD);
                let latest = now + chrono_duration(self.policy.max_ttl);
                if at < earliest || at > latest {
                    return Err(ServiceError::ExpiryOutOfBounds {
                        max: self.policy.max_ttl,
                    });
                }
                Ok(at)
            }
        }
    }

    /// One invitation of the organization; another organization's id is not found.
    pub async fn get(&self, organization_id: Uuid, id: Uuid) -> ServiceResult<Invitation> {
        let (row, email) = find_in_org(&self.db, organization_id, id).await?;
        Ok(Invitation::at(row, email.as_ref(), now()))
    }

    /// Changes the role and/or expiry of a live pending invitation in one conditional update
    /// (so it cannot race an accept, revoke or the sweep). No email is sent.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn update(
        &self,
        organization_id: Uuid,
        id: Uuid,
        changes: Changes,
        actor: &Actor,
    ) -> ServiceResult<Invitation> {
        let now = now();
        let expires_at = match changes.expires_at {
            Some(at) => Some(self.expiry(Some(at), now)?),
            None => None,
        };
        let mut update = invitation::Entity::update_many()
            .col_expr(invitation::Column::UpdatedAt, Expr::value(now));
        if let Some(role) = changes.role {
            update = update.col_expr(invitation::Column::Role, Expr::value(role));
        }
        if let Some(at) = expires_at {
            update = update.col_expr(invitation::Column::ExpiresAt, Expr::value(at));
        }
        let txn = begin_write(&self.db).await?;
        let changed = update
            .filter(invitation::Column::Id.eq(id))
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .filter(status_condition(InvitationStatus::Pending, now))
            .exec(&txn)
            .await?
            .rows_affected;
        let (row, email) = find_in_org(&txn, organization_id, id).await?;
        if changed == 0 {
            return Err(ServiceError::NotAllowed(Transition::Update));
        }
        let data = EventData {
            role: changes.role.map(|r| sea_orm::ActiveEnum::to_value(&r)),
            expires_at,
            ..EventData::default()
        };
        events::record(
            &txn,
            actor,
            NewEvent::of(EventType::Updated, &row, data),
            now,
        )
        .await?;
        txn.commit().await?;
        tracing::info!("invitation updated");
        Ok(Invitation::at(row, email.as_ref(), now))
    }

    /// Soft-revokes a live pending invitation in one conditional update, so a revoke racing an
    /// accept or another revoke cannot both win.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn revoke(
        &self,
        organization_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let now = now();
        let txn = begin_write(&self.db).await?;
        let won = leave_pending(&txn, organization_id, id, InvitationStatus::Revoked, now).await?;
        if won {
            outbox::cancel_pending(&txn, id).await?;
            let (row, _) = find_in_org(&txn, organization_id, id).await?;
            let data = EventData::about(&row);
            events::record(
                &txn,
                actor,
                NewEvent::of(EventType::Revoked, &row, data),
                now,
            )
            .await?;
            txn.commit().await?;
            tracing::info!("invitation revoked");
            return Ok(());
        }
        txn.rollback().await?;
        // Nothing changed: either it is not ours to see, or it is not revocable.
        self.get(organization_id, id).await?;
        Err(ServiceError::NotAllowed(Transition::Revoke))
    }

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
        outbox::wake();
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

/// Why [`insert_one`] did not create an invitation.
enum Refused {
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

/// The statements of one create, inside the caller's transaction: the member check, the
/// retirement of an expired pending row for the email, the row and its email.
async fn insert_one(
    txn: &DatabaseTransaction,
    organization_id: Uuid,
    email: &str,
    role: OrgRole,
    expires_at: DateTime<Utc>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Invitation, Refused> {
    let invited_by = actor.sub_or("");
    if members::email_is_member(txn, organization_id, email)
        .await
        .map_err(Refused::Other)?
    {
        return Err(Refused::Other(ServiceError::AlreadyAMember));
    }
    let old_one = Condition::all()
        .add(invitation::Column::OrganizationId.eq(organization_id))
        .add(invitation::Column::Email.eq(email));
    expiry::retire(txn, old_one, actor, now)
        .await
        .map_err(Refused::Other)?;
    let token = tokens::generate();
    let email_id = Uuid::now_v7();
    let model = invitation::Model {
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
    invitation::Entity::insert(model.clone().into_active_model().reset_all())
        .exec_without_returning(txn)
        .await?;
    outbox::enqueue(txn, email_id, model.id, &model.email, &token)
        .await
        .map_err(|e| Refused::Other(e.into()))?;
    let data = EventData {
        expires_at: Some(expires_at),
        invited_by: Some(invited_by.to_owned()),
        email_id: Some(email_id),
        ..EventData::about(&model)
    };
    events::record(
        txn,
        actor,
        NewEvent::of(EventType::Created, &model, data),
        now,
    )
    .await
    .map_err(|e| Refused::Other(e.into()))?;
    Ok(Invitation {
        delivery: Delivery::queued(),
        ..Invitation::at(model, None, now)
    })
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// An invitation of the organization with its latest email.
async fn find_in_org(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> ServiceResult<(invitation::Model, Option<email_outbox::Model>)> {
    invitation::Entity::find_by_id(id)
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .find_also_related(email_outbox::Entity)
        .one(db)
        .await?
        .ok_or(ServiceError::InvitationNotFound)
}
