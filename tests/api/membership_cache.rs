//! The in-process membership cache: a role changed or removed behind the process's back
//! takes effect within `MEMBERSHIP_CACHE_TTL`; one written by the process, at once.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use voke_invitations::entity::OrgRole;

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

    // As another instance would: the database changes, this process is not told.
    outside_write(
        &app,
        &format!(
            "UPDATE organization_member SET role = 'VIEWER' WHERE user_id = '{}'",
            admin.user_id
        ),
    )
    .await;
    // Still trusted from the cache (the query would say VIEWER, so 403)...
    assert_eq!(list_status(&app, &admin).await, 200);
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
