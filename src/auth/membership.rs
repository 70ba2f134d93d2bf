//! An in-process cache of the caller's role in an organization, so an org-scoped request
//! does not pay a membership query each time.
//!
//! Only memberships that exist are cached (a new member is seen at once). An entry lives at
//! most `MEMBERSHIP_CACHE_TTL` (at most 5 s; `0s`, the default, turns the cache off), so a
//! role change or removal made elsewhere (another instance, an operator's SQL) takes effect
//! within that time everywhere. A membership written by this process
//! ([`service::members::upsert`]) makes its organization's entries stale at once; on
//! PostgreSQL so does one written anywhere, which every instance hears of by `NOTIFY`
//! ([`crate::worker::listen`]), the TTL then bounding only a listener that is down.

use std::time::Duration;

use moka::sync::Cache;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    entity::OrgRole,
    service::{self, ServiceResult},
};

/// Roles by (organization, user), each tagged with the membership-write generation it was
/// read in.
#[derive(Clone)]
pub struct MembershipCache {
    roles: Option<Cache<(Uuid, String), (OrgRole, u64)>>,
}

impl MembershipCache {
    pub fn new(ttl: Duration) -> Self {
        let roles = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build()
        });
        Self { roles }
    }

    /// The role `user_id` holds in the organization, from the cache when fresh.
    pub async fn role_of(
        &self,
        db: &DatabaseConnection,
        organization_id: Uuid,
        user_id: &str,
    ) -> ServiceResult<Option<OrgRole>> {
        let Some(roles) = &self.roles else {
            return service::members::role_of(db, organization_id, user_id).await;
        };
        let key = (organization_id, user_id.to_owned());
        // Read before the query: a write that lands meanwhile makes this entry stale at once.
        let generation = service::members::generation(organization_id);
        if let Some((role, seen)) = roles.get(&key)
            && seen == generation
        {
            return Ok(Some(role));
        }
        let role = service::members::role_of(db, organization_id, user_id).await?;
        match role {
            Some(role) => roles.insert(key, (role, generation)),
            None => roles.invalidate(&key),
        }
        Ok(role)
    }
}
