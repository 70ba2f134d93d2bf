//! Create, get and revoke.

use serde_json::json;
use voke_invitations::entity::OrgRole;

use crate::helpers::spawn_app;

fn is_millis_utc(value: &serde_json::Value) -> bool {
    // 2026-11-26T09:30:00.123Z
    value.as_str().is_some_and(|s| {
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

#[tokio::test]
async fn create_invitation_returns_201_with_location_and_the_documented_shape() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "  Ann.Lee@Example.COM ", "role": "OPERATOR", "extra": 1 }))
        .send()
        .await;
    resp.assert_status(201);
    let inv = &resp.body;
    let id = inv["id"].as_str().expect("id");
    assert_eq!(
        resp.headers["location"].to_str().expect("ascii"),
        format!("/api/v1/invitations/{id}")
    );
    assert_eq!(inv["email"], "ann.lee@example.com");
    assert_eq!(inv["role"], "OPERATOR");
    assert_eq!(inv["status"], "PENDING");
    assert_eq!(inv["organizationId"], admin.org.to_string());
    assert_eq!(inv["invitedBy"], admin.user_id);
    assert!(inv["acceptedAt"].is_null());
    assert!(inv.as_object().expect("object").contains_key("acceptedAt"));
    for field in ["expiresAt", "createdAt", "updatedAt"] {
        assert!(is_millis_utc(&inv[field]), "{field}: {}", inv[field]);
    }
    let created = chrono::DateTime::parse_from_rfc3339(inv["createdAt"].as_str().expect("str"))
        .expect("date");
    let expires = chrono::DateTime::parse_from_rfc3339(inv["expiresAt"].as_str().expect("str"))
        .expect("date");
    assert_eq!(expires - created, chrono::Duration::days(7));
    // The ten fields of §4 and the three of §10.4 (`delivery`, `sendCount`, `lastSentAt`).
    assert_eq!(
        inv.as_object().expect("object").len(),
        13,
        "no token or extra field: {inv}"
    );
    assert!(!resp.text.to_lowercase().contains("token"));
}

#[tokio::test]
async fn create_invitation_defaults_the_role_to_viewer_when_absent_or_null() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(
        app.invite(&admin, "a@example.com", None).await["role"],
        "VIEWER"
    );
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "b@example.com", "role": null }))
        .send()
        .await;
    resp.assert_status(201);
    assert_eq!(resp.body["role"], "VIEWER");
}

#[tokio::test]
async fn create_invitation_honours_a_configured_ttl() {
    let app = crate::helpers::spawn_app_with(&[("INVITATION_TTL", "36h")]).await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "ttl@example.com", None).await;
    let created = chrono::DateTime::parse_from_rfc3339(inv["createdAt"].as_str().expect("str"))
        .expect("date");
    let expires = chrono::DateTime::parse_from_rfc3339(inv["expiresAt"].as_str().expect("str"))
        .expect("date");
    assert_eq!(expires - created, chrono::Duration::hours(36));
}

#[tokio::test]
async fn create_invitation_rejects_invalid_bodies_with_one_line_per_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let long = format!("{}@example.com", "a".repeat(250));
    let cases = [
        (
            json!({ "email": "not-an-email" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a b@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a@b@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a@localhost" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a\u{91}b@x.io" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a b@x.io" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "nul\u{0}@example.com" }),
            vec!["email: must not contain NUL characters"],
        ),
        (
            json!({ "email": long }),
            vec!["email: must be at most 254 characters long"],
        ),
        (json!({ "email": 42 }), vec!["email: must be a string"]),
        // What the mailer would refuse or send elsewhere, and what disguises an address.
        (
            json!({ "email": "bob<attacker@evil.com>" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": format!("{}@example.com", "a".repeat(65)) }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": format!("a@{}.com", "b".repeat(64)) }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a@[127.0.0.1]" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "a@example.com." }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "<script>x</script>@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "adm\u{202e}moc.evil@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "zero\u{200b}width@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "ｆｕｌｌ@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (
            json!({ "email": "two..dots@example.com" }),
            vec!["email: must be a valid email address"],
        ),
        (json!({ "role": "VIEWER" }), vec!["email: is required"]),
        (json!({ "email": null }), vec!["email: is required"]),
        (
            json!({ "email": "ok@example.com", "role": "KING" }),
            vec!["role: must be one of ORG_ADMIN, OPERATOR, VIEWER"],
        ),
        (
            json!({ "email": "nope", "role": "viewer" }),
            vec![
                "email: must be a valid email address",
                "role: must be one of ORG_ADMIN, OPERATOR, VIEWER",
            ],
        ),
    ];
    for (body, expected) in cases {
        let resp = app
            .post("/api/v1/invitations")
            .acting_as(&admin)
            .json(body.clone())
            .send()
            .await;
        resp.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(resp.validation_errors(), expected, "body {body}");
    }
    let (_, total) = list_total(&app, &admin).await;
    assert_eq!(total, 0, "nothing was stored");
}

async fn list_total(app: &crate::helpers::TestApp, admin: &crate::helpers::Actor) -> ((), u64) {
    let resp = app.get("/api/v1/invitations").acting_as(admin).send().await;
    resp.assert_status(200);
    ((), resp.body["meta"]["total"].as_u64().expect("total"))
}

#[tokio::test]
async fn create_invitation_returns_409_when_a_pending_one_exists_in_any_letter_case() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.invite(&admin, "dup@example.com", None).await;
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": " DUP@Example.com" }))
        .send()
        .await;
    resp.assert_error(409, "CONFLICT");
    assert_eq!(
        resp.body["message"],
        "A pending invitation already exists for this email"
    );
    // The conflict names the live invitation, so a client can offer "resend" instead.
    let live = app
        .get("/api/v1/invitations?email=dup@example.com")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(
        resp.body["details"]["invitationId"],
        live.body["data"][0]["id"]
    );
    // Another organization may invite the same person.
    let other = app.admin().await;
    app.invite(&other, "dup@example.com", None).await;
}

#[tokio::test]
async fn create_invitation_returns_409_already_a_member_which_wins_over_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let member = app.member(admin.org, "mia", OrgRole::Viewer).await;
    let email = format!("{}@members.example", member.user_id);
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": email.to_uppercase() }))
        .send()
        .await;
    resp.assert_error(409, "ALREADY_A_MEMBER");

    // A pending invitation made before the person joined: membership still wins.
    app.invite(&admin, "late@example.com", None).await;
    voke_invitations::service::members::upsert(
        &app.db,
        admin.org,
        "late",
        "late@example.com",
        OrgRole::Viewer,
    )
    .await
    .expect("member");
    let resp = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(json!({ "email": "late@example.com" }))
        .send()
        .await;
    resp.assert_error(409, "ALREADY_A_MEMBER");
}

#[tokio::test]
async fn an_expired_pending_invitation_reads_expired_and_does_not_block_a_new_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let old = app.invite(&admin, "again@example.com", None).await;
    let old_id = old["id"].as_str().expect("id");
    app.expire(old_id).await;

    let resp = app
        .get(&format!("/api/v1/invitations/{old_id}"))
        .acting_as(&admin)
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["status"], "EXPIRED");

    let new = app.invite(&admin, "Again@example.com", None).await;
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["status"], "PENDING");

    // The old row was retired, not deleted.
    let resp = app
        .get(&format!("/api/v1/invitations/{old_id}"))
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(resp.body["status"], "EXPIRED");
}

#[tokio::test]
async fn get_invitation_returns_it_and_404_for_unknown_or_foreign_ids() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let inv = app
        .invite(&admin, "get@example.com", Some("ORG_ADMIN"))
        .await;
    let id = inv["id"].as_str().expect("id");

    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&admin)
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body, inv);

    // Upper-case ids are accepted and answered in lower case.
    let resp = app
        .get(&format!("/api/v1/invitations/{}", id.to_uppercase()))
        .acting_as(&admin)
        .send()
        .await;
    resp.assert_status(200);
    assert_eq!(resp.body["id"], id);

    let resp = app
        .get(&format!("/api/v1/invitations/{}", uuid::Uuid::now_v7()))
        .acting_as(&admin)
        .send()
        .await;
    resp.assert_error(404, "INVITATION_NOT_FOUND");

    let stranger = app.admin().await;
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&stranger)
        .send()
        .await;
    resp.assert_error(404, "INVITATION_NOT_FOUND");
}

#[tokio::test]
async fn invalid_path_ids_are_400_invalid_uuid() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // One rule for path ids and x-org-id: the hyphenated form only, as the spec's pattern says.
    let simple = "0191f0c47a3c7d4e8a2b2f7c1c9e4a11";
    let braced = "%7B0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a11%7D";
    let urn = "urn:uuid:0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a11";
    for id in [
        "abc",
        "123",
        "0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a1",
        "%00",
        simple,
        braced,
        urn,
    ] {
        let resp = app
            .get(&format!("/api/v1/invitations/{id}"))
            .acting_as(&admin)
            .send()
            .await;
        resp.assert_error(400, "INVALID_UUID");
        let resp = app
            .delete(&format!("/api/v1/invitations/{id}"))
            .acting_as(&admin)
            .send()
            .await;
        resp.assert_error(400, "INVALID_UUID");
    }
}

#[tokio::test]
async fn revoke_invitation_soft_revokes_and_refuses_a_second_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "rev@example.com", None).await;
    let path = format!("/api/v1/invitations/{}", inv["id"].as_str().expect("id"));

    let resp = app.delete(&path).acting_as(&admin).send().await;
    resp.assert_status(200);
    assert_eq!(resp.body, json!({ "message": "Invitation revoked" }));

    let resp = app.get(&path).acting_as(&admin).send().await;
    assert_eq!(resp.body["status"], "REVOKED");
    assert_ne!(resp.body["updatedAt"], inv["updatedAt"]);

    let resp = app.delete(&path).acting_as(&admin).send().await;
    resp.assert_error(400, "BAD_REQUEST");
    assert_eq!(
        resp.body["message"],
        "Invitation cannot be revoked in its current state"
    );

    // A revoked invitation no longer blocks a new one.
    app.invite(&admin, "rev@example.com", None).await;
}

#[tokio::test]
async fn revoke_invitation_refuses_expired_and_hides_foreign_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let inv = app.invite(&admin, "old@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    let path = format!("/api/v1/invitations/{id}");

    let stranger = app.admin().await;
    app.delete(&path)
        .acting_as(&stranger)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");

    app.expire(id).await;
    app.delete(&path)
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "BAD_REQUEST");
    let resp = app.get(&path).acting_as(&admin).send().await;
    assert_eq!(resp.body["status"], "EXPIRED");

    app.delete(&format!("/api/v1/invitations/{}", uuid::Uuid::now_v7()))
        .acting_as(&admin)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
}

#[tokio::test]
async fn an_xn_label_that_is_not_a_real_idn_label_is_a_validation_error() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.admin().await;
    let refused = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .json(serde_json::json!({ "email": "a@b.xn--cw0hbb" }))
        .send()
        .await;
    refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        refused.validation_errors(),
        ["email: must be a valid email address"]
    );
    let bulk = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .json(serde_json::json!({ "invitations": [
            { "email": "a@b.xn--cw0hbb" },
            { "email": "a@xn--80ak6aa92e.com" },
        ]}))
        .send()
        .await;
    bulk.assert_status(200);
    assert_eq!(bulk.body["data"][0]["status"], 400);
    assert_eq!(bulk.body["data"][0]["error"], refused.body);
    assert_eq!(bulk.body["data"][1]["status"], 201);
}
