//! Migrations apply, roll back and re-apply cleanly.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

use crate::helpers::spawn_app;

async fn table_exists(app: &crate::helpers::TestApp, table: &str) -> bool {
    let sql = if app.is_postgres() {
        format!("SELECT 1 FROM information_schema.tables WHERE table_name = '{table}'")
    } else {
        format!("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
    };
    app.query_one(&sql).await.is_some()
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let app = spawn_app().await;
    assert!(table_exists(&app, "invitation").await);
    assert!(table_exists(&app, "organization_member").await);

    Migrator::down(&app.db, None).await.expect("down");
    assert!(!table_exists(&app, "invitation").await);
    assert!(!table_exists(&app, "organization_member").await);
    assert!(
        Migrator::get_applied_migrations(&app.db)
            .await
            .expect("status")
            .is_empty()
    );

    Migrator::up(&app.db, None).await.expect("up again");
    assert!(table_exists(&app, "invitation").await);
    let admin = app.admin().await;
    app.invite(&admin, "after@example.com", None).await;
}

#[tokio::test]
async fn the_pending_email_index_is_partial_and_the_list_index_exists() {
    let app = spawn_app().await;
    let sql = if app.is_postgres() {
        "SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'ux_invitation_pending_org_email'"
    } else {
        "SELECT sql AS def FROM sqlite_master WHERE name = 'ux_invitation_pending_org_email'"
    };
    let row = app.query_one(sql).await.expect("index exists");
    let def: String = row.try_get("", "def").expect("def");
    assert!(def.to_uppercase().contains("UNIQUE"), "{def}");
    assert!(def.contains("WHERE"), "{def}");
    let sql = if app.is_postgres() {
        "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_invitation_org_created_id'"
    } else {
        "SELECT 1 FROM sqlite_master WHERE name = 'ix_invitation_org_created_id'"
    };
    assert!(app.query_one(sql).await.is_some());
    // The engine uses it for the list query.
    if !app.is_postgres() {
        let plan = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "EXPLAIN QUERY PLAN SELECT * FROM invitation WHERE organization_id = x'00' \
                 ORDER BY created_at DESC, id DESC LIMIT 20",
            ))
            .await
            .expect("plan");
        let text: Vec<String> = plan
            .iter()
            .filter_map(|r| r.try_get::<String>("", "detail").ok())
            .collect();
        let text = text.join("\n");
        assert!(text.contains("ix_invitation_org_created_id"), "{text}");
        assert!(!text.contains("TEMP B-TREE"), "no sort: {text}");
    }
}
