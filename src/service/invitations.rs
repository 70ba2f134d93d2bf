//! An organization's invitations as its admins manage them: create, list, get, revoke,
//! resend, and the expiry sweep.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use uuid::Uuid;

pub use super::state::Invitation;
use crate::{
    entity::{InvitationStatus, OrgRole, invitation},
    service::{
        ServiceError, ServiceResult, Transition, begin_write, is_unique_violation, members,
        normalize_email, now, outbox,
        state::{leave_pending, live_pending_id, status_condition},
        tokens,
    },
};

/// What a list request asks for. `page` starts at 1.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub page: u64,
    pub limit: u64,
    pub status: Option<InvitationStatus>,
    pub role: Option<OrgRole>,
    /// Case-insensitive substring of the email.
    pub email: Option<String>,
}

/// The invitations service, holding its database and the invitation lifetime.
#[derive(Clone, Debug)]
pub struct InvitationService {
    db: DatabaseConnection,
    ttl: chrono::Duration,
}

impl InvitationService {
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
        Self { db, ttl }
    }

    /// Creates a pending invitation. A member's email is `AlreadyAMember` (checked first); a
    /// live pending invitation is `PendingExists`, decided by the partial unique index so
    /// concurrent creates yield exactly one row. An expired pending row is retired in the same
    /// transaction.
    #[tracing::instrument(skip_all, fields(org = %organization_id))]
    pub async fn create(
        &self,
        organization_id: Uuid,
        email: &str,
        role: OrgRole,
        invited_by: &str,
    ) -> ServiceResult<Invitation> {
        let email = normalize_email(email);
        let now = now();
        let txn = begin_write(&self.db).await?;
        if members::email_is_member(&txn, organization_id, &email).await? {
            return Err(ServiceError::AlreadyAMember);
        }
        retire_expired(&txn, organization_id, &email, now).await?;
        let token = tokens::generate();
        let model = invitation::Model {
            id: Uuid::now_v7(),
            organization_id,
            email,
            role,
            status: InvitationStatus::Pending,
            invited_by: invited_by.to_owned(),
            token_hash: Some(tokens::hash(&token)),
            expires_at: now + self.ttl,
            accepted_at: None,
            created_at: now,
            updated_at: now,
        };
        let inserted = invitation::Entity::insert(model.clone().into_active_model().reset_all())
            .exec_without_returning(&txn)
            .await;
        if let Err(e) = inserted {
            return Err(self
                .pending_conflict(e, txn, organization_id, &model.email)
                .await);
        }
        outbox::enqueue(&txn, model.id, &model.email, &token).await?;
        txn.commit().await?;
        outbox::wake();
        tracing::info!(invitation = %model.id, "invitation created");
        Ok(Invitation::at(model, now))
    }

    /// A failed write: `PendingExists` (naming the live invitation, read after the rollback)
    /// when the pending-email index refused it, else the database error.
    async fn pending_conflict(
        &self,
        err: sea_orm::DbErr,
        txn: super::WriteTxn,
        organization_id: Uuid,
        email: &str,
    ) -> ServiceError {
        if !is_unique_violation(&err) {
            return err.into();
        }
        if let Err(e) = txn.rollback().await {
            return e.into();
        }
        match live_pending_id(&self.db, organization_id, email, now()).await {
            Ok(existing) => ServiceError::PendingExists { existing },
            Err(e) => e,
        }
    }

    /// Rewrites every pending invitation past its expiry to `EXPIRED` in one statement. Safe to
    /// run on several instances at once, and idempotent: returns how many rows it changed.
    pub async fn expire_due(&self) -> ServiceResult<u64> {
        let now = now();
        let result = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Status,
                Expr::value(InvitationStatus::Expired),
            )
            .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// One page of the organization's invitations, newest first, and the total matching.
    pub async fn list(
        &self,
        organization_id: Uuid,
        query: &ListQuery,
    ) -> ServiceResult<(Vec<Invitation>, u64)> {
        let now = now();
        let mut filter =
            Condition::all().add(invitation::Column::OrganizationId.eq(organization_id));
        if let Some(status) = query.status {
            filter = filter.add(status_condition(status, now));
        }
        if let Some(role) = query.role {
            filter = filter.add(invitation::Column::Role.eq(role));
        }
        if let Some(email) = &query.email {
            filter = filter.add(
                Expr::col(invitation::Column::Email)
                    .like(LikeExpr::new(format!("%{}%", escape_like(email))).escape('\\')),
            );
        }
        let select = invitation::Entity::find().filter(filter);
        // A read transaction gives the count and the page one snapshot on PostgreSQL.
        let txn = self.db.begin().await?;
        let total = select.clone().count(&txn).await?;
        let rows = select
            .order_by_desc(invitation::Column::CreatedAt)
            .order_by_desc(invitation::Column::Id)
            .offset((query.page - 1).saturating_mul(query.limit))
            .limit(query.limit)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok((
            rows.into_iter().map(|r| Invitation::at(r, now)).collect(),
            total,
        ))
    }

    /// One invitation of the organization; another organization's id is not found.
    pub async fn get(&self, organization_id: Uuid, id: Uuid) -> ServiceResult<Invitation> {
        let row = find_in_org(&self.db, organization_id, id).await?;
        Ok(Invitation::at(row, now()))
    }

    /// Soft-revokes a live pending invitation in one conditional update, so a revoke racing an
    /// accept or another revoke cannot both win.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn revoke(&self, organization_id: Uuid, id: Uuid) -> ServiceResult<()> {
        let now = now();
        let won = leave_pending(
            &self.db,
            organization_id,
            id,
            InvitationStatus::Revoked,
            now,
        )
        .await?;
        if won {
            outbox::cancel_pending(&self.db, id).await?;
            tracing::info!("invitation revoked");
            return Ok(());
        }
        // Nothing changed: either it is not ours to see, or it is not revocable.
        self.get(organization_id, id).await?;
        Err(ServiceError::NotAllowed(Transition::Revoke))
    }

    /// Issues a new token, extends the expiry and queues a new email. Allowed from `PENDING`
    /// or `EXPIRED`; the old token stops working and its unsent email is cancelled.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn resend(
        &self,
        organization_id: Uuid,
        id: Uuid,
        resent_by: &str,
    ) -> ServiceResult<Invitation> {
        let txn = begin_write(&self.db).await?;
        let now = now();
        let row = find_in_org(&txn, organization_id, id).await?;
        let status = Invitation::at(row.clone(), now).status;
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) {
            return Err(ServiceError::NotAllowed(Transition::Resend));
        }
        if members::email_is_member(&txn, organization_id, &row.email).await? {
            return Err(ServiceError::AlreadyAMember);
        }
        let token = tokens::generate();
        let email = row.email.clone();
        let mut active = row.into_active_model();
        active.status = sea_orm::Set(InvitationStatus::Pending);
        active.token_hash = sea_orm::Set(Some(tokens::hash(&token)));
        active.expires_at = sea_orm::Set(now + self.ttl);
        active.invited_by = sea_orm::Set(resent_by.to_owned());
        active.updated_at = sea_orm::Set(now);
        let updated = match active.update(&txn).await {
            Ok(updated) => updated,
            // An expired invitation whose email has since been invited again.
            Err(e) => return Err(self.pending_conflict(e, txn, organization_id, &email).await),
        };
        outbox::cancel_pending(&txn, id).await?;
        outbox::enqueue(&txn, id, &updated.email, &token).await?;
        txn.commit().await?;
        outbox::wake();
        tracing::info!("invitation resent");
        Ok(Invitation::at(updated, now))
    }
}

async fn find_in_org(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: Uuid,
    id: Uuid,
) -> ServiceResult<invitation::Model> {
    invitation::Entity::find_by_id(id)
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .ok_or(ServiceError::InvitationNotFound)
}

/// Retires a pending invitation for `email` that has expired, so it no longer holds the
/// pending-email index.
async fn retire_expired(
    txn: &sea_orm::DatabaseTransaction,
    organization_id: Uuid,
    email: &str,
    now: chrono::DateTime<Utc>,
) -> ServiceResult<()> {
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Expired),
        )
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.lte(now))
        .exec(txn)
        .await?;
    Ok(())
}

/// Makes user text match literally inside a LIKE pattern.
fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
