//! Rate limits (§9.1): each bucket limits, answers 429 with `Retry-After` and the IETF headers,
//! and recovers; anonymous callers never spend an organization's budget; `X-Forwarded-For`
//! counts only from a trusted proxy.

use std::time::Duration;

use serde_json::json;
use voke_invitations::startup::Application;

use crate::helpers::{Resp, fresh_database, spawn_app_with, test_config};

fn retry_after(resp: &Resp) -> u64 {
    resp.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds")
}

fn header(resp: &Resp, name: &str) -> String {
    resp.headers
        .get(name)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default()
}

fn assert_limited(resp: &Resp, bucket: &str) {
    resp.assert_error(429, "TOO_MANY_REQUESTS");
    assert!(retry_after(resp) >= 1);
    assert!(
        header(resp, "ratelimit").contains(&format!("\"{bucket}\";r=0;")),
        "{:?}",
        resp.headers
    );
}

#[tokio::test]
async fn the_caller_bucket_limits_says_where_it_stands_and_recovers() {
    let app = spawn_app_with(&[("RATE_LIMIT_CALLER", "60")]).await;
    let admin = app.admin().await;
    let first = app
        .get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await;
    first.assert_status(200);
    assert_eq!(header(&first, "ratelimit-policy"), "\"caller\";q=60;w=60");
    assert!(
        header(&first, "ratelimit").starts_with("\"caller\";r=59;t="),
        "{:?}",
        first.headers
    );
    let mut last = first;
    for _ in 0..300 {
        last = app
            .get("/api/v1/invitations")
            .acting_as(&admin)
            .send()
            .await;
        if last.status == 429 {
            break;
        }
    }
    assert_limited(&last, "caller");
    // Another caller has a budget of their own.
    let other = app.admin().await;
    app.get("/api/v1/invitations")
        .acting_as(&other)
        .send()
        .await
        .assert_status(200);
    tokio::time::sleep(Duration::from_secs(retry_after(&last))).await;
    app.get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_writes_bucket_is_per_organization_and_anonymous_calls_never_spend_it() {
    let app = spawn_app_with(&[("RATE_LIMIT_WRITES", "60")]).await;
    let admin = app.admin().await;
    for i in 0..100 {
        let resp = app
            .post("/api/v1/invitations")
            .header("x-org-id", &admin.org.to_string())
            .json(json!({ "email": format!("anon{i}@example.com") }))
            .send()
            .await;
        resp.assert_error(401, "UNAUTHORIZED");
    }
    // The bucket refills one request a second while the loop runs, so go on until it is spent.
    let mut last = None;
    for i in 0..300 {
        let resp = app
            .post("/api/v1/invitations")
            .acting_as(&admin)
            .json(json!({ "email": format!("w{i}@example.com") }))
            .send()
            .await;
        if i == 0 {
            resp.assert_status(201);
            assert!(
                header(&resp, "ratelimit").contains("\"writes\";r=59;"),
                "{:?}",
                resp.headers
            );
        }
        let limited = resp.status == 429;
        last = Some(resp);
        if limited {
            assert!(i >= 60, "limited after {i} writes");
            break;
        }
    }
    let last = last.expect("responses");
    assert_limited(&last, "writes");
    // Reads are not writes, and another organization writes on its own budget.
    app.get("/api/v1/invitations")
        .acting_as(&admin)
        .send()
        .await
        .assert_status(200);
    let other = app.admin().await;
    app.invite(&other, "elsewhere@example.com", None).await;
}

#[tokio::test]
async fn the_public_bucket_limits_token_lookups_and_off_turns_every_limit_off() {
    let app = spawn_app_with(&[("RATE_LIMIT_PUBLIC", "60")]).await;
    // The bucket refills one request a second while the loop runs (a slow machine takes more
    // than a second for 61 lookups), so go on until it is spent.
    let mut last = None;
    for i in 0..300 {
        let resp = app
            .get("/api/v1/invitations/lookup?token=not-a-real-token")
            .send()
            .await;
        let limited = resp.status == 429;
        if !limited {
            resp.assert_error(404, "INVITATION_NOT_FOUND");
        }
        last = Some(resp);
        if limited {
            assert!(i >= 60, "limited after {i} lookups");
            break;
        }
    }
    assert_limited(&last.expect("responses"), "public");

    let off = spawn_app_with(&[("RATE_LIMITS", "off"), ("RATE_LIMIT_PUBLIC", "1")]).await;
    for _ in 0..5 {
        let resp = off.get("/api/v1/invitations/lookup?token=x").send().await;
        resp.assert_error(404, "INVITATION_NOT_FOUND");
        assert!(resp.headers.get("ratelimit").is_none());
    }
}

/// A server on a real socket (so the peer address is 127.0.0.1).
async fn served(extra: &[(&str, &str)]) -> (std::net::SocketAddr, crate::helpers::DbGuard) {
    let (url, guard) = fresh_database().await;
    let mut vars = vec![("BIND_ADDR", "127.0.0.1:0"), ("RATE_LIMIT_PUBLIC", "2")];
    vars.extend_from_slice(extra);
    let app = Application::build(&test_config(&url, &vars))
        .await
        .expect("build");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (addr, guard)
}

async fn lookup_from(addr: std::net::SocketAddr, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/invitations/lookup?token=abc"))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("lookup")
        .status()
        .as_u16()
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let (trusting, _g1) = served(&[("TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8")]).await;
    // The client is the right-most address that is not itself a trusted proxy.
    assert_eq!(lookup_from(trusting, "203.0.113.1, 10.1.1.1").await, 404);
    assert_eq!(lookup_from(trusting, "203.0.113.1").await, 404);
    assert_eq!(
        lookup_from(trusting, "198.51.100.7, 203.0.113.1").await,
        429
    );
    assert_eq!(lookup_from(trusting, "203.0.113.2").await, 404);

    let (untrusting, _g2) = served(&[]).await;
    assert_eq!(lookup_from(untrusting, "203.0.113.1").await, 404);
    assert_eq!(lookup_from(untrusting, "203.0.113.2").await, 404);
    // Whatever it claims, a peer that is not a trusted proxy is the client.
    assert_eq!(lookup_from(untrusting, "203.0.113.3").await, 429);
}
