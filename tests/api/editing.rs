//! §10.2: an explicit `expiresAt` on create, and `PATCH` of a live pending invitation.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::helpers::spawn_app_with;

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse(v: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn create_takes_an_expiry_within_bounds_and_refuses_one_outside() {
    let app = spawn_app_with(&[("INVITATION_MAX_TTL", "10d")]).await;
    let admin = app.admin().await;
    let wanted = at(Duration::days(3));
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "a@example.com", "expiresAt": wanted }))
        .send()
        .await;
    resp.assert_status(201);
    assert_eq!(resp.body["expiresAt"], json!(wanted));

    // Absent or null: now + INVITATION_TTL (7 days by default).
    for body in [
        json!({ "email": "b@example.com" }),
        json!({ "email": "c@example.com", "expiresAt": null }),
    ] {
        let resp = app
            .post("/api/v1/invitations")
            .acting_as(&admin)
            .json(body)
            .send()
            .await;
        resp.assert_status(201);
        let lifetime = parse(&resp.body["expiresAt"]) - parse(&resp.body["createdAt"]);
        assert_eq!(lifetime, Duration::days(7));
    }

    for (expires_at, why) in [
        (at(Duration::minutes(4)), "closer than 5 minutes"),
        (at(-Duration::hours(1)), "in the past"),
        (at(Duration::days(11)), "beyond INVITATION_MAX_TTL"),
    ] {
        let resp = app
            .post("/api/v1/invitations")
            .acting_as(&admin)
            .json(json!({ "email": "d@example.com", "expiresAt": expires_at }))
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            resp.validation_errors(),
            ["expiresAt: must be between 5 minutes and 10days from now"],
            "{why}"
        );
    }
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "d@example.com", "expiresAt": "next tuesday" }))
        .send()
        .await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        resp.validation_errors(),
        ["expiresAt: must be an RFC 3339 date-time"]
    );
    // Nothing was created by the refused requests.
    let list = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(list.body["meta"]["total"], 3);
}

#[tokio::test]
async fn update_changes_role_and_expiry_of_a_live_pending_invitation_without_an_email() {
    let app = spawn_app_with(&[]).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", Some("VIEWER")).await;
    let id = inv["id"].as_str().expect("id");
    let path = format!("/api/v1/invitations/{id}");
    let token_before = app.outbox_token(id).await;

    let resp = app
        .patch(&path)
        .acting_as(&admin)
        .json(json!({ "role": "OPERATOR" }))
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["role"], "OPERATOR");
    assert_eq!(resp.body["expiresAt"], inv["expiresAt"]);
    assert_eq!(resp.body["sendCount"], 1);

    let later = at(Duration::days(20));
    let resp = app
        .patch(&path)
        .acting_as(&admin)
        .json(json!({ "expiresAt": later, "role": null }))
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["expiresAt"], json!(later));
    assert_eq!(resp.body["role"], "OPERATOR", "null leaves the role");

    // No new email, and the token still works.
    assert_eq!(app.outbox().await.len(), 1);
    assert_eq!(app.outbox_token(id).await, token_before);
    let got = app.get(&path).acting_as(&admin).send().await;
    assert_eq!(got.body["role"], "OPERATOR");
    assert_eq!(got.body["expiresAt"], json!(later));
}

#[tokio::test]
async fn update_refuses_empty_bodies_bad_values_and_invitations_that_are_not_live() {
    let app = spawn_app_with(&[]).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "a@example.com", None).await;
    let path = format!("/api/v1/invitations/{}", inv["id"].as_str().expect("id"));

    for (body, line) in [
        (json!({}), "body: must set role or expiresAt"),
        (
            json!({ "role": null, "expiresAt": null }),
            "body: must set role or expiresAt",
        ),
        (
            json!({ "role": "OWNER" }),
            "role: must be one of ORG_ADMIN, OPERATOR, VIEWER",
        ),
        (
            json!({ "expiresAt": at(Duration::days(31)) }),
            "expiresAt: must be between 5 minutes and 30days from now",
        ),
    ] {
        let resp = app.patch(&path).acting_as(&admin).json(body).send().await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.validation_errors(), [line]);
    }

    // Another organization's invitation, or none: not found.
    let other = app.admin().await;
    let resp = app
        .patch(&path)
        .acting_as(&other)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(404, "INVITATION_NOT_FOUND");
    let resp = app
        .patch("/api/v1/invitations/0193a5b2-6c1e-7f3a-9d4b-5e2f8a1c7b90")
        .acting_as(&admin)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(404, "INVITATION_NOT_FOUND");
    let resp = app
        .patch("/api/v1/invitations/nope")
        .acting_as(&admin)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(400, "INVALID_UUID");

    // Expired (before any sweep), then revoked: not live and pending.
    app.expire(inv["id"].as_str().expect("id")).await;
    let resp = app
        .patch(&path)
        .acting_as(&admin)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(400, "BAD_REQUEST");
    assert_eq!(
        resp.body["message"],
        "Invitation cannot be updated in its current state"
    );
    let live = app.invite(&admin, "b@example.com", None).await;
    let live_path = format!("/api/v1/invitations/{}", live["id"].as_str().expect("id"));
    app.delete(&live_path)
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let resp = app
        .patch(&live_path)
        .acting_as(&admin)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(400, "BAD_REQUEST");

    // Guards first: no token is 401 whatever the body.
    let resp = app.patch(&live_path).json(json!({})).send().await;
    resp.assert_error(401, "UNAUTHORIZED");
    // An OPERATOR may not update.
    let operator = app
        .member(
            admin.org,
            "op-1",
            voke_invitations::entity::OrgRole::Operator,
        )
        .await;
    let resp = app
        .patch(&live_path)
        .acting_as(&operator)
        .json(json!({ "role": "VIEWER" }))
        .send()
        .await;
    resp.assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
}
