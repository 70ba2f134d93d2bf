//! Bearer verification, organization context order, and the permission matrix.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use uuid::Uuid;
use voke_invitations::entity::OrgRole;

use crate::helpers::{Actor, TEST_SECRET, TestApp, spawn_app, spawn_app_with};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn hs256(claims: serde_json::Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

/// Each of the org-admin operations, as (method, path, body).
async fn admin_operations(
    app: &TestApp,
    org_admin: &Actor,
) -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    let inv = app
        .invite(
            org_admin,
            &format!("{}@ops.example", Uuid::new_v4().simple()),
            None,
        )
        .await;
    let id = inv["id"].as_str().expect("id").to_owned();
    vec![
        ("GET", "/api/v1/invitations".into(), None),
        (
            "POST",
            "/api/v1/invitations".into(),
            Some(json!({ "email": format!("{}@new.example", Uuid::new_v4().simple()) })),
        ),
        ("GET", format!("/api/v1/invitations/{id}"), None),
        ("DELETE", format!("/api/v1/invitations/{id}"), None),
    ]
}

async fn call(
    app: &TestApp,
    actor: &Actor,
    (method, path, body): &(&'static str, String, Option<serde_json::Value>),
) -> crate::helpers::Resp {
    let method = method.parse().expect("method");
    let mut req = app.request(method, path).acting_as(actor);
    if let Some(body) = body {
        req = req.json(body.clone());
    }
    req.send().await
}

#[tokio::test]
async fn the_permission_matrix_holds_cell_by_cell() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let operator = app.member(admin.org, "op", OrgRole::Operator).await;
    let viewer = app.member(admin.org, "vi", OrgRole::Viewer).await;
    let outsider = app.member(Uuid::now_v7(), "out", OrgRole::OrgAdmin).await;
    let outsider = Actor {
        org: admin.org,
        ..outsider
    };

    for (actor, expected) in [
        (&operator, Some("INSUFFICIENT_ORG_PERMISSIONS")),
        (&viewer, Some("INSUFFICIENT_ORG_PERMISSIONS")),
        (&outsider, Some("ORG_MEMBERSHIP_REQUIRED")),
    ] {
        for op in admin_operations(&app, &admin).await {
            let resp = call(&app, actor, &op).await;
            resp.assert_error(403, expected.expect("code"));
        }
    }
    // ORG_ADMIN and a super admin (with no membership at all) may do everything.
    let root = app.super_admin(admin.org);
    for actor in [&admin, &root] {
        let ops = admin_operations(&app, &admin).await;
        let expected = [200, 201, 200, 200];
        for (op, status) in ops.iter().zip(expected) {
            call(&app, actor, op).await.assert_status(status);
        }
    }
}

#[tokio::test]
async fn a_super_admin_acts_as_org_admin_in_any_organization_and_is_recorded_as_inviter() {
    let app = spawn_app().await;
    let root = app.super_admin(Uuid::now_v7());
    let inv = app
        .invite(&root, "first-admin@example.com", Some("ORG_ADMIN"))
        .await;
    assert_eq!(inv["invitedBy"], "root");
    assert_eq!(inv["organizationId"], root.org.to_string());
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_401() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let good = json!({ "sub": admin.user_id, "exp": now() + 600 });
    let mut rs_header = Header::new(Algorithm::HS384);
    rs_header.typ = Some("JWT".into());
    let bad_tokens = vec![
        (
            "wrong secret",
            hs256(good.clone(), "another-secret-another-secret-0000"),
        ),
        (
            "expired",
            hs256(
                json!({ "sub": admin.user_id, "exp": now() - 120 }),
                TEST_SECRET,
            ),
        ),
        (
            "no exp",
            hs256(json!({ "sub": admin.user_id }), TEST_SECRET),
        ),
        ("no sub", hs256(json!({ "exp": now() + 600 }), TEST_SECRET)),
        (
            "empty sub",
            hs256(json!({ "sub": "", "exp": now() + 600 }), TEST_SECRET),
        ),
        (
            "nul in sub",
            hs256(json!({ "sub": "a\u{0}b", "exp": now() + 600 }), TEST_SECRET),
        ),
        (
            "other algorithm",
            encode(
                &rs_header,
                &good,
                &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
            )
            .expect("encode"),
        ),
        ("alg none", alg_none(&good)),
        ("garbage", "not.a.jwt".to_owned()),
        (
            "not valid before a minute from now",
            hs256(
                json!({ "sub": admin.user_id, "exp": now() + 600, "nbf": now() + 90 }),
                TEST_SECRET,
            ),
        ),
        (
            "CR/LF in sub",
            hs256(
                json!({ "sub": "alice\r\nBcc: x", "exp": now() + 600 }),
                TEST_SECRET,
            ),
        ),
        (
            "control character in email",
            hs256(
                json!({ "sub": admin.user_id, "email": "a\u{7}@x.io", "exp": now() + 600 }),
                TEST_SECRET,
            ),
        ),
        ("unknown critical extension", with_crit(&good)),
    ];
    for (what, token) in bad_tokens {
        let resp = app
            .get("/api/v1/invitations")
            .bearer(&token)
            .header("x-org-id", &admin.org.to_string())
            .send()
            .await;
        resp.assert_error(401, "UNAUTHORIZED");
        assert!(
            !resp.text.contains("InvalidSignature"),
            "{what} leaks internals"
        );
    }
    // Missing header, wrong scheme.
    for auth in [
        None,
        Some(format!("Basic {}", admin.token)),
        Some("Bearer".to_owned()),
    ] {
        let mut req = app
            .get("/api/v1/invitations")
            .header("x-org-id", &admin.org.to_string());
        if let Some(auth) = &auth {
            req = req.header("authorization", auth);
        }
        req.send().await.assert_error(401, "UNAUTHORIZED");
    }
    // A `nbf` within the 30 s leeway is accepted, like `exp`.
    let soon = hs256(
        json!({ "sub": admin.user_id, "exp": now() + 600, "nbf": now() + 10 }),
        TEST_SECRET,
    );
    app.get("/api/v1/invitations")
        .bearer(&soon)
        .header("x-org-id", &admin.org.to_string())
        .send()
        .await
        .assert_status(200);
    // Within the 30 s leeway an expired token still works.
    let fresh = hs256(
        json!({ "sub": admin.user_id, "exp": now() - 10 }),
        TEST_SECRET,
    );
    app.get("/api/v1/invitations")
        .bearer(&fresh)
        .header("x-org-id", &admin.org.to_string())
        .send()
        .await
        .assert_status(200);
}

/// A correctly signed HS256 token whose header names a critical extension nobody knows.
fn with_crit(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let header =
        json!({ "alg": "HS256", "typ": "JWT", "crit": ["x-voke-unknown"], "x-voke-unknown": 1 });
    let message = format!("{}.{}", b64(&header), b64(claims));
    let key = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("sign");
    format!("{message}.{signature}")
}

fn alg_none(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.",
        b64(&json!({ "alg": "none", "typ": "JWT" })),
        b64(claims)
    )
}

#[tokio::test]
async fn issuer_and_audience_are_enforced_when_configured() {
    let app = spawn_app_with(&[
        ("JWT_ISSUER", "https://id.voke.example"),
        ("JWT_AUDIENCE", "invitations"),
    ])
    .await;
    let admin = app.admin().await;
    let org = admin.org.to_string();
    let cases = [
        (
            json!({ "sub": admin.user_id, "exp": now() + 600, "iss": "https://id.voke.example", "aud": "invitations" }),
            200,
        ),
        (
            json!({ "sub": admin.user_id, "exp": now() + 600, "iss": "https://evil.example", "aud": "invitations" }),
            401,
        ),
        (
            json!({ "sub": admin.user_id, "exp": now() + 600, "iss": "https://id.voke.example", "aud": "other" }),
            401,
        ),
        (
            json!({ "sub": admin.user_id, "exp": now() + 600, "aud": "invitations" }),
            401,
        ),
        (
            json!({ "sub": admin.user_id, "exp": now() + 600, "iss": "https://id.voke.example" }),
            401,
        ),
    ];
    for (claims, status) in cases {
        let resp = app
            .get("/api/v1/invitations")
            .bearer(&hs256(claims.clone(), TEST_SECRET))
            .header("x-org-id", &org)
            .send()
            .await;
        resp.assert_status(status);
    }
}

#[tokio::test]
async fn rs256_and_es256_public_keys_verify_their_own_tokens_only() {
    let dir = tempfile::tempdir().expect("dir");
    for (alg, private_pem, public_pem) in [
        (Algorithm::RS256, RSA_PRIVATE, RSA_PUBLIC),
        (Algorithm::ES256, EC_PRIVATE, EC_PUBLIC),
    ] {
        let path = dir.path().join(format!("{alg:?}.pem"));
        std::fs::write(&path, public_pem).expect("write key");
        let database = tempfile::tempdir().expect("db dir");
        let url = format!("sqlite://{}/t.db?mode=rwc", database.path().display());
        let config = voke_invitations::config::Config::from_lookup(|name| match name {
            "JWT_PUBLIC_KEY_FILE" => Some(path.display().to_string()),
            "DATABASE_URL" => Some(url.clone()),
            _ => None,
        })
        .expect("config");
        let verifier = voke_invitations::auth::JwtVerifier::from_config(&config).expect("verifier");
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem.as_bytes()),
            _ => EncodingKey::from_ec_pem(private_pem.as_bytes()),
        }
        .expect("private key");
        let claims = json!({ "sub": "u1", "exp": now() + 60, "isSuperAdmin": true });
        let token = encode(&Header::new(alg), &claims, &key).expect("sign");
        let caller = verifier.verify(&token).await.expect("verifies");
        assert!(caller.is_super_admin);
        // An HS256 token signed with the public key text (algorithm confusion) is refused.
        let confused = hs256(claims, public_pem);
        assert!(
            verifier.verify(&confused).await.is_err(),
            "{alg:?} accepted HS256"
        );
        assert!(
            verifier
                .mint("u", None, false, std::time::Duration::from_secs(5))
                .is_err()
        );
    }
}

#[tokio::test]
async fn org_context_checks_run_in_the_documented_order_before_validation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let org = admin.org.to_string();
    let bad_query = "/api/v1/invitations?limit=500";

    // Anonymous with a bad query and bad header: 401 first.
    app.get(bad_query)
        .header("x-org-id", "nope")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    // No header (or an empty one): 403 before the query is looked at.
    app.get(bad_query)
        .bearer(&admin.token)
        .send()
        .await
        .assert_error(403, "ORG_CONTEXT_REQUIRED");
    app.get(bad_query)
        .bearer(&admin.token)
        .header("x-org-id", "")
        .send()
        .await
        .assert_error(403, "ORG_CONTEXT_REQUIRED");
    // Not a UUID, or repeated: 400 INVALID_UUID.
    for value in [
        "nope",
        "0191f0c4-7a3c-7d4e-8a2b",
        "0191f0c47a3c7d4e8a2b2f7c1c9e4a11",
    ] {
        app.get(bad_query)
            .bearer(&admin.token)
            .header("x-org-id", value)
            .send()
            .await
            .assert_error(400, "INVALID_UUID");
    }
    app.get(bad_query)
        .bearer(&admin.token)
        .header("x-org-id", &org)
        .header("x-org-id", &org)
        .send()
        .await
        .assert_error(400, "INVALID_UUID");
    // A UUID of an organization the caller is not in: 403 before validation.
    app.get(bad_query)
        .bearer(&admin.token)
        .header("X-Org-Id", &Uuid::now_v7().to_string())
        .send()
        .await
        .assert_error(403, "ORG_MEMBERSHIP_REQUIRED");
    // Insufficient role beats a bad body.
    let viewer = app.member(admin.org, "v", OrgRole::Viewer).await;
    app.post("/api/v1/invitations")
        .acting_as(&viewer)
        .json(json!({ "email": "bad" }))
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");
    // Only then validation.
    app.get(bad_query)
        .acting_as(&admin)
        .send()
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // Header name and UUID letter case do not matter; ids come back lower-case.
    let inv = app
        .post("/api/v1/invitations")
        .bearer(&admin.token)
        .header("X-ORG-ID", &org.to_uppercase())
        .json(json!({ "email": "case@example.com" }))
        .send()
        .await;
    inv.assert_status(201);
    assert_eq!(inv.body["organizationId"], org);
}

#[tokio::test]
async fn tenants_are_isolated_across_every_operation() {
    let app = spawn_app().await;
    let a = app.admin().await;
    let b = app.admin().await;
    let inv = app.invite(&a, "shared@example.com", None).await;
    let id = inv["id"].as_str().expect("id");
    // B's admin using A's org id is not a member there.
    let b_in_a = Actor {
        org: a.org,
        ..b.clone()
    };
    app.get("/api/v1/invitations")
        .acting_as(&b_in_a)
        .send()
        .await
        .assert_error(403, "ORG_MEMBERSHIP_REQUIRED");
    // In B's own org, A's invitation does not exist.
    app.get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&b)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    app.delete(&format!("/api/v1/invitations/{id}"))
        .acting_as(&b)
        .send()
        .await
        .assert_error(404, "INVITATION_NOT_FOUND");
    let resp = app.get("/api/v1/invitations").acting_as(&b).send().await;
    assert_eq!(resp.body["meta"]["total"], 0);
    // And A's invitation is untouched.
    let resp = app
        .get(&format!("/api/v1/invitations/{id}"))
        .acting_as(&a)
        .send()
        .await;
    assert_eq!(resp.body["status"], "PENDING");
}

const RSA_PRIVATE: &str = include_str!("keys/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa_public.pem");
const EC_PRIVATE: &str = include_str!("keys/ec_private.pem");
const EC_PUBLIC: &str = include_str!("keys/ec_public.pem");
