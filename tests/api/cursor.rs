//! Keyset paging: `cursor` and `meta.nextCursor`.

use serde_json::Value;

use crate::helpers::{Actor, Resp, TestApp, spawn_app};

async fn list(app: &TestApp, actor: &Actor, query: &str) -> Resp {
    app.get(&format!("/api/v1/invitations{query}"))
        .acting_as(actor)
        .send()
        .await
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

fn next(body: &Value) -> Option<String> {
    body["meta"]["nextCursor"].as_str().map(str::to_owned)
}

async fn seven(app: &TestApp, admin: &Actor) {
    for i in 0..7 {
        let role = if i % 2 == 0 { "VIEWER" } else { "OPERATOR" };
        app.invite(admin, &format!("k{i}@example.com"), Some(role))
            .await;
    }
}

#[tokio::test]
async fn a_cursor_walk_returns_the_same_pages_as_the_page_walk() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seven(&app, &admin).await;

    let mut by_page = Vec::new();
    for page in 1..=3 {
        let resp = list(&app, &admin, &format!("?limit=3&page={page}")).await;
        by_page.push(ids(&resp.body));
    }
    let first = list(&app, &admin, "?limit=3").await;
    assert_eq!(ids(&first.body), by_page[0]);
    let mut cursor = next(&first.body).expect("a next page");
    for (i, expected) in by_page.iter().enumerate().skip(1) {
        let resp = list(&app, &admin, &format!("?limit=3&cursor={cursor}")).await;
        resp.assert_status(200);
        assert_eq!(&ids(&resp.body), expected);
        assert_eq!(resp.body["meta"]["page"], i as i64 + 1);
        assert_eq!(resp.body["meta"]["total"], 7);
        assert_eq!(resp.body["meta"]["totalPages"], 3);
        match next(&resp.body) {
            Some(c) => cursor = c,
            None => assert_eq!(i, 2, "only the last page ends the walk"),
        }
    }
    // Page mode says the same about the end.
    let last = list(&app, &admin, "?limit=3&page=3").await;
    assert_eq!(last.body["meta"]["nextCursor"], Value::Null);
    let exact = list(&app, &admin, "?limit=7").await;
    assert_eq!(exact.body["meta"]["nextCursor"], Value::Null);
    let past = list(&app, &admin, "?limit=3&page=9").await;
    assert_eq!(past.body["meta"]["nextCursor"], Value::Null);
}

#[tokio::test]
async fn a_cursor_keeps_the_filters_of_the_walk_it_continues() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seven(&app, &admin).await;
    let all = list(&app, &admin, "?role=VIEWER&limit=10").await;
    let expected = ids(&all.body);
    assert_eq!(expected.len(), 4);

    let first = list(&app, &admin, "?role=VIEWER&status=PENDING&email=k&limit=2").await;
    let cursor = next(&first.body).expect("next");
    let second = list(
        &app,
        &admin,
        &format!("?role=VIEWER&status=PENDING&email=k&limit=2&cursor={cursor}"),
    )
    .await;
    second.assert_status(200);
    let walked: Vec<String> = ids(&first.body)
        .into_iter()
        .chain(ids(&second.body))
        .collect();
    assert_eq!(walked, expected);
    assert_eq!(second.body["meta"]["nextCursor"], Value::Null);
    assert_eq!(second.body["meta"]["total"], 4);
}

#[tokio::test]
async fn a_malformed_tampered_or_mismatched_cursor_is_a_validation_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    seven(&app, &admin).await;
    let first = list(&app, &admin, "?limit=2&role=VIEWER").await;
    let cursor = next(&first.body).expect("next");

    let mut tampered = cursor.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let cases = [
        "?limit=2&role=VIEWER&cursor=not*base64".to_owned(),
        "?limit=2&role=VIEWER&cursor=AAAA".to_owned(),
        format!("?limit=2&role=VIEWER&cursor={tampered}"),
        format!("?limit=3&role=VIEWER&cursor={cursor}"),
        format!("?limit=2&cursor={cursor}"),
        format!("?limit=2&role=OPERATOR&cursor={cursor}"),
    ];
    // With a cursor, `page` is ignored (its default cannot be told from an explicit 1).
    let by_cursor = list(
        &app,
        &admin,
        &format!("?limit=2&role=VIEWER&cursor={cursor}"),
    )
    .await;
    let with_page = list(
        &app,
        &admin,
        &format!("?limit=2&role=VIEWER&page=7&cursor={cursor}"),
    )
    .await;
    with_page.assert_status(200);
    assert_eq!(with_page.body, by_cursor.body);
    for query in cases {
        let resp = list(&app, &admin, &query).await;
        resp.assert_error(400, "VALIDATION_ERROR");
        let errors = resp.validation_errors();
        assert!(
            errors.iter().any(|e| e.starts_with("cursor: ")),
            "{query}: {errors:?}"
        );
    }
    // Another organization cannot continue this walk either.
    let other = app.admin().await;
    list(
        &app,
        &other,
        &format!("?limit=2&role=VIEWER&cursor={cursor}"),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    // The untouched cursor still works.
    list(
        &app,
        &admin,
        &format!("?limit=2&role=VIEWER&cursor={cursor}"),
    )
    .await
    .assert_status(200);
}
