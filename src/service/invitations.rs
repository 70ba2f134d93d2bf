//! Invitations: create, list, get, revoke. Status `EXPIRED` is derived at read time from
//! `expires_at`, so a pending row past its expiry reads as expired before any job rewrites it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use uuid::Uuid;

use crate::{
    entity::{InvitationStatus, OrgRole, invitation},
    error::{ApiError, CONFLICT_PENDING_EXISTS},
    service::{begin_write, members, normalize_email, now, outbox, tokens},
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

    /// Creates a pending invitation. A member's email is `ALREADY_A_MEMBER` (checked first); a
    /// live pending invitation is `CONFLICT`, decided by the partial unique index so concurrent
    /// creates yield exactly one row. An expired pending row is retired in the same transaction.
    #[tracing::instrument(skip_all, fields(org = %organization_id))]
    pub async fn create(
        &self,
        organization_id: Uuid,
        email: &str,
        role: OrgRole,
        invited_by: &str,
    ) -> Result<Invitation, ApiError> {
        let email = normalize_email(email);
        let now = now();
        let txn = begin_write(&self.db).await?;
        if members::email_is_member(&txn, organization_id, &email).await? {
            return Err(ApiError::AlreadyAMember);
        }
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Status,
                Expr::value(InvitationStatus::Expired),
            )
            .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .filter(invitation::Column::Email.eq(email.as_str()))
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.lte(now))
            .exec(&txn)
            .await?;
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
        match inserted {
            Ok(_) => {}
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(ApiError::Conflict(CONFLICT_PENDING_EXISTS));
            }
            Err(e) => return Err(e.into()),
        }
        outbox::enqueue(&txn, model.id, &model.email, &token).await?;
        txn.commit().await?;
        tracing::info!(invitation = %model.id, "invitation created");
        Ok(Invitation::at(model, now))
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn ttl(&self) -> chrono::Duration {
        self.ttl
    }

    /// Rewrites every pending invitation past its expiry to `EXPIRED` in one statement. Safe to
    /// run on several instances at once, and idempotent: returns how many rows it changed.
    pub async fn expire_due(&self) -> Result<u64, ApiError> {
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
    ) -> Result<(Vec<Invitation>, u64), ApiError> {
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
    pub async fn get(&self, organization_id: Uuid, id: Uuid) -> Result<Invitation, ApiError> {
        let row = invitation::Entity::find_by_id(id)
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::InvitationNotFound)?;
        Ok(Invitation::at(row, now()))
    }

    /// Soft-revokes a live pending invitation in one conditional update, so a revoke racing an
    /// accept or another revoke cannot both win.
    #[tracing::instrument(skip_all, fields(org = %organization_id, invitation = %id))]
    pub async fn revoke(&self, organization_id: Uuid, id: Uuid) -> Result<(), ApiError> {
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
        Err(ApiError::BadRequest(
            "Invitation cannot be revoked in its current state".to_owned(),
        ))
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
) -> Result<bool, ApiError> {
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
fn status_condition(status: InvitationStatus, now: DateTime<Utc>) -> Condition {
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
