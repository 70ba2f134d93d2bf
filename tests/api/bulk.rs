//! §10.3: bulk create, each item judged exactly as a single create.

use std::time::Instant;

use serde_json::{Value, json};
use voke_invitations::entity::OrgRole;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_mixed_batch_answers_each_item_as_a_single_create_would() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.member(admin.org, "mia", OrgRole::Viewer).await;
    let existing = app.invite(&admin, "old@example.com", None).await;

    let items = json!([
        { "email": "New@Example.com", "role": "OPERATOR" },
        { "email": "not-an-email" },
        { "email": "mia@members.example" },
        { "email": "old@example.com" },
        { "email": "new@example.com" },
        { "email": "x@example.com", "role": "OWNER" },
        "not an object",
        { "role": "VIEWER" },
        { "email": "last@example.com", "expiresAt": "2020-01-01T00:00:00Z" },
    ]);
    let resp = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .json(json!({ "invitations": items }))
        .send()
        .await;
    resp.assert_status(200);
    let data = resp.body["data"].as_array().expect("data");
    assert_eq!(data.len(), 9);
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["index"], i, "in request order");
    }

    // The same single creates, for the expected envelopes.
    let single = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post("/api/v1/invitations")
                .acting_as(admin)
                .json(body)
                .send()
                .await
        }
    };
    let created = &data[0];
    assert_eq!(created["status"], 201);
    assert_eq!(created["error"], Value::Null);
    assert_eq!(created["invitation"]["email"], "new@example.com");
    assert_eq!(created["invitation"]["role"], "OPERATOR");
    assert_eq!(created["invitation"]["delivery"]["status"], "QUEUED");

    let expect_like_single = |i: usize, status: u16, code: &str| {
        let item = &data[i];
        assert_eq!(item["status"], status, "item {i}: {item}");
        assert_eq!(item["invitation"], Value::Null, "item {i}");
        assert_eq!(item["error"]["statusCode"], status, "item {i}");
        assert_eq!(item["error"]["code"], code, "item {i}");
    };
    expect_like_single(1, 400, "VALIDATION_ERROR");
    expect_like_single(2, 409, "ALREADY_A_MEMBER");
    expect_like_single(3, 409, "CONFLICT");
    expect_like_single(4, 409, "CONFLICT");
    expect_like_single(5, 400, "VALIDATION_ERROR");
    expect_like_single(6, 400, "VALIDATION_ERROR");
    expect_like_single(7, 400, "VALIDATION_ERROR");
    expect_like_single(8, 400, "VALIDATION_ERROR");
    assert_eq!(data[3]["error"]["details"]["invitationId"], existing["id"]);
    assert_eq!(
        data[4]["error"]["details"]["invitationId"], created["invitation"]["id"],
        "a second occurrence conflicts with the first"
    );
    // Word for word what a single create says.
    for (i, body) in [
        (1, json!({ "email": "not-an-email" })),
        (2, json!({ "email": "mia@members.example" })),
        (5, json!({ "email": "x@example.com", "role": "OWNER" })),
        (6, json!("not an object")),
        (7, json!({ "role": "VIEWER" })),
        (
            8,
            json!({ "email": "last@example.com", "expiresAt": "2020-01-01T00:00:00Z" }),
        ),
    ] {
        let one = single(body).await;
        assert_eq!(data[i]["error"], one.body, "item {i}");
    }
    assert_eq!(resp.body["meta"], json!({ "created": 1, "failed": 8 }));

    // One email per created invitation: the old one and the new one.
    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 2);
    assert!(outbox.iter().any(|m| m.recipient == "new@example.com"));
    let list = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(list.body["meta"]["total"], 2);
}

#[tokio::test]
async fn the_batch_itself_must_be_an_array_of_one_to_a_hundred_items() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let many: Vec<Value> = (0..101)
        .map(|i| json!({ "email": format!("u{i}@example.com") }))
        .collect();
    for (body, line) in [
        (json!({}), "invitations: is required"),
        (
            json!({ "invitations": [] }),
            "invitations: must have at least 1 items",
        ),
        (
            json!({ "invitations": many }),
            "invitations: must have at most 100 items",
        ),
        (
            json!({ "invitations": "a@example.com" }),
            "invitations: must be an array",
        ),
        (
            json!([{ "email": "a@example.com" }]),
            "body: must be a JSON object",
        ),
    ] {
        let resp = app
            .post("/api/v1/invitations/bulk")
            .acting_as(&admin)
            .json(body)
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.validation_errors(), [line]);
    }
    assert!(app.outbox().await.is_empty());

    // Guards come first; only admins.
    let resp = app
        .post("/api/v1/invitations/bulk")
        .json(json!({}))
        .send()
        .await;
    resp.assert_error(401, "UNAUTHORIZED");
    let viewer = app.member(admin.org, "v", OrgRole::Viewer).await;
    let resp = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&viewer)
        .json(json!({ "invitations": [{ "email": "a@example.com" }] }))
        .send()
        .await;
    resp.assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
}

#[tokio::test]
async fn a_hundred_items_are_created_in_one_request_with_one_email_each() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let items: Vec<Value> = (0..100)
        .map(|i| json!({ "email": format!("user{i}@example.com"), "role": "VIEWER" }))
        .collect();
    let started = Instant::now();
    let resp = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .json(json!({ "invitations": items }))
        .send()
        .await;
    let took = started.elapsed();
    resp.assert_status(200);
    assert_eq!(resp.body["meta"], json!({ "created": 100, "failed": 0 }));
    assert_eq!(app.outbox().await.len(), 100);
    // Not a timing assertion (shared machines are noisy): the figure is printed for the
    // record; the benchmark measures it properly.
    println!("bulk create of 100 items took {took:?}");
}
