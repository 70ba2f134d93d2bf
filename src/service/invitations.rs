//! An organization's invitations as its admins manage them: create (one or a batch), list,
//! get, update, revoke, resend, and the expiry sweep.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use uuid::Uuid;

mod create;
mod expiry;
mod list;
mod resend;

pub use list::{ListPage, ListQuery, Position};

pub use super::state::{Delivery, DeliveryStatus, Invitation};
use crate::{
    entity::{InvitationStatus, OrgRole, email_outbox, event::EventType, invitation},
    service::{
        ServiceError, ServiceResult, Transition, begin_write,
        events::{self, Actor, EventData, NewEvent},
        now, outbox,
        state::{leave_pending, status_condition},
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
    // A key finds one row at most, so `all` rather than `one`, whose bound `LIMIT` would have
    // SQLite recompile the statement on every call (see `service::plan`).
    invitation::Entity::find_by_id(id)
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .find_also_related(email_outbox::Entity)
        .all(db)
        .await?
        .into_iter()
        .next()
        .ok_or(ServiceError::InvitationNotFound)
}
