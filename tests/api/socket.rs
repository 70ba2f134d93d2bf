//! One test over a real TCP socket, with graceful shutdown.

use voke_invitations::startup::Application;

use crate::helpers::{TEST_SECRET, fresh_database, test_config};

#[tokio::test]
async fn the_server_answers_over_tcp_and_shuts_down_gracefully() {
    // A database of its own (on PostgreSQL too), dropped when the guard goes.
    let (url, _guard) = fresh_database().await;
    let config = test_config(
        &url,
        &[("BIND_ADDR", "127.0.0.1:0"), ("JWT_SECRET", TEST_SECRET)],
    );
    let app = Application::build(&config).await.expect("build");
    let addr = app.local_addr().expect("bound address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let resp = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status(), 200);
    let resp = client
        .get(format!("http://{addr}/api/v1/invitations"))
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "UNAUTHORIZED");
    let resp = client
        .get(format!("http://{addr}/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(resp.status(), 200);

    stop.send(()).expect("signal stop");
    server.await.expect("join").expect("clean shutdown");
    assert!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err()
    );
}
