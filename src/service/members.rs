//! Organization memberships.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use crate::{
    entity::{OrgRole, organization_member as member},
    service::{ServiceError, ServiceResult, normalize_email, now},
};

/// Counts the membership writes this process made or heard of (PostgreSQL notifies every
/// instance), per organization (hashed into shards), so caches of roles can tell an entry
/// read before the latest write to its organization; a write elsewhere leaves other
/// organizations' entries alone.
static GENERATIONS: [AtomicU64; SHARDS] = [const { AtomicU64::new(0) }; SHARDS];
const SHARDS: usize = 1024;

fn shard(organization_id: Uuid) -> &'static AtomicU64 {
    let low = organization_id.as_u128() as usize;
    &GENERATIONS[low % SHARDS]
}

/// The number of membership writes this process has made (or heard of) so far to
/// `organization_id`'s shard.
pub fn generation(organization_id: Uuid) -> u64 {
    shard(organization_id).load(Ordering::Acquire)
}

/// Makes every role cached for `organization_id` (and its shard) stale: its membership
/// changed.
pub fn invalidate(organization_id: Uuid) {
    shard(organization_id).fetch_add(1, Ordering::AcqRel);
}

/// Makes every cached role stale: a change may have gone unheard.
pub fn invalidate_all() {
    for generation in &GENERATIONS {
        generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// The role a user holds in an organization, if any.
pub async fn role_of(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: &str,
) -> ServiceResult<Option<OrgRole>> {
    // A key finds one row at most, so `all` rather than `one`, whose bound `LIMIT` would have
    // SQLite recompile the statement on every call (see `service::plan`).
    Ok(
        member::Entity::find_by_id((organization_id, user_id.to_owned()))
            .all(db)
            .await?
            .into_iter()
            .next()
            .map(|m| m.role),
    )
}

/// True when the (normalised) email belongs to a member of the organization.
pub async fn email_is_member(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &str,
) -> ServiceResult<bool> {
    let count = with_email(organization_id, email).count(db).await?;
    Ok(count > 0)
}

/// The organization's memberships of the (normalised) `email`.
pub fn with_email(organization_id: Uuid, email: &str) -> sea_orm::Select<member::Entity> {
    member::Entity::find()
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(member::Column::Email.eq(email))
}

/// Adds a membership, or updates the email and role of an existing one.
pub async fn upsert(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: &str,
    email: &str,
    role: OrgRole,
) -> ServiceResult<member::Model> {
    let now = now();
    let model = member::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id.to_owned()),
        email: Set(normalize_email(email)),
        role: Set(role),
        created_at: Set(now),
        updated_at: Set(now),
    };
    member::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([member::Column::OrganizationId, member::Column::UserId])
                .update_columns([
                    member::Column::Email,
                    member::Column::Role,
                    member::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    invalidate(organization_id);
    member::Entity::find_by_id((organization_id, user_id.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::Internal("the upserted membership vanished".to_owned()))
}

/// One page of an organization's members, oldest first, and the total count.
pub async fn list(
    db: &DatabaseConnection,
    organization_id: Uuid,
    page: u64,
    limit: u64,
) -> ServiceResult<(Vec<member::Model>, u64)> {
    let query = member::Entity::find().filter(member::Column::OrganizationId.eq(organization_id));
    let total = query.clone().count(db).await?;
    let items = query
        .order_by_asc(member::Column::CreatedAt)
        .order_by_asc(member::Column::UserId)
        .offset((page - 1).saturating_mul(limit))
        .limit(limit)
        .all(db)
        .await?;
    Ok((items, total))
}
