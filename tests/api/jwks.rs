//! Keys from an identity provider (CONTRACT §9.2): tokens verified against a JWK set served by
//! a JWKS endpoint inside the test, through the production app.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use poem::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use voke_invitations::startup::Application;

use crate::{
    helpers::{Resp, TestApp, fresh_database, spawn_app_with, test_config},
    jwks_server::{JwksServer, TestKey},
    worker_support::wait_for,
};

const DEADLINE: Duration = Duration::from_secs(20);

/// An app verifying tokens with the keys at `server` (plus any other variables).
async fn app_for(server: &JwksServer, extra: &[(&str, &str)]) -> TestApp {
    let url = server.url();
    let mut vars = vec![("JWT_SECRET", ""), ("JWT_JWKS_URL", url.as_str())];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// An app whose first key set has arrived.
async fn ready_app_for(server: &JwksServer, extra: &[(&str, &str)]) -> TestApp {
    let app = app_for(server, extra).await;
    wait_for(DEADLINE, "the first JWK set", || async {
        (app.get("/readyz").send().await.status == StatusCode::OK).then_some(())
    })
    .await;
    app
}

fn claims(sub: &str) -> Value {
    let exp = jsonwebtoken::get_current_timestamp() + 600;
    json!({ "sub": sub, "email": format!("{sub}@idp.example"), "exp": exp, "isSuperAdmin": true })
}

/// An org-scoped operation with `token` (its caller is a super admin, so no membership needed).
async fn list_with(app: &TestApp, token: &str) -> Resp {
    app.get("/api/v1/invitations")
        .bearer(token)
        .header("x-org-id", &Uuid::now_v7().to_string())
        .send()
        .await
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_verify_with_the_key_their_kid_names() {
    let keys = [
        TestKey::rsa("rsa-1"),
        TestKey::ec("ec-1"),
        TestKey::ed25519("ed-1"),
    ];
    let server = JwksServer::start(&keys.iter().collect::<Vec<_>>()).await;
    let app = ready_app_for(&server, &[]).await;
    for key in &keys {
        list_with(&app, &key.sign(&claims("alice")))
            .await
            .assert_status(200);
    }
    // The claims map as with any other key: `sub` is the inviter, `isSuperAdmin` the role.
    let org = Uuid::now_v7().to_string();
    let created = app
        .post("/api/v1/invitations")
        .bearer(&keys[2].sign(&claims("idp|user-42")))
        .header("x-org-id", &org)
        .json(json!({ "email": "new@example.com" }))
        .send()
        .await;
    created.assert_status(201);
    assert_eq!(created.body["invitedBy"], "idp|user-42");
}

#[tokio::test]
async fn tokens_that_do_not_match_a_published_key_and_its_algorithm_are_401() {
    let rsa = TestKey::rsa("rsa-1");
    let ec = TestKey::ec("ec-1");
    let server = JwksServer::start(&[&rsa, &ec]).await;
    let hmac_secret = "a-shared-secret-published-as-an-oct-key";
    let mut ec_claiming_rs256 = TestKey::ec("ec-rs").jwk();
    ec_claiming_rs256["alg"] = "RS256".into();
    server.publish_raw(json!({ "keys": [
        rsa.jwk(),
        ec.jwk(),
        ec_claiming_rs256,
        { "kty": "oct", "kid": "hmac", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(hmac_secret) },
    ]}));
    let app = ready_app_for(&server, &[]).await;
    let good = rsa.sign(&claims("alice"));
    list_with(&app, &good).await.assert_status(200);

    let hs256 = |kid: &str, secret: &[u8]| {
        let key = TestKey {
            kid: Some(kid.to_owned()),
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
        };
        key.sign(&claims("alice"))
    };
    let rsa_n = rsa.jwk()["n"].as_str().expect("n").to_owned();
    let (header, _, signature) = split(&good);
    let other_claims = URL_SAFE_NO_PAD.encode(claims("mallory").to_string());
    let unsigned_header =
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "kid": "rsa-1" }).to_string());
    let bad = [
        (
            "unknown kid",
            rsa.sign_as(Algorithm::RS256, Some("nope"), &claims("alice")),
        ),
        (
            "no kid with several keys",
            rsa.sign_as(Algorithm::RS256, None, &claims("alice")),
        ),
        (
            "tampered claims",
            format!("{header}.{other_claims}.{signature}"),
        ),
        (
            "signed by another key",
            ec.sign_as(Algorithm::ES256, Some("rsa-1"), &claims("alice")),
        ),
        (
            "RS384 with an RS256 key",
            rsa.sign_as(Algorithm::RS384, Some("rsa-1"), &claims("alice")),
        ),
        (
            "PS256 with an RS256 key",
            rsa.sign_as(Algorithm::PS256, Some("rsa-1"), &claims("alice")),
        ),
        (
            "HS256 keyed with the RSA modulus",
            hs256("rsa-1", rsa_n.as_bytes()),
        ),
        (
            "HS256 with a published oct key",
            hs256("hmac", hmac_secret.as_bytes()),
        ),
        (
            "an EC key that declares RS256",
            TestKey::ec("ec-rs").sign(&claims("alice")),
        ),
        ("alg none", format!("{unsigned_header}.{other_claims}.")),
    ];
    for (what, token) in bad {
        let resp = list_with(&app, &token).await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.text);
        resp.assert_error(401, "UNAUTHORIZED");
    }
}

fn split(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    let mut next = || parts.next().expect("three parts");
    (next(), next(), next())
}

#[tokio::test]
async fn the_usual_claim_checks_apply_to_tokens_from_an_identity_provider() {
    let key = TestKey::ed25519("ed-1");
    let server = JwksServer::start(&[&key]).await;
    let issuer = "https://tenant.idp.example/";
    let app = ready_app_for(
        &server,
        &[("JWT_ISSUER", issuer), ("JWT_AUDIENCE", "invitations")],
    )
    .await;
    let now = jsonwebtoken::get_current_timestamp();
    let with = |extra: Value| {
        let mut c =
            json!({ "sub": "alice", "exp": now + 600, "iss": issuer, "aud": "invitations" });
        c.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        key.sign(&c)
    };
    list_with(&app, &with(json!({ "isSuperAdmin": true })))
        .await
        .assert_status(200);
    for (what, token) in [
        (
            "expired beyond the leeway",
            with(json!({ "exp": now - 120 })),
        ),
        ("not yet valid", with(json!({ "nbf": now + 120 }))),
        (
            "another issuer",
            with(json!({ "iss": "https://evil.example/" })),
        ),
        ("another audience", with(json!({ "aud": "billing" }))),
        ("an empty sub", with(json!({ "sub": " " }))),
    ] {
        let resp = list_with(&app, &token).await;
        assert_eq!(resp.status, 401, "{what}: {}", resp.text);
        resp.assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn a_set_with_one_key_without_kid_verifies_tokens_without_kid() {
    let key = TestKey::ec("unused").without_kid();
    let server = JwksServer::start(&[&key]).await;
    let app = ready_app_for(&server, &[]).await;
    list_with(&app, &key.sign(&claims("alice")))
        .await
        .assert_status(200);
    // A token naming a kid the set does not have is still refused.
    let named = key.sign_as(Algorithm::ES256, Some("k"), &claims("alice"));
    list_with(&app, &named)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_token_signed_with_a_new_key_is_accepted_after_one_refetch_for_its_kid() {
    let (old, new) = (TestKey::rsa("2026-11"), TestKey::ed25519("2026-12"));
    let server = JwksServer::start(&[&old]).await;
    let app = ready_app_for(&server, &[]).await;
    assert_eq!(server.fetches(), 1);
    // The provider rotates: the new key is published; the refresh is ten minutes away.
    server.publish(&[&old, &new]);
    list_with(&app, &new.sign(&claims("alice")))
        .await
        .assert_status(200);
    assert_eq!(server.fetches(), 2, "one refetch for the unknown kid");
    list_with(&app, &new.sign(&claims("bob")))
        .await
        .assert_status(200);
    list_with(&app, &old.sign(&claims("carol")))
        .await
        .assert_status(200);
    assert_eq!(server.fetches(), 2, "known kids need no fetch");
}

#[tokio::test]
async fn a_burst_of_unknown_kids_causes_one_fetch_per_thirty_seconds() {
    let key = TestKey::rsa("rsa-1");
    let server = JwksServer::start(&[&key]).await;
    let app = ready_app_for(&server, &[]).await;
    assert_eq!(server.fetches(), 1);
    let tokens: Vec<String> = (0..20)
        .map(|i| {
            key.sign_as(
                Algorithm::RS256,
                Some(&format!("unknown-{i}")),
                &claims("eve"),
            )
        })
        .collect();
    let responses = futures_util::future::join_all(tokens.iter().map(|t| list_with(&app, t))).await;
    for resp in responses {
        resp.assert_error(401, "UNAUTHORIZED");
    }
    assert_eq!(
        server.fetches(),
        2,
        "twenty unknown kids at once, one refetch"
    );
    // Within the 30 s window even a genuinely new key waits for the next refresh.
    let late = TestKey::ec("late");
    server.publish(&[&key, &late]);
    list_with(&app, &late.sign(&claims("alice")))
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(server.fetches(), 2);
    list_with(&app, &key.sign(&claims("alice")))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_removed_key_is_refused_after_the_periodic_refresh() {
    let (old, new) = (TestKey::rsa("old"), TestKey::ec("new"));
    let server = JwksServer::start(&[&old, &new]).await;
    let app = ready_app_for(&server, &[("JWT_JWKS_REFRESH", "1s")]).await;
    let old_token = old.sign(&claims("alice"));
    list_with(&app, &old_token).await.assert_status(200);
    server.publish(&[&new]);
    wait_for(DEADLINE, "the old key to be dropped", || async {
        (list_with(&app, &old_token).await.status == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    list_with(&app, &new.sign(&claims("alice")))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_set() {
    let key = TestKey::ed25519("ed-1");
    let server = JwksServer::start(&[&key]).await;
    let app = ready_app_for(&server, &[("JWT_JWKS_REFRESH", "1s")]).await;
    let token = key.sign(&claims("alice"));
    // An error status, a body that is no key set, and a set without a usable key all fail.
    for failure in [
        None,
        Some(json!({ "keys": "none" })),
        Some(json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] })),
    ] {
        match failure {
            None => server.fail_with(StatusCode::INTERNAL_SERVER_ERROR),
            Some(body) => server.publish_raw(body),
        }
        let seen = server.fetches();
        server.wait_for_fetches(seen + 2, DEADLINE).await;
        list_with(&app, &token).await.assert_status(200);
        app.get("/readyz").send().await.assert_status(200);
    }
}

#[tokio::test]
async fn an_identity_provider_down_at_start_gives_503_until_its_keys_arrive() {
    let key = TestKey::rsa("rsa-1");
    let server = JwksServer::start(&[&key]).await;
    server.fail_with(StatusCode::SERVICE_UNAVAILABLE);
    let app = app_for(&server, &[]).await;
    server.wait_for_fetches(1, DEADLINE).await;
    let token = key.sign(&claims("alice"));
    app.get("/readyz")
        .send()
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    list_with(&app, &token)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    app.get("/healthz").send().await.assert_status(200);
    // Retried in the background, with backoff, until the provider answers.
    server.wait_for_fetches(2, DEADLINE).await;
    server.publish(&[&key]);
    wait_for(DEADLINE, "readiness once the keys arrive", || async {
        (app.get("/readyz").send().await.status == StatusCode::OK).then_some(())
    })
    .await;
    list_with(&app, &token).await.assert_status(200);
}

#[tokio::test]
async fn the_served_application_fetches_its_keys_and_stops_refreshing_with_the_server() {
    let key = TestKey::ec("ec-1");
    let server = JwksServer::start(&[&key]).await;
    let (url, _guard) = fresh_database().await;
    let jwks_url = server.url();
    let config = test_config(
        &url,
        &[
            ("BIND_ADDR", "127.0.0.1:0"),
            ("JWT_SECRET", ""),
            ("JWT_JWKS_URL", &jwks_url),
            ("JWT_JWKS_REFRESH", "1s"),
        ],
    );
    assert!(!config.is_development());
    let app = Application::build(&config).await.expect("build");
    let addr = app.local_addr().expect("bound address");
    let cache = app
        .state()
        .verifier
        .jwks()
        .cloned()
        .expect("keys from JWT_JWKS_URL");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    wait_for(DEADLINE, "readiness over TCP", || async {
        let resp = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .ok()?;
        (resp.status() == 200).then_some(())
    })
    .await;
    let resp = client
        .get(format!("http://{addr}/api/v1/invitations"))
        .bearer_auth(key.sign(&claims("alice")))
        .header("x-org-id", Uuid::now_v7().to_string())
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), 200);

    stop.send(()).expect("signal stop");
    tokio::time::timeout(DEADLINE, served)
        .await
        .expect("stops in time")
        .expect("join")
        .expect("clean shutdown");
    // The refresher (which holds the cache while it runs) has ended with the server.
    assert_eq!(
        std::sync::Arc::strong_count(&cache),
        1,
        "refresher still running"
    );
}
