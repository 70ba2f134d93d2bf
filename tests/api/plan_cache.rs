//! On PostgreSQL the hot reads keep one cached (generic) plan instead of being planned anew on
//! every execution (`service::plan`): the list's page and total, and the create's deciding
//! read. PostgreSQL reports per prepared statement how each execution was planned.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use uuid::Uuid;
use voke_invitations::{
    entity::OrgRole,
    service::{
        events::Actor,
        invitations::{InvitationService, ListQuery, NewInvitation},
    },
};

use crate::helpers::spawn_app;

const RUNS: usize = 8;

#[tokio::test]
async fn the_list_and_the_creates_deciding_read_reuse_a_cached_plan() {
    let app = spawn_app().await;
    // One connection: the statements below and the catalog read after them share a session.
    let mut options = ConnectOptions::new(app.database_url.clone());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.expect("connect");
    let service = InvitationService::new(db.clone(), Duration::from_secs(3600));
    let org = Uuid::now_v7();
    // Older rows, enough that a plan for a bound LIMIT is costed as far more than one page.
    let seeded = if app.is_postgres() {
        seed(&db, org).await
    } else {
        0
    };
    let actor = Actor::user("plan-test", None);
    for i in 0..RUNS {
        let new = NewInvitation {
            email: format!("plan{i}@example.com"),
            role: OrgRole::Viewer,
            expires_at: None,
        };
        service.create(org, new, &actor).await.expect("create");
    }
    let page_one = ListQuery {
        page: 1,
        limit: 5,
        status: None,
        role: None,
        email: None,
        after: None,
    };
    for _ in 0..RUNS {
        let page = service.list(org, &page_one).await.expect("list");
        assert_eq!(page.total, seeded + RUNS as u64);
        let emails: Vec<_> = page.items.iter().map(|i| i.row.email.as_str()).collect();
        assert_eq!(
            emails,
            ["plan7", "plan6", "plan5", "plan4", "plan3"].map(|p| format!("{p}@example.com"))
        );
    }
    // Page 2 still has its offset: the rows after the first five.
    let page_two = ListQuery {
        page: 2,
        ..page_one.clone()
    };
    let page = service.list(org, &page_two).await.expect("list");
    let emails: Vec<_> = page.items.iter().map(|i| i.row.email.as_str()).collect();
    assert_eq!(
        emails[..3],
        [
            "plan2@example.com",
            "plan1@example.com",
            "plan0@example.com"
        ]
    );

    // Read before the email-filtered lists below: their statement, which PostgreSQL may also
    // settle on a generic plan for, would otherwise count toward the list's.
    if app.is_postgres() {
        let (list_generic, list_custom) = plans(&db, "total_count").await;
        assert!(
            list_generic > 0,
            "the list was planned anew each time: {list_generic} generic, {list_custom} custom"
        );
        let (read_generic, read_custom) = plans(&db, "in_the_way").await;
        assert!(
            read_generic > 0,
            "the deciding read was planned anew each time: {read_generic} generic, {read_custom} custom"
        );
    }

    // An email filter (its LIMIT stays bound).
    let by_email = ListQuery {
        email: Some("plan".to_owned()),
        ..page_one
    };
    for _ in 0..RUNS {
        let page = service.list(org, &by_email).await.expect("list");
        assert_eq!(page.total, RUNS as u64);
    }
}

/// Loads invitations older than any the test creates, as an operator's SQL would, and
/// refreshes the planner's statistics. Returns how many.
async fn seed(db: &DatabaseConnection, org: Uuid) -> u64 {
    const ROWS: u64 = 5_000;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO invitation (id, organization_id, email, role, status, invited_by, \
                                 expires_at, created_at, updated_at) \
         SELECT gen_random_uuid(), $1, 'seed' || i || '@example.com', 'VIEWER', \
                CASE WHEN i % 2 = 0 THEN 'PENDING' ELSE 'ACCEPTED' END, 'seed', \
                now() + interval '7 days', now() - i * interval '1 second', now() \
         FROM generate_series(1, $2::bigint) AS i",
        [org.into(), (ROWS as i64).into()],
    ))
    .await
    .expect("seed invitations");
    db.execute_unprepared("ANALYZE invitation")
        .await
        .expect("analyze");
    ROWS
}

/// How many executions of this session's prepared statements containing `marker` used the
/// generic plan and how many a custom one, summed over the statements.
async fn plans(db: &DatabaseConnection, marker: &str) -> (i64, i64) {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements",
        ))
        .await
        .expect("read pg_prepared_statements");
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|row| {
            let statement: String = row.try_get("", "statement").expect("statement");
            statement.contains(marker)
        })
        .collect();
    assert!(!rows.is_empty(), "no prepared statement mentions {marker}");
    rows.iter().fold((0, 0), |(generic, custom), row| {
        let g: i64 = row.try_get("", "generic_plans").expect("generic_plans");
        let c: i64 = row.try_get("", "custom_plans").expect("custom_plans");
        (generic + g, custom + c)
    })
}
