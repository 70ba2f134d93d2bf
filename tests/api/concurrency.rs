//! The database, not the handler, decides races.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{Actor, Resp, TestApp, spawn_app};

async fn create(app: &TestApp, admin: &Actor, email: &str) -> Resp {
    app.post("/api/v1/invitations")
        .acting_as(admin)
        .json(json!({ "email": email }))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_creates_of_one_email_yield_exactly_one_201() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        let admin = admin.clone();
        // Different letter cases of one address.
        let email = if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        };
        tasks.push(tokio::spawn(async move {
            let resp = create(&app, &admin, email).await;
            (resp.status.as_u16(), resp.body["code"].clone())
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task") {
            (201, _) => created += 1,
            (409, code) if code == "CONFLICT" => conflicts += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    let resp = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["meta"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_different_emails_all_succeed_without_lock_errors() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let resp = app
                .post("/api/v1/invitations")
                .acting_as(&admin)
                .json(json!({ "email": format!("w{i}@example.com") }))
                .send()
                .await;
            let list = app
                .get("/api/v1/invitations?limit=5")
                .acting_as(&admin)
                .send()
                .await;
            (resp.status.as_u16(), list.status.as_u16(), resp.text)
        }));
    }
    for task in tasks {
        let (create, list, body) = task.await.expect("task");
        assert_eq!((create, list), (201, 200), "{body}");
    }
    let resp = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["meta"]["total"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revokes_of_one_invitation_yield_exactly_one_success() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    let inv = app.invite(&admin, "once@example.com", None).await;
    let path = format!("/api/v1/invitations/{}", inv["id"].as_str().expect("id"));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, admin, path) = (app.clone(), admin.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            app.delete(&path)
                .acting_as(&admin)
                .send()
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
}

/// Concurrent creates are written together (on SQLite in one group transaction): one that
/// fails must take none of the others with it, nor leave any of its own rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_that_fail_take_none_of_the_others_with_them() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    app.refuse_events_containing("doomed").await;
    // 30 distinct good emails, 10 creates of one email, 10 refused by the trigger, interleaved.
    let emails: Vec<String> = (0..50)
        .map(|i| match i % 5 {
            0 => "twice@example.com".to_owned(),
            1 => format!("doomed{i}@example.com"),
            _ => format!("good{i}@example.com"),
        })
        .collect();
    let mut tasks = Vec::new();
    for email in emails {
        let app = app.clone();
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let resp = create(&app, &admin, &email).await;
            (email, resp.status.as_u16(), resp.body)
        }));
    }
    let mut created = Vec::new();
    let mut twice = Vec::new();
    for task in tasks {
        let (email, status, body) = task.await.expect("task");
        match email.as_str() {
            "twice@example.com" => twice.push(status),
            e if e.starts_with("doomed") => assert_eq!(status, 500, "{email}: {body}"),
            _ => {
                assert_eq!(status, 201, "{email}: {body}");
                created.push(body["id"].as_str().expect("id").to_owned());
            }
        }
    }
    twice.sort_unstable();
    assert_eq!(twice, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(created.len(), 30);

    let count = async |sql: &str| -> i64 {
        app.query_one(sql)
            .await
            .expect("row")
            .try_get("", "n")
            .expect("n")
    };
    assert_eq!(count("SELECT COUNT(*) AS n FROM invitation").await, 31);
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM invitation WHERE email LIKE 'doomed%'").await,
        0
    );
    assert_eq!(count("SELECT COUNT(*) AS n FROM email_outbox").await, 31);
    assert_eq!(count("SELECT COUNT(*) AS n FROM event").await, 31);
    let list = app
        .get("/api/v1/invitations?limit=100")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(list.body["meta"]["total"], 31);
    for id in &created {
        app.get(&format!("/api/v1/invitations/{id}"))
            .acting_as(&admin)
            .send()
            .await
            .assert_status(200);
    }
}
