//! Recording what became of a claimed message (sent, failed and to be retried, or given up),
//! with its event and the event's webhook deliveries, only while its claim still holds it.
//!
//! The write is one conditional `UPDATE` of the message and inserts that happen only if that
//! `UPDATE` changed the row, in one round trip:
//!
//! - PostgreSQL: one statement, the `UPDATE … RETURNING` as a data-modifying CTE (`settled`)
//!   and each insert an `INSERT … SELECT … FROM settled` (no row when the claim was lost);
//!   atomic as a statement, with no transaction block.
//! - SQLite (no data-modifying CTEs): one batch: the `UPDATE`, `SELECT changes() = 1` (did
//!   it change the row), then each insert `… WHERE changes() = 1` (the write before it, the
//!   `UPDATE` and then each insert in turn, changed its one row); committed with the other
//!   writes waiting (see [`group_commit`]).
//!
//! The invitation is the one read with the claim (an email's invitation never changes
//! organization). The organization's webhooks that want the event are read just before the
//! write, in one indexed `SELECT`: a webhook created in between misses the event, as it would
//! had it been created a moment later.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityName, EntityTrait, IntoActiveModel, Iterable, Statement,
    sea_query::{
        Alias, CommonTableExpression, Expr, InsertStatement, Query, SelectStatement,
        UpdateStatement, WithClause,
    },
};

use crate::{
    entity::{email_outbox as outbox, event::EventType, invitation, webhook_delivery},
    service::{
        events::{self, Actor, EventData, NewEvent},
        group_commit,
    },
};

const SETTLED: &str = "settled";

/// The event a settlement records: its type and what it says beyond the message.
pub(super) struct Recorded {
    pub kind: EventType,
    pub data: EventData,
}

/// Runs `update` (restricted to the message its claim still holds) and, if it changed the
/// row, records `event` about `invitation` with its deliveries. `false`: the claim was lost
/// and nothing was written.
pub(super) async fn settle(
    db: &DatabaseConnection,
    message: &outbox::Model,
    invitation: &invitation::Model,
    mut update: UpdateStatement,
    event: Option<Recorded>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let source = match backend {
        DatabaseBackend::Postgres => Query::select().from(Alias::new(SETTLED)).to_owned(),
        _ => Query::select()
            .and_where(Expr::cust("changes() = 1"))
            .to_owned(),
    };
    let mut inserts = Vec::new();
    if let Some(Recorded { kind, data }) = event {
        let data = EventData {
            email: Some(message.recipient.clone()),
            email_id: Some(message.id),
            ..data
        };
        let webhooks = events::subscribers(db, invitation.organization_id, kind).await?;
        let row = events::row(&Actor::system(), NewEvent::of(kind, invitation, data), now)?;
        let deliveries = events::deliveries(row.id, kind, now, webhooks);
        inserts.push(insert_each(row.into_active_model(), &source)?);
        for delivery in deliveries {
            inserts.push(insert_each::<webhook_delivery::ActiveModel>(
                delivery, &source,
            )?);
        }
    }
    match backend {
        DatabaseBackend::Postgres => {
            update.returning_col(outbox::Column::Id);
            let mut with = WithClause::new();
            with.cte(
                CommonTableExpression::new()
                    .query(update)
                    .table_name(Alias::new(SETTLED))
                    .to_owned(),
            );
            for (n, insert) in inserts.into_iter().enumerate() {
                with.cte(
                    CommonTableExpression::new()
                        .query(insert)
                        .table_name(Alias::new(format!("insert_{n}")))
                        .to_owned(),
                );
            }
            let settled = Query::select()
                .column(outbox::Column::Id)
                .from(Alias::new(SETTLED))
                .to_owned();
            // A `SELECT`'s row count: 1 when the update changed the message.
            Ok(db.execute(&with.query(settled)).await?.rows_affected() > 0)
        }
        _ => {
            // The UPDATE, then whether it changed the row (a SELECT leaves `changes()` as the
            // UPDATE set it), then the inserts.
            let settled = Query::select()
                .expr_as(Expr::cust("changes() = 1"), Alias::new(SETTLED))
                .to_owned();
            let mut sql = String::new();
            let mut values = Vec::new();
            let update = backend.build(&update);
            let settled = backend.build(&settled);
            let inserts = inserts.iter().map(|insert| backend.build(insert));
            for one in [update, settled].into_iter().chain(inserts) {
                sql.push_str(&one.sql);
                sql.push_str(";\n");
                values.extend(one.values.map(|v| v.0).unwrap_or_default());
            }
            // With the other writes waiting (group commit).
            let batch = Statement::from_sql_and_values(backend, sql, values);
            let rows = group_commit::write(db, batch).await?;
            match rows.first() {
                Some(row) => Ok(row.try_get::<bool>("", SETTLED)?),
                None => Err(DbErr::Custom("the settlement batch returned no row".into())),
            }
        }
    }
}

/// `INSERT INTO <table> (<columns set in model>) SELECT <their values> <source>`: the row
/// of `model`, inserted once for each row `source` yields (here: none or one).
fn insert_each<A: ActiveModelTrait>(
    model: A,
    source: &SelectStatement,
) -> Result<InsertStatement, DbErr> {
    let mut columns = Vec::new();
    let mut select = source.clone();
    for column in <A::Entity as EntityTrait>::Column::iter() {
        if let Some(value) = model.get(column).into_value() {
            select.expr(column.save_as(Expr::val(value)));
            columns.push(column);
        }
    }
    let mut insert = Query::insert();
    insert
        .into_table(A::Entity::default().table_ref())
        .columns(columns)
        .select_from(select)
        .map_err(|e| DbErr::Custom(format!("insert from select: {e}")))?;
    Ok(insert)
}
