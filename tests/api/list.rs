//! Listing: paging math, ordering, filters, query validation.

use serde_json::Value;

use crate::helpers::{Actor, TestApp, spawn_app};

async fn list(app: &TestApp, actor: &Actor, query: &str) -> crate::helpers::Resp {
    app.get(&format!("/api/v1/invitations{query}"))
        .acting_as(actor)
        .send()
        .await
}

fn emails(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|i| i["email"].as_str().expect("email").to_owned())
        .collect()
}

#[tokio::test]
async fn list_invitations_pages_newest_first_with_true_meta() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.invite(&admin, &format!("p{i}@example.com"), None).await;
    }

    let resp = list(&app, &admin, "").await;
    resp.assert_status(200);
    assert_eq!(
        resp.body["meta"],
        serde_json::json!({ "page": 1, "limit": 20, "total": 5, "totalPages": 1, "nextCursor": null })
    );
    assert_eq!(
        emails(&resp.body),
        ["p4", "p3", "p2", "p1", "p0"].map(|p| format!("{p}@example.com"))
    );

    let resp = list(&app, &admin, "?limit=2&page=2").await;
    let mut meta = resp.body["meta"].clone();
    let next = meta["nextCursor"].take();
    assert!(next.is_string(), "a next page follows: {next}");
    assert_eq!(
        meta,
        serde_json::json!({ "page": 2, "limit": 2, "total": 5, "totalPages": 3, "nextCursor": null })
    );
    assert_eq!(emails(&resp.body), ["p2@example.com", "p1@example.com"]);

    let resp = list(&app, &admin, "?limit=2&page=3").await;
    assert_eq!(emails(&resp.body), ["p0@example.com"]);

    let resp = list(&app, &admin, "?limit=2&page=4").await;
    resp.assert_status(200);
    assert_eq!(resp.body["data"], serde_json::json!([]));
    assert_eq!(resp.body["meta"]["total"], 5);
    assert_eq!(resp.body["meta"]["totalPages"], 3);

    let resp = list(&app, &admin, "?page=2147483647&limit=100").await;
    resp.assert_status(200);
    assert_eq!(resp.body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn list_invitations_reports_zero_pages_when_empty_and_sees_only_its_organization() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other = app.admin().await;
    app.invite(&other, "elsewhere@example.com", None).await;
    let resp = list(&app, &admin, "").await;
    assert_eq!(
        resp.body,
        serde_json::json!({ "data": [], "meta": { "page": 1, "limit": 20, "total": 0, "totalPages": 0, "nextCursor": null } })
    );
}

#[tokio::test]
async fn list_invitations_filters_by_status_role_and_email_in_combination() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "alice@acme.example", Some("OPERATOR"))
        .await;
    app.invite(&admin, "bob@acme.example", Some("VIEWER")).await;
    let carol = app
        .invite(&admin, "carol@other.example", Some("OPERATOR"))
        .await;
    let dave = app
        .invite(&admin, "dave_100%@acme.example", Some("VIEWER"))
        .await;
    app.delete(&format!(
        "/api/v1/invitations/{}",
        carol["id"].as_str().expect("id")
    ))
    .acting_as(&admin)
    .send()
    .await
    .assert_status(200);
    app.expire(dave["id"].as_str().expect("id")).await;

    let cases: &[(&str, &[&str])] = &[
        (
            "?role=OPERATOR",
            &["carol@other.example", "alice@acme.example"],
        ),
        (
            "?status=PENDING",
            &["bob@acme.example", "alice@acme.example"],
        ),
        ("?status=REVOKED", &["carol@other.example"]),
        ("?status=%20REVOKED%09", &["carol@other.example"]),
        ("?role=%20OPERATOR&status=REVOKED", &["carol@other.example"]),
        ("?status=EXPIRED", &["dave_100%@acme.example"]),
        ("?status=ACCEPTED", &[]),
        (
            "?email=ACME",
            &[
                "dave_100%@acme.example",
                "bob@acme.example",
                "alice@acme.example",
            ],
        ),
        (
            "?email=%20acme.example%20",
            &[
                "dave_100%@acme.example",
                "bob@acme.example",
                "alice@acme.example",
            ],
        ),
        ("?email=100%25", &["dave_100%@acme.example"]),
        ("?email=_", &["dave_100%@acme.example"]),
        (
            "?email=",
            &[
                "dave_100%@acme.example",
                "carol@other.example",
                "bob@acme.example",
                "alice@acme.example",
            ],
        ),
        ("?status=PENDING&role=OPERATOR", &["alice@acme.example"]),
        (
            "?status=PENDING&role=VIEWER&email=bob",
            &["bob@acme.example"],
        ),
        ("?role=OPERATOR&email=acme", &["alice@acme.example"]),
        ("?status=EXPIRED&role=OPERATOR", &[]),
    ];
    for (query, expected) in cases {
        let resp = list(&app, &admin, query).await;
        resp.assert_status(200);
        assert_eq!(emails(&resp.body), *expected, "query {query}");
        assert_eq!(resp.body["meta"]["total"], expected.len(), "query {query}");
    }
    // What the filter says is what each item says.
    let resp = list(&app, &admin, "?status=EXPIRED").await;
    assert_eq!(resp.body["data"][0]["status"], "EXPIRED");
}

/// A filter holding the `@` is still a plain substring match (on PostgreSQL it is answered
/// from the reversed-local-part index, so this pins that the range it scans loses nothing).
#[tokio::test]
async fn list_email_filter_with_an_at_sign_is_a_substring_match() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let all = [
        "ana@acme.example",
        "bana@acme.example",
        "anab@acme.example",
        "ana@acme.examplex",
        "zed_ana@other.example",
        "ana%@acme.example",
        "zan@acme.example",
    ];
    for email in all {
        app.invite(&admin, email, None).await;
    }
    let cases: &[(&str, &[&str])] = &[
        (
            "ana@",
            &[
                "ana@acme.example",
                "bana@acme.example",
                "ana@acme.examplex",
                "zed_ana@other.example",
            ],
        ),
        (
            "ana@acme.example",
            &["ana@acme.example", "bana@acme.example", "ana@acme.examplex"],
        ),
        (
            "na@acme.example",
            &["ana@acme.example", "bana@acme.example", "ana@acme.examplex"],
        ),
        ("b@acme", &["anab@acme.example"]),
        ("ANA@OTHER", &["zed_ana@other.example"]),
        ("_ana@", &["zed_ana@other.example"]),
        ("a%25@", &["ana%@acme.example"]),
        ("zan@acme.example", &["zan@acme.example"]),
        ("n@", &["zan@acme.example"]),
        ("ana@@acme", &[]),
        ("x@acme", &[]),
        (
            "@acme.example",
            &[
                "ana@acme.example",
                "bana@acme.example",
                "anab@acme.example",
                "ana@acme.examplex",
                "ana%@acme.example",
                "zan@acme.example",
            ],
        ),
    ];
    for (filter, expected) in cases {
        let resp = list(&app, &admin, &format!("?email={filter}")).await;
        resp.assert_status(200);
        let mut got = emails(&resp.body);
        got.sort();
        let mut want: Vec<String> = expected.iter().map(|e| (*e).to_owned()).collect();
        want.sort();
        assert_eq!(got, want, "filter {filter}");
        assert_eq!(
            resp.body["meta"]["total"],
            expected.len(),
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn list_invitations_rejects_bad_query_values_naming_the_parameter() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        ("?limit=101", "limit: must be at most 100"),
        ("?limit=0", "limit: must be at least 1"),
        ("?page=0", "page: must be at least 1"),
        ("?page=-3", "page: must be at least 1"),
        ("?page=2147483648", "page: must be at most 2147483647"),
        ("?page=99999999999999999999999", "page: must be an integer"),
        ("?limit=abc", "limit: must be an integer"),
        ("?page=1.5", "page: must be an integer"),
        (
            "?status=pending",
            "status: must be one of PENDING, ACCEPTED, DECLINED, REVOKED, EXPIRED",
        ),
        (
            "?role=ADMIN",
            "role: must be one of ORG_ADMIN, OPERATOR, VIEWER",
        ),
        ("?email=a%00b", "email: must not contain NUL characters"),
    ];
    for (query, line) in cases {
        let resp = list(&app, &admin, query).await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.validation_errors(), [line], "query {query}");
    }
    let long = "a".repeat(255);
    let resp = list(&app, &admin, &format!("?email={long}")).await;
    resp.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_after_authentication() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let resp = list(&app, &admin, "?stauts=PENDING&page=1&x=1&x=2").await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        resp.validation_errors(),
        [
            "stauts: is not a known query parameter",
            "x: is not a known query parameter"
        ]
    );
    // Guards before pipes: an anonymous caller or an outsider learns nothing from it.
    app.get("/api/v1/invitations?stauts=1")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let viewer = app
        .member(admin.org, "v", voke_invitations::entity::OrgRole::Viewer)
        .await;
    list(&app, &viewer, "?stauts=1")
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    app.get("/api/v1/members?sort=name")
        .acting_as(&viewer)
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/api/v1/invitations/lookup?token=abc&extra=1")
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
}
