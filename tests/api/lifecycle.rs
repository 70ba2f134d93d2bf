//! Lookup, accept, decline, resend, expiry, members.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;
use voke_invitations::entity::OrgRole;

use crate::helpers::{Actor, TestApp, spawn_app};

/// Invites `email` as `admin` and returns (invitation id, token).
async fn invited(app: &TestApp, admin: &Actor, email: &str, role: &str) -> (String, String) {
    let inv = app.invite(admin, email, Some(role)).await;
    let id = inv["id"].as_str().expect("id").to_owned();
    let token = app.outbox_token(&id).await;
    (id, token)
}

async fn lookup(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.get(&format!("/api/v1/invitations/lookup?token={token}"))
        .send()
        .await
}

async fn accept(app: &TestApp, bearer: &str, token: &str) -> crate::helpers::Resp {
    app.post("/api/v1/invitations/accept")
        .bearer(bearer)
        .json(json!({ "token": token }))
        .send()
        .await
}

async fn decline(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.post("/api/v1/invitations/decline")
        .json(json!({ "token": token }))
        .send()
        .await
}

#[tokio::test]
async fn lookup_shows_a_pending_invitation_without_authentication() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, token) = invited(&app, &admin, "look@example.com", "OPERATOR").await;
    let resp = lookup(&app, &token).await;
    resp.assert_status(200);
    let body = resp.body.as_object().expect("object");
    let mut keys: Vec<&String> = body.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "email",
            "expiresAt",
            "id",
            "invitedBy",
            "organizationId",
            "role",
            "status"
        ]
    );
    assert_eq!(resp.body["id"], id);
    assert_eq!(resp.body["status"], "PENDING");
    assert_eq!(resp.body["role"], "OPERATOR");
}

#[tokio::test]
async fn lookup_answers_each_documented_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.get("/api/v1/invitations/lookup")
        .send()
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    lookup(&app, "")
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    lookup(&app, "%20")
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    lookup(&app, "a%00b")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    lookup(&app, "not-a-real-token")
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    // The spec's token schema is enforced: at most 128 base64url characters.
    let resp = lookup(&app, &"x".repeat(5000)).await;
    resp.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        resp.validation_errors(),
        ["token: must be at most 128 characters long"]
    );
    let resp = lookup(&app, "not%2Fbase64url").await;
    assert_eq!(resp.validation_errors(), ["token: has an invalid format"]);

    let (id, token) = invited(&app, &admin, "exp@example.com", "VIEWER").await;
    app.expire(&id).await;
    lookup(&app, &token)
        .await
        .assert_error(403, "INVITATION_EXPIRED");

    let (id, token) = invited(&app, &admin, "rev@example.com", "VIEWER").await;
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    lookup(&app, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");

    let (_, token) = invited(&app, &admin, "dec@example.com", "VIEWER").await;
    decline(&app, &token).await.assert_status(200);
    lookup(&app, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");

    let (_, token) = invited(&app, &admin, "acc@example.com", "VIEWER").await;
    let bearer = app.token("acc", Some("acc@example.com"), false);
    accept(&app, &bearer, &token).await.assert_status(200);
    lookup(&app, &token)
        .await
        .assert_error(409, "INVITATION_ALREADY_ACCEPTED");
}

#[tokio::test]
async fn accept_creates_the_membership_with_the_invited_role_atomically() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, token) = invited(&app, &admin, "New.Person@Example.com", "OPERATOR").await;
    let bearer = app.token("new-person", Some("NEW.person@example.com"), false);
    let resp = accept(&app, &bearer, &token).await;
    resp.assert_status(200);
    let inv = &resp.body["invitation"];
    assert_eq!(inv["id"], id);
    assert_eq!(inv["status"], "ACCEPTED");
    assert!(inv["acceptedAt"].is_string());
    let member = &resp.body["membership"];
    assert_eq!(member["userId"], "new-person");
    assert_eq!(member["email"], "new.person@example.com");
    assert_eq!(member["role"], "OPERATOR");
    assert_eq!(member["organizationId"], admin.org.to_string());

    // The new member can use the organization with that role.
    let new = Actor {
        token: bearer.clone(),
        org: admin.org,
        user_id: "new-person".into(),
    };
    app.get("/api/v1/members")
        .acting_as(&new)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/invitations")
        .acting_as(&new)
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["status"], "ACCEPTED");

    accept(&app, &bearer, &token)
        .await
        .assert_error(409, "INVITATION_ALREADY_ACCEPTED");
}

#[tokio::test]
async fn accept_with_another_email_is_refused_and_leaves_the_invitation_usable() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, token) = invited(&app, &admin, "right@example.com", "VIEWER").await;
    let wrong = app.token("someone", Some("wrong@example.com"), false);
    accept(&app, &wrong, &token)
        .await
        .assert_error(403, "INVITATION_EMAIL_MISMATCH");
    let no_email = app.token("someone", None, false);
    accept(&app, &no_email, &token)
        .await
        .assert_error(403, "INVITATION_EMAIL_MISMATCH");
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["status"], "PENDING");
    let right = app.token("right", Some("right@example.com"), false);
    accept(&app, &right, &token).await.assert_status(200);
}

#[tokio::test]
async fn accept_answers_each_documented_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bearer = app.token("u", Some("u@example.com"), false);
    // Authentication first, before the body is looked at.
    app.post("/api/v1/invitations/accept")
        .json(json!({}))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/invitations/accept")
        .bearer(&bearer)
        .json(json!({}))
        .send()
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    accept(&app, &bearer, "  ")
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    app.post("/api/v1/invitations/accept")
        .bearer(&bearer)
        .json(json!({ "token": 7 }))
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.post("/api/v1/invitations/accept")
        .bearer(&bearer)
        .raw("text/plain", "x")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    accept(&app, &bearer, "unknown")
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");

    let (id, token) = invited(&app, &admin, "u@example.com", "VIEWER").await;
    app.expire(&id).await;
    accept(&app, &bearer, &token)
        .await
        .assert_error(403, "INVITATION_EXPIRED");

    // Already a member of the organization (by user id).
    let member = app.member(admin.org, "m1", OrgRole::Viewer).await;
    let (_, token) = invited(&app, &admin, "m1-other@example.com", "VIEWER").await;
    let m1 = app.token(&member.user_id, Some("m1-other@example.com"), false);
    accept(&app, &m1, &token)
        .await
        .assert_error(409, "ALREADY_A_MEMBER");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_accepts_of_one_token_give_exactly_one_success() {
    let app = Arc::new(spawn_app().await);
    let admin = app.admin().await;
    let (_, token) = invited(&app, &admin, "race@example.com", "VIEWER").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (app, token) = (app.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            // Ten sessions of the same person, or ten accounts sharing the address.
            let bearer = app.token(&format!("racer-{}", i % 3), Some("race@example.com"), false);
            let resp = accept(&app, &bearer, &token).await;
            (
                resp.status.as_u16(),
                resp.body["code"].as_str().unwrap_or("").to_owned(),
            )
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    let wins = outcomes.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(s, c)| *s == 200
            || (*s == 409 && (c == "INVITATION_ALREADY_ACCEPTED" || c == "ALREADY_A_MEMBER"))),
        "{outcomes:?}"
    );
    let resp = app.get("/api/v1/members").acting_as(&admin).send().await;
    assert_eq!(
        resp.body["meta"]["total"], 2,
        "the admin and exactly one new member"
    );
}

#[tokio::test]
async fn decline_marks_the_invitation_declined_and_kills_the_token() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, token) = invited(&app, &admin, "no-thanks@example.com", "VIEWER").await;
    let resp = decline(&app, &token).await;
    resp.assert_status(200);
    assert_eq!(resp.body, json!({ "message": "Invitation declined" }));
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["status"], "DECLINED");
    decline(&app, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    let bearer = app.token("x", Some("no-thanks@example.com"), false);
    accept(&app, &bearer, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");

    app.post("/api/v1/invitations/decline")
        .json(json!({}))
        .send()
        .await
        .assert_error(400, "INVITATION_TOKEN_MISSING");
    let (id, token) = invited(&app, &admin, "late@example.com", "VIEWER").await;
    app.expire(&id).await;
    decline(&app, &token)
        .await
        .assert_error(403, "INVITATION_EXPIRED");
    let (_, token) = invited(&app, &admin, "yes@example.com", "VIEWER").await;
    accept(
        &app,
        &app.token("yes", Some("yes@example.com"), false),
        &token,
    )
    .await
    .assert_status(200);
    decline(&app, &token)
        .await
        .assert_error(409, "INVITATION_ALREADY_ACCEPTED");
}

#[tokio::test]
async fn revoke_makes_the_token_unusable() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, token) = invited(&app, &admin, "r@example.com", "VIEWER").await;
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let bearer = app.token("r", Some("r@example.com"), false);
    accept(&app, &bearer, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    decline(&app, &token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
}

#[tokio::test]
async fn resend_rotates_the_token_and_extends_the_expiry() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, old_token) = invited(&app, &admin, "again@example.com", "VIEWER").await;
    app.expire(&id).await;
    let path = format!("/api/v1/invitations/{id}/resend");
    let resp = app.post(&path).acting_as(&admin).send().await;
    resp.assert_status(200);
    assert_eq!(resp.body["status"], "PENDING");
    let expires = chrono::DateTime::parse_from_rfc3339(resp.body["expiresAt"].as_str().expect("s"))
        .expect("date");
    assert!(expires > chrono::Utc::now() + chrono::Duration::days(6));

    let new_token = app.outbox_token(&id).await;
    assert_ne!(new_token, old_token);
    lookup(&app, &old_token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    lookup(&app, &new_token).await.assert_status(200);

    // From PENDING too; then the previous token dies again.
    app.post(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    lookup(&app, &new_token)
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    let newest = app.outbox_token(&id).await;
    accept(
        &app,
        &app.token("again", Some("again@example.com"), false),
        &newest,
    )
    .await
    .assert_status(200);

    // Not from ACCEPTED (or REVOKED).
    app.post(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "BAD_REQUEST");
}

#[tokio::test]
async fn resend_answers_each_documented_error() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = invited(&app, &admin, "x@example.com", "VIEWER").await;
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    app.post(&format!("/api/v1/invitations/{id}/resend"))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "BAD_REQUEST");
    app.post("/api/v1/invitations/nope/resend")
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "INVALID_UUID");
    app.post(&format!("/api/v1/invitations/{}/resend", Uuid::now_v7()))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    let viewer = app.member(admin.org, "viewer", OrgRole::Viewer).await;
    app.post(&format!("/api/v1/invitations/{id}/resend"))
        .acting_as(&viewer)
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    app.post(&format!("/api/v1/invitations/{id}/resend"))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");

    // An expired invitation whose email was invited again cannot come back to life.
    let (old, _) = invited(&app, &admin, "dup@example.com", "VIEWER").await;
    app.expire(&old).await;
    app.invite(&admin, "dup@example.com", None).await;
    app.post(&format!("/api/v1/invitations/{old}/resend"))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(409, "CONFLICT");
}

#[tokio::test]
async fn the_expiry_job_rewrites_expired_rows_once_and_is_idempotent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (a, _) = invited(&app, &admin, "a@example.com", "VIEWER").await;
    let (b, _) = invited(&app, &admin, "b@example.com", "VIEWER").await;
    invited(&app, &admin, "c@example.com", "VIEWER").await;
    app.expire(&a).await;
    app.expire(&b).await;
    let service = app.invitations();
    let (first, second) = tokio::join!(service.expire_due(), service.expire_due());
    assert_eq!(first.expect("sweep") + second.expect("sweep"), 2);
    assert_eq!(service.expire_due().await.expect("sweep"), 0);
    let resp = app
        .get("/api/v1/invitations?status=EXPIRED")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["meta"]["total"], 2);
    let stored = app
        .query_one("SELECT COUNT(*) AS n FROM invitation WHERE status = 'EXPIRED'")
        .await
        .expect("row");
    assert_eq!(stored.try_get::<i64>("", "n").expect("n"), 2);
}

#[tokio::test]
async fn members_are_listed_for_any_member_with_paging() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let operator = app.member(admin.org, "op", OrgRole::Operator).await;
    let viewer = app.member(admin.org, "vi", OrgRole::Viewer).await;
    let root = app.super_admin(admin.org);
    for actor in [&admin, &operator, &viewer, &root] {
        let resp = app.get("/api/v1/members").acting_as(actor).send().await;
        resp.assert_status(200);
        assert_eq!(
            resp.body["meta"],
            json!({ "page": 1, "limit": 20, "total": 3, "totalPages": 1 })
        );
    }
    let resp = app
        .get("/api/v1/members?limit=2&page=2")
        .acting_as(&viewer)
        .send()
        .await;
    assert_eq!(resp.body["data"].as_array().expect("data").len(), 1);
    assert_eq!(resp.body["meta"]["totalPages"], 2);
    let first = &app
        .get("/api/v1/members?limit=1")
        .acting_as(&viewer)
        .send()
        .await
        .body["data"][0];
    assert_eq!(first["userId"], admin.user_id, "oldest first");
    let mut keys: Vec<String> = first.as_object().expect("o").keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "organizationId",
            "role",
            "updatedAt",
            "userId"
        ]
    );

    let outsider = Actor {
        org: admin.org,
        ..app.member(Uuid::now_v7(), "out", OrgRole::OrgAdmin).await
    };
    app.get("/api/v1/members")
        .acting_as(&outsider)
        .send()
        .await
        .assert_error(403, "ORG_MEMBERSHIP_REQUIRED");
    app.get("/api/v1/members")
        .bearer(&admin.token)
        .send()
        .await
        .assert_error(403, "ORG_CONTEXT_REQUIRED");
    app.get("/api/v1/members?limit=0")
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/api/v1/members")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_super_admin_bootstraps_an_organization_through_the_api_alone() {
    let app = spawn_app().await;
    let org = Uuid::now_v7();
    let root = app.super_admin(org);
    let inv = app
        .invite(&root, "founder@acme.example", Some("ORG_ADMIN"))
        .await;
    let token = app.outbox_token(inv["id"].as_str().expect("id")).await;
    let founder_token = app.token("founder", Some("founder@acme.example"), false);
    accept(&app, &founder_token, &token)
        .await
        .assert_status(200);
    let founder = Actor {
        token: founder_token,
        org,
        user_id: "founder".into(),
    };
    app.invite(&founder, "colleague@acme.example", None).await;
    let resp = app
        .get("/api/v1/invitations")
        .acting_as(&founder)
        .send()
        .await;
    assert_eq!(resp.body["meta"]["total"], 2);
}
