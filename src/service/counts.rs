//! Exact invitation totals without a scan. The `invitation_count` table holds, per
//! (organization, stored status, role), counter rows kept by database triggers (migration
//! `m20261201_000001`), several shards per key on PostgreSQL, summed here. `EXPIRED` is
//! derived at read time, so the pending rows already past their expiry are counted by an
//! indexed range query (`ix_invitation_org_status_expires`) that the expiry sweep keeps small,
//! and moved from the `PENDING` total to the `EXPIRED` one. [`recount`] rebuilds the counters.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement, SubQueryStatement},
};
use uuid::Uuid;

use crate::{
    entity::{InvitationStatus, OrgRole, invitation},
    service::{ServiceResult, begin_write},
};

const TABLE: &str = "invitation_count";

/// `(SELECT COUNT(*) FROM invitation WHERE filter)`, for filters the counters cannot answer.
pub(crate) fn count_rows(filter: Condition) -> Expr {
    scalar(
        invitation::Entity::find()
            .select_only()
            .expr(Expr::col(invitation::Column::Id).count())
            .filter(filter)
            .into_query(),
    )
}

/// The exact number of the organization's invitations whose effective status is `status`
/// (any when `None`) and role is `role` (any when `None`), as a scalar SQL expression.
pub(crate) fn counted_total(
    organization_id: Uuid,
    status: Option<InvitationStatus>,
    role: Option<OrgRole>,
    now: DateTime<Utc>,
) -> Expr {
    match status {
        None => stored(organization_id, None, role),
        Some(InvitationStatus::Pending) => stored(
            organization_id,
            Some(InvitationStatus::Pending),
            role,
        )
        .sub(due(organization_id, role, now)),
        Some(InvitationStatus::Expired) => stored(
            organization_id,
            Some(InvitationStatus::Expired),
            role,
        )
        .add(due(organization_id, role, now)),
        Some(other) => stored(organization_id, Some(other), role),
    }
}

/// The counters' sum for a stored status (or all) and role (or all).
fn stored(organization_id: Uuid, status: Option<InvitationStatus>, role: Option<OrgRole>) -> Expr {
    let col = |name: &str| Expr::col((Alias::new(TABLE), Alias::new(name)));
    let mut query = Query::select();
    query
        .expr(Func::cast_as(
            Func::coalesce([Func::sum(col("n")).into(), Expr::val(0)]),
            Alias::new("BIGINT"),
        ))
        .from(Alias::new(TABLE))
        .and_where(col("organization_id").eq(organization_id));
    if let Some(status) = status {
        query.and_where(col("status").eq(status));
    }
    if let Some(role) = role {
        query.and_where(col("role").eq(role));
    }
    scalar(query)
}

/// How many stored-`PENDING` rows are past their expiry: they read `EXPIRED`.
fn due(organization_id: Uuid, role: Option<OrgRole>, now: DateTime<Utc>) -> Expr {
    let mut filter = Condition::all()
        .add(invitation::Column::OrganizationId.eq(organization_id))
        .add(invitation::Column::Status.eq(InvitationStatus::Pending))
        .add(invitation::Column::ExpiresAt.lte(now));
    if let Some(role) = role {
        filter = filter.add(invitation::Column::Role.eq(role));
    }
    count_rows(filter)
}

fn scalar(query: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(query)))
}

/// Rebuilds every counter from the invitation rows, with writers to `invitation` held off
/// for the duration so the result is exact. Returns how many invitations were counted.
pub async fn recount(db: &DatabaseConnection) -> ServiceResult<u64> {
    let txn = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // SHARE lets readers through and makes writers wait until the rebuild commits.
        txn.execute_unprepared("LOCK TABLE invitation IN SHARE MODE")
            .await?;
    }
    txn.execute_unprepared("DELETE FROM invitation_count")
        .await?;
    txn.execute_unprepared(
        "INSERT INTO invitation_count (organization_id, status, role, shard, n) \
         SELECT organization_id, status, role, 0, count(*) FROM invitation \
         GROUP BY organization_id, status, role",
    )
    .await?;
    let counted = invitation::Entity::find()
        .select_only()
        .expr(Expr::col(invitation::Column::Id).count())
        .into_tuple::<i64>()
        .one(&txn)
        .await?
        .unwrap_or(0);
    txn.commit().await?;
    Ok(u64::try_from(counted).unwrap_or(0))
}
