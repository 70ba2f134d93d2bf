//! The in-process membership cache: a role changed or removed behind the process's back
//! takes effect within `MEMBERSHIP_CACHE_TTL`; one written by the process, at once; on
//! PostgreSQL, one written anywhere, at once, once the listener hears the notification.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use tokio::sync::watch;
use voke_invitations::{entity::OrgRole, worker::listen};

use crate::helpers::{Actor, TestApp, spawn_app_with};

async fn list_status(app: &TestApp, actor: &Actor) -> u16 {
    app.get("/api/v1/invitations")
        .acting_as(actor)
        .send()
        .await
        .status
        .as_u16()
}

/// Polls until the list answers `status`, returning how long that took.
async fn until_status(app: &TestApp, actor: &Actor, status: u16) -> Duration {
    let start = Instant::now();
    while list_status(app, actor).await != status {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn outside_write(app: &TestApp, sql: &str) {
    app.db.execute_unprepared(sql).await.expect("write by SQL");
}

#[tokio::test]
async fn a_role_changed_or_removed_elsewhere_takes_effect_within_the_ttl() {
    let app = spawn_app_with(&[("MEMBERSHIP_CACHE_TTL", "5s")]).await;
    let admin = app.admin().await;
    assert_eq!(list_status(&app, &admin).await, 200);

    // As another instance would: the database changes, this process is not told (no
    // listener runs here; on PostgreSQL see the test below).
    outside_write(
        &app,
        &format!(
            "UPDATE organization_member SET role = 'VIEWER' WHERE user_id = '{}'",
            admin.user_id
        ),
    )
    .await;
    // Still trusted from the cache (the query would say VIEWER, so 403)... Not checked on
    // PostgreSQL: under `cargo test` (one process) a listener another test starts drops every
    // cached role when it connects, as a serving instance's must; the test below covers it.
    if !app.is_postgres() {
        assert_eq!(list_status(&app, &admin).await, 200);
    }
    // ...but not beyond the TTL.
    let took = until_status(&app, &admin, 403).await;
    assert!(took <= Duration::from_secs(6), "took {took:?}");

    // Back to admin through the process: seen at once.
    app.member(admin.org, &admin.user_id, OrgRole::OrgAdmin)
        .await;
    assert_eq!(list_status(&app, &admin).await, 200);

    outside_write(
        &app,
        &format!(
            "DELETE FROM organization_member WHERE user_id = '{}'",
            admin.user_id
        ),
    )
    .await;
    let took = until_status(&app, &admin, 403).await;
    assert!(took <= Duration::from_secs(6), "took {took:?}");
}

#[tokio::test]
async fn with_the_cache_off_a_change_elsewhere_is_seen_on_the_next_request() {
    let app = spawn_app_with(&[("MEMBERSHIP_CACHE_TTL", "0s")]).await;
    let admin = app.admin().await;
    assert_eq!(list_status(&app, &admin).await, 200);
    outside_write(
        &app,
        &format!(
            "UPDATE organization_member SET role = 'VIEWER' WHERE user_id = '{}'",
            admin.user_id
        ),
    )
    .await;
    assert_eq!(list_status(&app, &admin).await, 403);
}

#[tokio::test]
async fn on_postgres_a_change_made_anywhere_is_heard_and_applies_long_before_the_ttl() {
    let app = spawn_app_with(&[("MEMBERSHIP_CACHE_TTL", "5s")]).await;
    if !app.is_postgres() {
        return; // SQLite notifies nobody: the test above is its whole story.
    }
    let admin = app.admin().await;
    // The listener every serving instance runs (with its worker), on this app's database.
    let (wake, mut woken) = watch::channel(0u64);
    let (stop, stopped) = watch::channel(false);
    let listener = tokio::spawn(listen::run(app.db.clone(), wake, stopped));
    // Its first wake-up says it is connected and listening.
    tokio::time::timeout(Duration::from_secs(5), woken.changed())
        .await
        .expect("the listener connects")
        .expect("the listener runs");

    assert_eq!(list_status(&app, &admin).await, 200);
    for (sql, status) in [
        ("UPDATE organization_member SET role = 'VIEWER'", 403),
        ("UPDATE organization_member SET role = 'ORG_ADMIN'", 200),
        ("DELETE FROM organization_member", 403),
    ] {
        // Cached now: the next answer would come from the cache for up to 5 s.
        assert_ne!(list_status(&app, &admin).await, status);
        outside_write(&app, &format!("{sql} WHERE user_id = '{}'", admin.user_id)).await;
        let took = until_status(&app, &admin, status).await;
        assert!(took < Duration::from_secs(2), "{sql}: took {took:?}");
    }
    let _ = stop.send(true);
    let _ = listener.await;
}
