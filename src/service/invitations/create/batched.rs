//! A create in few round trips. The first statement reads what decides the create (whether
//! the email is a member's, whether an expired pending invitation of the email is in the way,
//! which webhooks want the event); then the invitation, its email, its event and the event's
//! deliveries are written together:
//!
//! - PostgreSQL: as data-modifying CTEs of one statement and no transaction block (instead
//!   of a `BEGIN`, six statements and a `COMMIT`), which PostgreSQL runs atomically: all of
//!   it commits or none. Foreign keys are checked at the end of the statement, so the order
//!   the CTEs run in does not matter, and the partial unique index refuses a second live
//!   pending invitation exactly as it does in a transaction. No lock is held while the
//!   service waits: the counter trigger's row locks last from the insert to its commit, in
//!   the same round trip.
//! - SQLite (no data-modifying CTEs): as one batch of statements, committed together with
//!   the other creates waiting at that moment (group commit, see [`group_commit`]): one round trip
//!   to the database thread per create, plus a `BEGIN` and a `COMMIT` per group, instead of
//!   eight round trips and a transaction per create.
//!
//! The deciding read runs before the writes, not in their transaction: a membership created
//! between the two (an accept of another invitation of the email, committed in that instant)
//! is not seen, as it was not on PostgreSQL's READ COMMITTED before either; a live pending
//! invitation created meanwhile is still refused by the unique index.
//!
//! An expired invitation in the way is rare (the sweep retires them); the create then runs
//! as a transaction on the general path, which retires it with its own event first.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, QueryTrait, Statement,
    sea_query::{Alias, CommonTableExpression, Expr, InsertStatement, JoinType, Query, WithClause},
};
use uuid::Uuid;

use super::{NewRows, Refused, expiry};
use crate::{
    entity::{email_outbox, event, invitation, webhook, webhook_delivery},
    service::{ServiceError, events, group_commit, members, state::Invitation},
};

/// Why the batched create did not create an invitation.
pub(in crate::service::invitations) enum Batched {
    /// The create was refused, as a transaction would have refused it.
    Refused(Refused),
    /// An expired pending invitation of the email is in the way: create in a transaction.
    NotApplicable(Box<NewRows>),
}

impl From<sea_orm::DbErr> for Batched {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Refused(err.into())
    }
}

const IS_MEMBER: &str = "is_member";
const IN_THE_WAY: &str = "in_the_way";
const WEBHOOK_ID: &str = "webhook_id";

/// Creates the invitation of `rows` in few round trips; see the module's documentation.
pub(in crate::service::invitations) async fn create(
    db: &DatabaseConnection,
    rows: NewRows,
) -> Result<Invitation, Batched> {
    let organization_id = rows.invitation.organization_id;
    let is_member = members::with_email(organization_id, &rows.invitation.email)
        .select_only()
        .expr(Expr::val(1))
        .into_query();
    let in_the_way = invitation::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(rows.same_email())
        .filter(expiry::past_due(rows.now))
        .into_query();
    // One row per subscribed webhook, or one with no webhook.
    let decide = Query::select()
        .expr_as(Expr::exists(is_member), Alias::new(IS_MEMBER))
        .expr_as(Expr::exists(in_the_way), Alias::new(IN_THE_WAY))
        .expr_as(
            Expr::col((webhook::Entity, webhook::Column::Id)),
            Alias::new(WEBHOOK_ID),
        )
        .from_subquery(
            Query::select().expr(Expr::val(1)).to_owned(),
            Alias::new("one"),
        )
        .join(
            JoinType::LeftJoin,
            webhook::Entity,
            sea_orm::Condition::all()
                .add(webhook::Column::OrganizationId.eq(organization_id))
                .add(events::subscribed_to(rows.event.kind)),
        )
        .to_owned();
    let found = db.query_all(&decide).await?;
    let mut webhooks = Vec::new();
    for row in &found {
        if row.try_get::<bool>("", IS_MEMBER)? {
            return Err(Batched::Refused(Refused::Other(
                ServiceError::AlreadyAMember,
            )));
        }
        if row.try_get::<bool>("", IN_THE_WAY)? {
            return Err(Batched::NotApplicable(Box::new(rows)));
        }
        if let Some(id) = row.try_get::<Option<Uuid>>("", WEBHOOK_ID)? {
            webhooks.push(id);
        }
    }
    match db.get_database_backend() {
        DatabaseBackend::Postgres => write(db, &rows, webhooks).await?,
        _ => group_commit::write(db, sqlite_batch(&rows, webhooks)?)
            .await
            .map(drop)?,
    }
    Ok(rows.created())
}

/// Writes the invitation of `rows`, its email, its event and one delivery per webhook in
/// `webhooks`: one statement on PostgreSQL (atomic on its own, or part of the caller's
/// transaction), one batch on SQLite (call it inside a transaction).
pub(super) async fn write(
    conn: &impl ConnectionTrait,
    rows: &NewRows,
    webhooks: Vec<Uuid>,
) -> Result<(), sea_orm::DbErr> {
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            let mut with = WithClause::new();
            for (name, insert) in writes(rows, webhooks)? {
                with.cte(
                    CommonTableExpression::new()
                        .query(insert)
                        .table_name(Alias::new(name))
                        .to_owned(),
                );
            }
            conn.execute(&with.query(Query::select().expr(Expr::val(1)).to_owned()))
                .await?;
        }
        _ => {
            conn.execute_raw(sqlite_batch(rows, webhooks)?).await?;
        }
    }
    Ok(())
}

/// The writes of [`write`] for SQLite, which has no data-modifying CTEs: the same statements
/// as one batch (sqlx runs each in turn, binding the parameters in order).
fn sqlite_batch(rows: &NewRows, webhooks: Vec<Uuid>) -> Result<Statement, sea_orm::DbErr> {
    let backend = DatabaseBackend::Sqlite;
    let mut sql = String::new();
    let mut values = Vec::new();
    for (_, insert) in writes(rows, webhooks)? {
        let one = backend.build(&insert);
        sql.push_str(&one.sql);
        sql.push_str(";\n");
        values.extend(one.values.map(|v| v.0).unwrap_or_default());
    }
    Ok(Statement::from_sql_and_values(backend, sql, values))
}

/// The inserts of one create, each named (the CTE names on PostgreSQL): the invitation, its
/// email, its event and, when a webhook wants it, the event's deliveries.
fn writes(
    rows: &NewRows,
    webhooks: Vec<Uuid>,
) -> Result<Vec<(&'static str, InsertStatement)>, sea_orm::DbErr> {
    let event = events::row(&rows.actor, rows.event.clone(), rows.now)?;
    let deliveries = events::deliveries(event.id, event.r#type, rows.now, webhooks);
    let mut writes = vec![
        (
            "new_invitation",
            invitation::Entity::insert(rows.invitation.clone().into_active_model().reset_all())
                .into_query(),
        ),
        (
            "new_email",
            email_outbox::Entity::insert(rows.email.clone().into_active_model().reset_all())
                .into_query(),
        ),
        (
            "new_event",
            event::Entity::insert(event.into_active_model()).into_query(),
        ),
    ];
    if !deliveries.is_empty() {
        writes.push((
            "new_deliveries",
            webhook_delivery::Entity::insert_many(deliveries).into_query(),
        ));
    }
    Ok(writes)
}
