//! A database that stalls, drops its connections or is locked by someone else: clients get
//! 503 `SERVICE_UNAVAILABLE` with `Retry-After` (never a 500, never a hang past
//! `REQUEST_TIMEOUT`), and the service recovers by itself (§9.4). The PostgreSQL cases run
//! through a fault-injecting TCP proxy when `TEST_DATABASE_URL` is set.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::json;

use crate::{
    helpers::{Actor, Resp, TestApp, spawn_app_through, spawn_app_with},
    proxy::{FaultProxy, Mode, upstream_of, via},
};

const TIMEOUT: &str = "1s";

fn is_postgres(app: &TestApp) -> bool {
    app.database_url.starts_with("postgres")
}

async fn create(app: &TestApp, admin: &Actor, email: &str) -> (Resp, Duration) {
    let started = Instant::now();
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(admin)
        .json(json!({ "email": email }))
        .send()
        .await;
    (resp, started.elapsed())
}

fn assert_unavailable(resp: &Resp) {
    resp.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        resp.headers.get("retry-after").is_some(),
        "{:?}",
        resp.headers
    );
    assert!(
        !resp.text.contains("terminating"),
        "no internals: {}",
        resp.text
    );
}

/// Retries `create` until it succeeds; every failure on the way must be a 503.
async fn recovers(app: &TestApp, admin: &Actor, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        let (resp, _) = create(app, admin, &format!("{prefix}-{i}@example.com")).await;
        if resp.status == 201 {
            return;
        }
        assert_unavailable(&resp);
        assert!(Instant::now() < deadline, "no recovery: {}", resp.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn through_proxy() -> Option<(TestApp, FaultProxy)> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let proxy = FaultProxy::start(upstream_of(&url)).await;
    let addr = proxy.addr;
    let app = spawn_app_through(|u| via(u, addr), &[("REQUEST_TIMEOUT", TIMEOUT)]).await;
    Some((app, proxy))
}

#[tokio::test]
async fn a_stalled_database_answers_503_within_the_request_timeout_and_recovers() {
    let Some((app, proxy)) = through_proxy().await else {
        return; // PostgreSQL only: SQLite has no network to stall.
    };
    let admin = app.admin().await;
    create(&app, &admin, "before@example.com")
        .await
        .0
        .assert_status(201);

    proxy.set(Mode::Stall);
    let (resp, took) = create(&app, &admin, "during@example.com").await;
    assert_unavailable(&resp);
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let started = Instant::now();
    let ready = app.get("/readyz").send().await;
    assert_unavailable(&ready);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "readyz took {:?}",
        started.elapsed()
    );

    proxy.set(Mode::Pass);
    recovers(&app, &admin, "after-stall").await;
    app.get("/readyz").send().await.assert_status(200);
}

#[tokio::test]
async fn dropped_database_connections_answer_503_or_succeed_never_500() {
    let Some((app, proxy)) = through_proxy().await else {
        return;
    };
    let admin = app.admin().await;
    create(&app, &admin, "before@example.com")
        .await
        .0
        .assert_status(201);
    for round in 0..3 {
        proxy.reset_all();
        let (resp, _) = create(&app, &admin, &format!("reset-{round}@example.com")).await;
        if resp.status != 201 {
            assert_unavailable(&resp);
        }
    }
    recovers(&app, &admin, "after-reset").await;
}

#[tokio::test]
async fn a_backend_terminated_mid_query_answers_503_and_the_next_request_succeeds() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT", "10s")]).await;
    if !is_postgres(&app) {
        return; // pg_terminate_backend is PostgreSQL's; SQLite is covered below.
    }
    let admin = app.admin().await;
    // Hold a lock so the app's insert waits inside PostgreSQL, then terminate its backend the
    // way a restart or failover does (SQLSTATE 57P01).
    let other = Database::connect(&app.database_url).await.expect("connect");
    let holder = other.begin().await.expect("begin");
    holder
        .execute_unprepared("LOCK TABLE invitation IN EXCLUSIVE MODE")
        .await
        .expect("lock");
    let waiting = {
        let app_db = app.db.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let killed = app_db
                    .execute_unprepared(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = current_database() AND wait_event_type = 'Lock' \
                         AND pid <> pg_backend_pid()",
                    )
                    .await
                    .map(|r| r.rows_affected())
                    .unwrap_or(0);
                if killed > 0 {
                    return true;
                }
            }
            false
        })
    };
    let (resp, _) = create(&app, &admin, "blocked@example.com").await;
    assert!(
        waiting.await.expect("join"),
        "the waiting backend was found and terminated"
    );
    assert_unavailable(&resp);
    holder.rollback().await.expect("release");
    recovers(&app, &admin, "after-terminate").await;
}

#[tokio::test]
async fn a_write_locked_by_another_holder_answers_503_within_the_request_timeout() {
    let app = spawn_app_with(&[("REQUEST_TIMEOUT", TIMEOUT)]).await;
    let admin = app.admin().await;
    let other = Database::connect(&app.database_url).await.expect("connect");
    let holder = if is_postgres(&app) {
        let txn = other.begin().await.expect("begin");
        txn.execute_unprepared("LOCK TABLE invitation IN EXCLUSIVE MODE")
            .await
            .expect("lock");
        txn
    } else {
        // Another process holding SQLite's write lock: BEGIN IMMEDIATE.
        let txn = other
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .expect("begin immediate");
        txn.execute_unprepared("DELETE FROM invitation WHERE 1 = 0")
            .await
            .expect("write");
        txn
    };
    let (resp, took) = create(&app, &admin, "locked@example.com").await;
    assert_unavailable(&resp);
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    holder.rollback().await.expect("release");
    recovers(&app, &admin, "after-lock").await;
}
