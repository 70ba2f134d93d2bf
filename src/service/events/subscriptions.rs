//! Which event types a webhook endpoint wants: how its list is stored (`,a,b,`, or
//! [`ALL_TYPES`]) and how a statement finds the endpoints subscribed to one type.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::entity::{event::EventType, webhook};

/// The organization's webhooks subscribed to events of type `kind`.
pub async fn subscribers(
    conn: &impl ConnectionTrait,
    organization_id: Uuid,
    kind: EventType,
) -> Result<Vec<Uuid>, DbErr> {
    webhook::Entity::find()
        .select_only()
        .column(webhook::Column::Id)
        .filter(webhook::Column::OrganizationId.eq(organization_id))
        .filter(subscribed_to(kind))
        .into_tuple()
        .all(conn)
        .await
}

/// The webhooks (of an organization, when filtered so) subscribed to events of type `kind`.
///
/// The `LIKE` pattern is written into the SQL text, not bound: SQLite compiles a statement
/// whose `LIKE` pattern is a parameter again each time the parameter is bound (its `LIKE`
/// optimisation reads the pattern when it plans), so the create's deciding read, which holds
/// this condition, was compiled on every create: a tenth of the server's CPU under SQLite
/// creates (perf, 10k rows). The patterns come from [`EventType`]'s names, one statement text
/// per type, never from a request. The escape character is `!`, not a backslash, so the
/// literal reads the same whatever PostgreSQL's `standard_conforming_strings`.
pub fn subscribed_to(kind: EventType) -> Condition {
    let listed = format!(
        r#""webhook"."event_types" LIKE '{}' ESCAPE '{LIKE_ESCAPE}'"#,
        subscription_pattern(kind)
    );
    Condition::any()
        .add(Expr::cust(listed))
        .add(webhook::Column::EventTypes.eq(ALL_TYPES))
}

/// How an endpoint subscribed to every type is stored.
pub const ALL_TYPES: &str = ",*,";

/// The stored form of a subscription list: `,a,b,`.
pub fn stored_types(types: &[EventType]) -> String {
    let mut out = String::from(",");
    for kind in types {
        out.push_str(&sea_orm::ActiveEnum::to_value(kind));
        out.push(',');
    }
    out
}

/// Parses the stored form back: `None` stands for every type.
pub fn parse_types(stored: &str) -> Option<Vec<EventType>> {
    if stored == ALL_TYPES {
        return None;
    }
    Some(
        stored
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|s| <EventType as sea_orm::ActiveEnum>::try_from_value(&s.to_owned()).ok())
            .collect(),
    )
}

/// The escape character of [`subscription_pattern`]: no event type's name holds it.
const LIKE_ESCAPE: char = '!';

/// `%,invitation.email!_sent,%`: the `LIKE` pattern that finds `kind` in a stored list, with
/// `_` escaped (it is a wildcard) by [`LIKE_ESCAPE`].
fn subscription_pattern(kind: EventType) -> String {
    let name = sea_orm::ActiveEnum::to_value(&kind).replace('_', &format!("{LIKE_ESCAPE}_"));
    format!("%,{name},%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DatabaseBackend, Iterable, QueryTrait};

    #[test]
    fn subscription_lists_round_trip() {
        let all: Vec<EventType> = EventType::iter().collect();
        let stored = stored_types(&all);
        assert!(stored.starts_with(",invitation.created,"), "{stored}");
        assert_eq!(parse_types(&stored), Some(all));
        assert_eq!(parse_types(ALL_TYPES), None);
    }

    /// Every pattern is a literal SQL can hold as it is (no quote to escape), and it is written
    /// into the statement, not bound.
    #[test]
    fn subscription_patterns_are_written_into_the_sql() {
        for kind in EventType::iter() {
            let name = sea_orm::ActiveEnum::to_value(&kind);
            assert!(!name.contains(LIKE_ESCAPE), "{name}");
            let pattern = subscription_pattern(kind);
            assert!(
                pattern
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || ".,%_!".contains(c)),
                "{pattern}"
            );
            for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
                let statement = webhook::Entity::find()
                    .filter(subscribed_to(kind))
                    .build(backend);
                let literal = format!("LIKE '{pattern}' ESCAPE '!'");
                assert!(statement.sql.contains(&literal), "{}", statement.sql);
                let values = statement.values.map(|v| v.0).unwrap_or_default();
                assert_eq!(values, vec![sea_orm::Value::from(ALL_TYPES)]);
            }
        }
    }

    #[test]
    fn the_pattern_escapes_the_underscore_wildcard() {
        assert_eq!(
            subscription_pattern(EventType::EmailSent),
            "%,invitation.email!_sent,%"
        );
    }
}
