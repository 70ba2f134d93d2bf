//! PostgreSQL: a create in two statements and no transaction block, instead of a `BEGIN`, six
//! statements and a `COMMIT`. The first reads what decides the create (whether the email is
//! a member's, whether an expired pending invitation of the email is in the way, which
//! webhooks want the event); the second writes the invitation, its email, its event and the
//! event's deliveries together, as data-modifying CTEs of one statement, which PostgreSQL runs
//! atomically: all of it commits or none. Foreign keys are checked at the end of the
//! statement, so the order the CTEs run in does not matter, and the partial unique index
//! refuses a second live pending invitation exactly as it does in a transaction.
//!
//! Neither statement holds a lock while the service waits: the counter trigger's row locks
//! last from the end of the insert to its commit, in the same round trip.
//!
//! An expired invitation in the way is rare (the sweep retires them); the create then runs
//! as a transaction on the general path, which retires it with its own event first.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Alias, CommonTableExpression, Expr, JoinType, Query, WithClause},
};
use uuid::Uuid;

use super::{NewRows, Refused};
use crate::{
    entity::{InvitationStatus, email_outbox, event, invitation, organization_member, webhook},
    service::{ServiceError, events, state::Invitation},
};

/// Why the one-statement create did not create an invitation.
pub(in crate::service::invitations) enum OneStatement {
    /// The create was refused, as a transaction would have refused it.
    Refused(Refused),
    /// An expired pending invitation of the email is in the way: create in a transaction.
    NotApplicable(Box<NewRows>),
}

impl From<sea_orm::DbErr> for OneStatement {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Refused(err.into())
    }
}

const IS_MEMBER: &str = "is_member";
const IN_THE_WAY: &str = "in_the_way";
const WEBHOOK_ID: &str = "webhook_id";

/// Creates the invitation of `rows` in two statements; see the module's documentation.
pub(in crate::service::invitations) async fn create(
    db: &DatabaseConnection,
    rows: NewRows,
) -> Result<Invitation, OneStatement> {
    let organization_id = rows.invitation.organization_id;
    let is_member = organization_member::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(organization_member::Column::OrganizationId.eq(organization_id))
        .filter(organization_member::Column::Email.eq(rows.invitation.email.as_str()))
        .into_query();
    let in_the_way = invitation::Entity::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(rows.same_email())
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.lte(rows.now))
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
            return Err(OneStatement::Refused(Refused::Other(
                ServiceError::AlreadyAMember,
            )));
        }
        if row.try_get::<bool>("", IN_THE_WAY)? {
            return Err(OneStatement::NotApplicable(Box::new(rows)));
        }
        if let Some(id) = row.try_get::<Option<Uuid>>("", WEBHOOK_ID)? {
            webhooks.push(id);
        }
    }
    db.execute(&writes(&rows, webhooks)?).await?;
    Ok(rows.created())
}

/// `WITH i AS (INSERT invitation), e AS (INSERT email_outbox), v AS (INSERT event)[,
/// d AS (INSERT webhook_delivery)] SELECT 1`.
fn writes(
    rows: &NewRows,
    webhooks: Vec<Uuid>,
) -> Result<sea_orm::sea_query::WithQuery, sea_orm::DbErr> {
    let event = events::row(&rows.actor, rows.event.clone(), rows.now)?;
    let cte = |name: &str, insert: sea_orm::sea_query::InsertStatement| {
        CommonTableExpression::new()
            .query(insert)
            .table_name(Alias::new(name))
            .to_owned()
    };
    let mut with = WithClause::new();
    with.cte(cte(
        "new_invitation",
        invitation::Entity::insert(rows.invitation.clone().into_active_model().reset_all())
            .into_query(),
    ))
    .cte(cte(
        "new_email",
        email_outbox::Entity::insert(rows.email.clone().into_active_model().reset_all())
            .into_query(),
    ));
    let deliveries = events::deliveries(event.id, event.r#type, rows.now, webhooks);
    with.cte(cte(
        "new_event",
        event::Entity::insert(event.into_active_model()).into_query(),
    ));
    if !deliveries.is_empty() {
        with.cte(cte(
            "new_deliveries",
            crate::entity::webhook_delivery::Entity::insert_many(deliveries).into_query(),
        ));
    }
    Ok(with.query(Query::select().expr(Expr::val(1)).to_owned()))
}
