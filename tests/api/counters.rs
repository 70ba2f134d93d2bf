//! Exact list totals from the trigger-kept counters: every way a row changes, rows written
//! by raw SQL, the derived `EXPIRED` status before and after the sweep, and `recount`.

use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Actor, TestApp, spawn_app};

const STATUSES: [&str; 5] = ["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"];
const ROLES: [&str; 3] = ["ORG_ADMIN", "OPERATOR", "VIEWER"];

async fn meta_total(app: &TestApp, actor: &Actor, query: &str) -> i64 {
    let resp = app
        .get(&format!("/api/v1/invitations?limit=1{query}"))
        .acting_as(actor)
        .send()
        .await;
    resp.assert_status(200);
    resp.body["meta"]["total"].as_i64().expect("total")
}

/// Every row of the organization as the API reports it, walked page by page.
async fn all_rows(app: &TestApp, actor: &Actor) -> Vec<Value> {
    let mut rows = Vec::new();
    for page in 1.. {
        let resp = app
            .get(&format!("/api/v1/invitations?limit=100&page={page}"))
            .acting_as(actor)
            .send()
            .await;
        let data = resp.body["data"].as_array().expect("data").clone();
        if data.is_empty() {
            break;
        }
        rows.extend(data);
    }
    rows
}

/// Asserts that `meta.total` for every status, role and status+role filter equals the number
/// of rows the walk shows with that effective status and role.
async fn assert_totals_exact(app: &TestApp, actor: &Actor) {
    let rows = all_rows(app, actor).await;
    let count = |status: Option<&str>, role: Option<&str>| {
        rows.iter()
            .filter(|r| status.is_none_or(|s| r["status"] == s))
            .filter(|r| role.is_none_or(|x| r["role"] == x))
            .count() as i64
    };
    assert_eq!(meta_total(app, actor, "").await, count(None, None), "total");
    for status in STATUSES {
        let got = meta_total(app, actor, &format!("&status={status}")).await;
        assert_eq!(got, count(Some(status), None), "status={status}");
        for role in ROLES {
            let got = meta_total(app, actor, &format!("&status={status}&role={role}")).await;
            assert_eq!(got, count(Some(status), Some(role)), "{status} {role}");
        }
    }
    for role in ROLES {
        let got = meta_total(app, actor, &format!("&role={role}")).await;
        assert_eq!(got, count(None, Some(role)), "role={role}");
    }
}

async fn token_of(app: &TestApp, id: &str) -> String {
    app.outbox_token(id).await
}

#[tokio::test]
async fn totals_stay_exact_through_create_revoke_accept_decline_resend_and_the_sweep() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other = app.admin().await;
    app.invite(&other, "elsewhere@example.com", None).await;
    let mut ids = Vec::new();
    for (i, role) in [
        "VIEWER",
        "OPERATOR",
        "ORG_ADMIN",
        "VIEWER",
        "VIEWER",
        "OPERATOR",
    ]
    .iter()
    .enumerate()
    {
        let inv = app
            .invite(&admin, &format!("c{i}@example.com"), Some(role))
            .await;
        ids.push(inv["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(meta_total(&app, &admin, "&status=PENDING").await, 6);
    assert_totals_exact(&app, &admin).await;

    app.delete(&format!("/api/v1/invitations/{}", ids[0]))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let token = token_of(&app, &ids[1]).await;
    let bearer = app.token("c1", Some("c1@example.com"), false);
    app.post("/api/v1/invitations/accept")
        .bearer(&bearer)
        .json(serde_json::json!({ "token": token }))
        .send()
        .await
        .assert_status(200);
    let token = token_of(&app, &ids[2]).await;
    app.post("/api/v1/invitations/decline")
        .json(serde_json::json!({ "token": token }))
        .send()
        .await
        .assert_status(200);
    assert_eq!(meta_total(&app, &admin, "&status=REVOKED").await, 1);
    assert_eq!(meta_total(&app, &admin, "&status=ACCEPTED").await, 1);
    assert_eq!(meta_total(&app, &admin, "&status=DECLINED").await, 1);
    assert_totals_exact(&app, &admin).await;

    // Past expiry but not yet swept: reads EXPIRED, in the totals too.
    app.expire(&ids[3]).await;
    app.expire(&ids[4]).await;
    assert_eq!(meta_total(&app, &admin, "&status=PENDING").await, 1);
    assert_eq!(meta_total(&app, &admin, "&status=EXPIRED").await, 2);
    assert_eq!(
        meta_total(&app, &admin, "&status=EXPIRED&role=VIEWER").await,
        2
    );
    assert_totals_exact(&app, &admin).await;

    // Resending an expired one makes it pending again.
    app.post(&format!("/api/v1/invitations/{}/resend", ids[3]))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    assert_eq!(meta_total(&app, &admin, "&status=PENDING").await, 2);
    assert_eq!(meta_total(&app, &admin, "&status=EXPIRED").await, 1);
    assert_totals_exact(&app, &admin).await;

    // The sweep rewrites the stored status; the effective totals do not move.
    let swept = app.invitations().expire_due().await.expect("sweep");
    assert_eq!(swept, 1);
    assert_eq!(meta_total(&app, &admin, "&status=PENDING").await, 2);
    assert_eq!(meta_total(&app, &admin, "&status=EXPIRED").await, 1);
    assert_totals_exact(&app, &admin).await;
    assert_eq!(meta_total(&app, &other, "").await, 1);
}

/// A literal for a new UUID in this backend's storage of `uuid` columns.
async fn uuid_literal(app: &TestApp, id: Uuid) -> String {
    if app.is_postgres() {
        return format!("'{id}'::uuid");
    }
    let row = app
        .query_one("SELECT typeof(id) AS t FROM invitation LIMIT 1")
        .await
        .expect("a row");
    let kind: String = row.try_get("", "t").expect("typeof");
    if kind == "blob" {
        format!("X'{}'", id.simple())
    } else {
        format!("'{id}'")
    }
}

/// Copies `template` into `n` new rows with raw SQL, as an operator's load would.
async fn insert_by_sql(app: &TestApp, template: &str, n: usize, status: &str) {
    let template = uuid_literal(app, Uuid::parse_str(template).expect("uuid")).await;
    for i in 0..n {
        let id = uuid_literal(app, Uuid::now_v7()).await;
        let sql = format!(
            "INSERT INTO invitation (id, organization_id, email, role, status, invited_by, \
             token_hash, expires_at, accepted_at, created_at, updated_at) \
             SELECT {id}, organization_id, 'sql{i}-{status}@example.com', role, '{status}', \
             invited_by, NULL, expires_at, accepted_at, created_at, updated_at \
             FROM invitation WHERE id = {template}"
        );
        app.db
            .execute_unprepared(&sql)
            .await
            .expect("insert by SQL");
    }
}

#[tokio::test]
async fn rows_written_by_raw_sql_are_counted_by_the_triggers_and_recount_repairs_the_counters() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let inv = app
        .invite(&admin, "template@example.com", Some("OPERATOR"))
        .await;
    let id = inv["id"].as_str().expect("id");
    insert_by_sql(&app, id, 3, "ACCEPTED").await;
    insert_by_sql(&app, id, 2, "REVOKED").await;
    assert_eq!(meta_total(&app, &admin, "").await, 6);
    assert_eq!(meta_total(&app, &admin, "&status=ACCEPTED").await, 3);
    assert_totals_exact(&app, &admin).await;

    app.db
        .execute_unprepared("UPDATE invitation SET status = 'DECLINED' WHERE status = 'REVOKED'")
        .await
        .expect("update by SQL");
    app.db
        .execute_unprepared("DELETE FROM invitation WHERE status = 'ACCEPTED'")
        .await
        .expect("delete by SQL");
    assert_eq!(meta_total(&app, &admin, "").await, 3);
    assert_eq!(meta_total(&app, &admin, "&status=DECLINED").await, 2);
    assert_totals_exact(&app, &admin).await;

    // Counters lost (a restore without them, say): wrong until `recount` rebuilds them.
    app.db
        .execute_unprepared("DELETE FROM invitation_count")
        .await
        .expect("drop counters");
    assert_eq!(meta_total(&app, &admin, "").await, 0);
    let counted = voke_invitations::service::counts::recount(&app.db)
        .await
        .expect("recount");
    assert_eq!(counted, 3);
    assert_eq!(meta_total(&app, &admin, "").await, 3);
    assert_totals_exact(&app, &admin).await;
}

#[tokio::test]
async fn the_recount_command_rebuilds_the_counters() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "one@example.com", None).await;
    app.invite(&admin, "two@example.com", None).await;
    app.db
        .execute_unprepared("UPDATE invitation_count SET n = n * 10")
        .await
        .expect("skew counters");
    assert_eq!(meta_total(&app, &admin, "").await, 20);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voke-invitations"))
        .arg("recount")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .output()
        .expect("run recount");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("recounted 2 invitations"));
    assert_eq!(meta_total(&app, &admin, "").await, 2);
    assert_totals_exact(&app, &admin).await;
}

#[tokio::test]
async fn the_email_filter_counts_matching_rows_exactly() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["ann", "anna", "bob", "hannah"] {
        app.invite(&admin, &format!("{name}@example.com"), None)
            .await;
    }
    assert_eq!(meta_total(&app, &admin, "&email=ANN").await, 3);
    assert_eq!(meta_total(&app, &admin, "&email=ann&role=VIEWER").await, 3);
    assert_eq!(
        meta_total(&app, &admin, "&email=ann&role=OPERATOR").await,
        0
    );
    assert_eq!(
        meta_total(&app, &admin, "&email=bob&status=PENDING").await,
        1
    );
}

/// A create is all or nothing: when its last write (the event) is refused by the database,
/// no invitation, email or count is left behind, and the next create of the email works.
/// (On PostgreSQL the writes are one statement; on SQLite one transaction.)
#[tokio::test]
async fn a_create_whose_last_write_fails_leaves_nothing_behind() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "before@example.com", None).await;
    app.refuse_events_containing("doomed@").await;

    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(serde_json::json!({ "email": "doomed@example.com" }))
        .send()
        .await;
    resp.assert_error(500, "INTERNAL_SERVER_ERROR");
    for table in ["invitation", "email_outbox"] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let n: i64 = app
            .query_one(&sql)
            .await
            .expect("row")
            .try_get("", "n")
            .expect("n");
        assert_eq!(n, 1, "{table} holds only the first create's row");
    }
    assert_eq!(meta_total(&app, &admin, "").await, 1);
    assert_eq!(meta_total(&app, &admin, "&status=PENDING").await, 1);

    app.accept_all_events().await;
    app.invite(&admin, "doomed@example.com", None).await;
    assert_eq!(meta_total(&app, &admin, "").await, 2);
}
