//! §10.6: every change of an invitation writes one event, in its transaction, with the caller
//! and the request that made it; `listEvents` pages and filters them.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::{
    helpers::{Actor, TestApp, spawn_app},
    smtp_server::{Behaviour, SmtpServer},
};

/// The organization's events, newest first (one page of up to 100).
pub async fn events(app: &TestApp, admin: &Actor, query: &str) -> Vec<Value> {
    let resp = app
        .get(&format!("/api/v1/events?limit=100{query}"))
        .acting_as(admin)
        .send()
        .await;
    resp.assert_status(200);
    resp.body["data"].as_array().expect("data").clone()
}

fn types_of(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect()
}

async fn accept(app: &TestApp, user: &str, email: &str, token: &str) -> crate::helpers::Resp {
    app.post("/api/v1/invitations/accept")
        .bearer(&app.token(user, Some(email), false))
        .header("x-request-id", "req-accept")
        .json(json!({ "token": token }))
        .send()
        .await
}

#[tokio::test]
async fn every_change_writes_one_event_with_its_actor_and_request() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/api/v1/invitations")
        .acting_as(&admin)
        .header("x-request-id", "req-create")
        .json(json!({ "email": "ann@example.com", "role": "VIEWER" }))
        .send()
        .await;
    created.assert_status(201);
    let ann = created.body["id"].as_str().expect("id").to_owned();
    let first_token = app.outbox_token(&ann).await;
    app.patch(&format!("/api/v1/invitations/{ann}"))
        .acting_as(&admin)
        .header("x-request-id", "req-update")
        .json(json!({ "role": "OPERATOR" }))
        .send()
        .await
        .assert_status(200);
    app.post(&format!("/api/v1/invitations/{ann}/resend"))
        .acting_as(&admin)
        .header("x-request-id", "req-resend")
        .send()
        .await
        .assert_status(200);
    let token = app.outbox_token(&ann).await;
    accept(&app, "user-ann", "ann@example.com", &token)
        .await
        .assert_status(200);

    let bob = app.invite(&admin, "bob@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let bob_token = app.outbox_token(&bob).await;
    app.post("/api/v1/invitations/decline")
        .header("x-request-id", "req-decline")
        .json(json!({ "token": bob_token }))
        .send()
        .await
        .assert_status(200);
    let cy = app.invite(&admin, "cy@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.delete(&format!("/api/v1/invitations/{cy}"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let dee = app.invite(&admin, "dee@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let dee_token = app.outbox_token(&dee).await;
    let smtp = SmtpServer::start(Behaviour::Accept).await;
    app.worker(&smtp.url(), 3)
        .deliver_due()
        .await
        .expect("deliver");
    app.expire(&dee).await;
    assert_eq!(app.invitations().expire_due().await.expect("sweep"), 1);
    let eve = app.invite(&admin, "eve@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let refusing = SmtpServer::start(Behaviour::RefuseAll).await;
    app.worker(&refusing.url(), 1)
        .deliver_due()
        .await
        .expect("deliver");

    let all = events(&app, &admin, "").await;
    let by_invitation = |id: &str| -> Vec<&str> {
        let mut types: Vec<&str> = all
            .iter()
            .filter(|e| e["invitationId"] == id)
            .map(|e| e["type"].as_str().expect("type"))
            .collect();
        types.reverse();
        types
    };
    assert_eq!(
        by_invitation(&ann),
        [
            "invitation.created",
            "invitation.updated",
            "invitation.resent",
            "invitation.accepted"
        ]
    );
    assert_eq!(
        by_invitation(&bob),
        ["invitation.created", "invitation.declined"]
    );
    assert_eq!(
        by_invitation(&cy),
        ["invitation.created", "invitation.revoked"]
    );
    assert_eq!(
        by_invitation(&dee),
        [
            "invitation.created",
            "invitation.email_sent",
            "invitation.expired"
        ]
    );
    assert_eq!(
        by_invitation(&eve),
        ["invitation.created", "invitation.email_failed"]
    );

    let find = |id: &str, kind: &str| -> &Value {
        all.iter()
            .find(|e| e["invitationId"] == id && e["type"] == kind)
            .expect("the event")
    };
    let created = find(&ann, "invitation.created");
    assert_eq!(created["actor"], admin.user_id.as_str());
    assert_eq!(created["requestId"], "req-create");
    assert_eq!(created["organizationId"], admin.org.to_string());
    assert_eq!(created["data"]["email"], "ann@example.com");
    assert_eq!(created["data"]["role"], "VIEWER");
    assert_eq!(created["data"]["invitedBy"], admin.user_id.as_str());
    assert!(created["occurredAt"].as_str().expect("time").ends_with('Z'));
    let updated = find(&ann, "invitation.updated");
    assert_eq!(updated["requestId"], "req-update");
    assert_eq!(updated["data"]["role"], "OPERATOR");
    assert_eq!(find(&ann, "invitation.resent")["data"]["sendCount"], 2);
    let accepted = find(&ann, "invitation.accepted");
    assert_eq!(accepted["actor"], "user-ann");
    assert_eq!(accepted["requestId"], "req-accept");
    assert_eq!(accepted["data"]["userId"], "user-ann");
    let declined = find(&bob, "invitation.declined");
    assert_eq!(declined["actor"], Value::Null, "a decline has no login");
    assert_eq!(declined["requestId"], "req-decline");
    let revoked = find(&cy, "invitation.revoked");
    assert_eq!(revoked["actor"], admin.user_id.as_str());
    assert!(revoked["requestId"].is_string(), "a generated request id");
    for (id, kind) in [
        (&dee, "invitation.expired"),
        (&dee, "invitation.email_sent"),
        (&eve, "invitation.email_failed"),
    ] {
        let event = find(id, kind);
        assert_eq!(event["actor"], Value::Null, "{kind} is the service's own");
        assert_eq!(event["requestId"], Value::Null, "{kind}");
    }
    assert_eq!(find(&dee, "invitation.email_sent")["data"]["attempts"], 1);
    let failed = find(&eve, "invitation.email_failed");
    assert!(
        failed["data"]["error"]
            .as_str()
            .expect("error")
            .contains("550")
    );

    // No token, old or new, ever appears in an event.
    let text = serde_json::to_string(&all).expect("json");
    for secret in [&first_token, &token, &bob_token, &dee_token] {
        assert!(
            !text.contains(secret.as_str()),
            "a token leaked into events"
        );
    }
}

#[tokio::test]
async fn events_are_paged_newest_first_and_filtered_by_type_and_invitation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let inv = app.invite(&admin, &format!("p{n}@example.com"), None).await;
        ids.push(inv["id"].as_str().expect("id").to_owned());
    }
    app.delete(&format!("/api/v1/invitations/{}", ids[0]))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);

    let page = |n: u32| {
        app.get(&format!("/api/v1/events?page={n}&limit=3"))
            .acting_as(&admin)
            .send()
    };
    let first = page(1).await;
    first.assert_status(200);
    assert_eq!(
        first.body["meta"],
        json!({ "page": 1, "limit": 3, "total": 4, "totalPages": 2 })
    );
    let got = first.body["data"].as_array().expect("data");
    assert_eq!(got[0]["type"], "invitation.revoked", "newest first");
    assert_eq!(got[1]["invitationId"], ids[2].as_str());
    let second = page(2).await;
    assert_eq!(second.body["data"].as_array().expect("data").len(), 1);
    assert_eq!(second.body["data"][0]["invitationId"], ids[0].as_str());

    let created = events(&app, &admin, "&type=invitation.created").await;
    assert_eq!(created.len(), 3);
    let one = events(&app, &admin, &format!("&invitationId={}", ids[0])).await;
    assert_eq!(types_of(&one), ["invitation.revoked", "invitation.created"]);
    let both = events(
        &app,
        &admin,
        &format!("&invitationId={}&type=invitation.revoked", ids[0]),
    )
    .await;
    assert_eq!(both.len(), 1);

    // Another organization's admin sees none of them; a viewer may not look.
    let other = app.admin().await;
    assert!(events(&app, &other, "").await.is_empty());
    let viewer = app
        .member(
            admin.org,
            "viewer-1",
            voke_invitations::entity::OrgRole::Viewer,
        )
        .await;
    app.get("/api/v1/events")
        .acting_as(&viewer)
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    app.get("/api/v1/events")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let bad_type = app
        .get("/api/v1/events?type=invitation.exploded")
        .acting_as(&admin)
        .send()
        .await;
    bad_type.assert_error(400, "VALIDATION_ERROR");
    let bad_id = app
        .get("/api/v1/events?invitationId=nope")
        .acting_as(&admin)
        .send()
        .await;
    assert_eq!(bad_id.status, 400, "{}", bad_id.text);
    app.get("/api/v1/events?limit=101")
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_batch_records_one_created_event_per_created_item() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let resp = app
        .post("/api/v1/invitations/bulk")
        .acting_as(&admin)
        .json(json!({ "invitations": [
            { "email": "a@example.com" },
            { "email": "not-an-email" },
            { "email": "a@example.com" },
            { "email": "b@example.com" },
        ]}))
        .send()
        .await;
    resp.assert_status(200);
    let all = events(&app, &admin, "").await;
    assert_eq!(types_of(&all), ["invitation.created", "invitation.created"]);
    let emails: Vec<&Value> = all.iter().map(|e| &e["data"]["email"]).collect();
    assert!(emails.contains(&&json!("a@example.com")) && emails.contains(&&json!("b@example.com")));
}

#[tokio::test]
async fn concurrent_sweeps_on_two_instances_record_each_expiry_once() {
    let app = spawn_app().await;
    let other = app.second_instance(&[]).await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let inv = app.invite(&admin, &format!("x{n}@example.com"), None).await;
        let id = inv["id"].as_str().expect("id").to_owned();
        app.expire(&id).await;
        ids.push(id);
    }
    let (one, two) = (app.invitations(), other.invitations());
    let (a, b) = tokio::join!(one.expire_due(), two.expire_due());
    let swept = a.expect("sweep") + b.expect("sweep");
    assert_eq!(swept, 30, "each row expired by exactly one sweep");
    assert_eq!(app.invitations().expire_due().await.expect("sweep"), 0);
    let expired = events(&app, &admin, "&type=invitation.expired").await;
    let mut per: HashMap<String, usize> = HashMap::new();
    for event in &expired {
        *per.entry(event["invitationId"].as_str().expect("id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per.len(), 30);
    assert!(per.values().all(|n| *n == 1), "{per:?}");
}

#[tokio::test]
async fn an_expiry_noticed_by_a_create_or_resend_is_recorded_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let old = app.invite(&admin, "again@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.expire(&old).await;
    // A new invitation for the same email retires the expired one.
    let new = app.invite(&admin, "again@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resent = app.invite(&admin, "later@example.com", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.expire(&resent).await;
    app.post(&format!("/api/v1/invitations/{resent}/resend"))
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    assert_eq!(app.invitations().expire_due().await.expect("sweep"), 0);

    let of = |id: &str| {
        let id = id.to_owned();
        let admin = &admin;
        let app = &app;
        async move {
            let found = events(app, admin, &format!("&invitationId={id}")).await;
            types_of(&found)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(of(&old).await, ["invitation.expired", "invitation.created"]);
    assert_eq!(of(&new).await, ["invitation.created"]);
    assert_eq!(
        of(&resent).await,
        [
            "invitation.resent",
            "invitation.expired",
            "invitation.created"
        ]
    );
}
