//! The list read: the page and its exact total in one statement (one snapshot on PostgreSQL,
//! no BEGIN/COMMIT), the total from the trigger-kept counters rather than a `COUNT(*)` scan.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, LikeExpr, Order, Query},
};
use uuid::Uuid;

use super::{Delivery, Invitation, InvitationService};
use crate::{
    entity::{
        InvitationStatus, OrgRole,
        email_outbox::{self, OutboxStatus},
        invitation,
    },
    service::{ServiceResult, counts, now, plan, state::status_condition},
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
    /// Keyset mode: the rows strictly after this one (in list order) instead of an offset.
    pub after: Option<Position>,
}

/// A row's place in the list order (`created_at`, then `id`, both descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page, the exact total matching, and where the next page starts (`None` at the end).
#[derive(Clone, Debug)]
pub struct ListPage {
    pub items: Vec<Invitation>,
    pub total: u64,
    pub next: Option<Position>,
}

const TOTAL: &str = "total_count";
const DELIVERY_STATUS: &str = "delivery_status";
const DELIVERY_ATTEMPTS: &str = "delivery_attempts";
const DELIVERY_LAST_ERROR: &str = "delivery_last_error";
const DELIVERY_SENT_AT: &str = "delivery_sent_at";
const PAGE: &str = "p";

impl InvitationService {
    /// One page of the organization's invitations, newest first, and the total matching.
    pub async fn list(&self, organization_id: Uuid, query: &ListQuery) -> ServiceResult<ListPage> {
        let now = now();
        let postgres = self.db.get_database_backend() == DatabaseBackend::Postgres;
        let filter = list_filter(organization_id, query, now, postgres);
        // Each row with its latest email's state (§10.4): a join on the primary key.
        let mut page = invitation::Entity::find()
            .join(JoinType::LeftJoin, invitation::Relation::LatestEmail.def())
            .column_as(email_outbox::Column::Status, DELIVERY_STATUS)
            .column_as(email_outbox::Column::Attempts, DELIVERY_ATTEMPTS)
            .column_as(email_outbox::Column::LastError, DELIVERY_LAST_ERROR)
            .column_as(email_outbox::Column::SentAt, DELIVERY_SENT_AT)
            .filter(filter.clone());
        page = match query.after {
            Some(after) => page.filter(
                Expr::tuple([
                    Expr::col((invitation::Entity, invitation::Column::CreatedAt)),
                    Expr::col((invitation::Entity, invitation::Column::Id)),
                ])
                .lt(Expr::tuple([
                    Expr::value(after.created_at),
                    Expr::value(after.id),
                ])),
            ),
            // No `OFFSET 0` on page 1: an offset is a bound parameter, and one the planner
            // cannot see keeps it planning the statement anew each time (see `service::plan`).
            None if query.page > 1 => page.offset((query.page - 1).saturating_mul(query.limit)),
            None => page,
        };
        // One row more than asked says whether there is a next page.
        let page = page
            .order_by_desc(invitation::Column::CreatedAt)
            .order_by_desc(invitation::Column::Id)
            .limit(query.limit.saturating_add(1))
            .into_query();
        let total = if query.email.is_some() {
            counts::count_rows(filter)
        } else {
            counts::counted_total(organization_id, query.status, query.role, now)
        };
        // The total as a scalar next to each row, and alone when the page is empty.
        let outer = Query::select()
            .expr_as(total, Alias::new(TOTAL))
            .column((Alias::new(PAGE), Asterisk))
            .from_subquery(
                Query::select().expr(Expr::val(1)).to_owned(),
                Alias::new("t"),
            )
            .join_subquery(
                JoinType::LeftJoin,
                page,
                Alias::new(PAGE),
                Expr::val(1).eq(Expr::val(1)),
            )
            .order_by(
                (Alias::new(PAGE), invitation::Column::CreatedAt),
                Order::Desc,
            )
            .order_by((Alias::new(PAGE), invitation::Column::Id), Order::Desc)
            .to_owned();
        // An `email` filter keeps its LIMIT bound, as before: whether a pattern is rare or in
        // every row decides its best plan (2.4 s instead of 0.2 s at 1M rows for a substring
        // of every row planned as if rare), and a LIMIT in the text would only make the one
        // generic plan, costed at a guessed selectivity, look cheaper still.
        let backend = self.db.get_database_backend();
        let statement = match query.email {
            None => plan::literal_limits(backend, &outer),
            Some(_) => backend.build(&outer),
        };
        let rows = self.db.query_all_raw(statement).await?;
        let mut total = 0u64;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            total = u64::try_from(row.try_get::<i64>("", TOTAL)?).unwrap_or(0);
            if let Some(model) = invitation::Model::from_query_result_optional(row, "")? {
                let delivery = Delivery::of_columns(
                    row.try_get::<Option<OutboxStatus>>("", DELIVERY_STATUS)?,
                    row.try_get::<Option<i32>>("", DELIVERY_ATTEMPTS)?,
                    row.try_get::<Option<String>>("", DELIVERY_LAST_ERROR)?,
                    row.try_get::<Option<DateTime<Utc>>>("", DELIVERY_SENT_AT)?,
                );
                items.push((model, delivery));
            }
        }
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next = items.last().filter(|_| more).map(|(row, _)| Position {
            created_at: row.created_at,
            id: row.id,
        });
        Ok(ListPage {
            items: items
                .into_iter()
                .map(|(row, delivery)| Invitation {
                    delivery,
                    ..Invitation::at(row, None, now)
                })
                .collect(),
            total,
            next,
        })
    }
}

fn list_filter(
    organization_id: Uuid,
    query: &ListQuery,
    now: DateTime<Utc>,
    postgres: bool,
) -> Condition {
    let mut filter = Condition::all().add(invitation::Column::OrganizationId.eq(organization_id));
    if let Some(status) = query.status {
        filter = filter.add(status_condition(status, now));
    }
    if let Some(role) = query.role {
        filter = filter.add(invitation::Column::Role.eq(role));
    }
    if let Some(email) = &query.email {
        let contains = LikeExpr::new(format!("%{}%", escape_like(email))).escape('\\');
        let email_col = Expr::col((invitation::Entity, invitation::Column::Email));
        filter = match local_suffix_range(email).filter(|_| postgres) {
            // The reversed-local-part index finds the candidates; the substring test only
            // rechecks them (`|| ''` keeps the planner off the trigram index, whose posting
            // lists for a shared domain are the slow part).
            Some((from, to)) => {
                let reversed_local = Expr::cust_with_expr(
                    "reverse(split_part($1, '@', 1)) COLLATE \"C\"",
                    email_col.clone(),
                );
                filter
                    .add(reversed_local.clone().gte(from))
                    .add(reversed_local.lt(to))
                    .add(Expr::cust_with_expr("($1 || '')", email_col).like(contains))
            }
            None => filter.add(email_col.like(contains)),
        };
    }
    filter
}

/// For a filter with exactly one `@` and text before it (`ana@`, `ana@example.com`), the
/// byte range `[from, to)` that every matching row's reversed local part lies in: a row
/// contains `x@y` only if its local part ends with `x` (every stored address has one `@`),
/// that is if the reversed local part starts with `x` reversed. `None` when the filter does
/// not allow this (no `@`, two, nothing before it, or a first character that is not ASCII
/// below DEL, which has no next byte to end the range at).
fn local_suffix_range(filter: &str) -> Option<(String, String)> {
    let (before, after) = filter.split_once('@')?;
    if before.is_empty() || after.contains('@') {
        return None;
    }
    let from: String = before.chars().rev().collect();
    let last = from
        .chars()
        .last()
        .filter(|c| c.is_ascii() && *c != '\x7f')?;
    let mut to = from[..from.len() - 1].to_owned();
    to.push(char::from(u8::try_from(u32::from(last) + 1).ok()?));
    Some((from, to))
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

#[cfg(test)]
mod tests {
    use super::local_suffix_range;

    #[test]
    fn a_filter_with_one_at_sign_bounds_the_reversed_local_part() {
        let range = local_suffix_range;
        assert_eq!(
            range("seed77@bench.example"),
            Some(("77dees".to_owned(), "77deet".to_owned()))
        );
        assert_eq!(range("ana@"), Some(("ana".to_owned(), "anb".to_owned())));
        assert_eq!(range("z@x"), Some(("z".to_owned(), "{".to_owned())));
        for no_range in [
            "ana",
            "@example.com",
            "a@b@c",
            "\u{7f}@x",
            "é@x",
            "éa@x",
            "",
        ] {
            assert_eq!(range(no_range), None, "{no_range:?}");
        }
        // Only the filter's first character (the reversed text's last) is raised.
        assert_eq!(range("aé@x"), Some(("éa".to_owned(), "éb".to_owned())));
    }
}
