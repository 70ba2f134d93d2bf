//! The real process: SIGTERM ends `serve` within a bounded time whatever SMTP does.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::json;
use voke_invitations::entity::email_outbox::OutboxStatus;

use crate::{
    helpers::{TEST_SECRET, spawn_app},
    smtp_server::{Behaviour, SmtpServer},
    worker_support::wait_for,
};

/// Kills the child however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` and returns it with the address it listens on. Its log is drained on a
/// thread so the child never blocks on a full pipe.
fn serve(env: &[(&str, &str)]) -> (Running, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voke-invitations"));
    cmd.arg("serve")
        .env_clear()
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = Running(cmd.spawn().expect("start serve"));
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Swagger UI at http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve prints its address");
    (child, addr)
}

/// Waits up to `limit` for the child to exit; how long it took, or `None`.
fn exited_within(child: &mut Running, limit: Duration) -> Option<(Duration, bool)> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            return Some((started.elapsed(), status.success()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Queues three invitations through the API of a running `serve` sending through a server
/// that behaves as `behaviour`, sends SIGTERM once a delivery is under way, and checks the
/// process exits cleanly within 10 s leaving nothing marked sent that did not arrive.
async fn sigterm_during_delivery(behaviour: Behaviour) {
    let app = spawn_app().await;
    let smtp = SmtpServer::start(behaviour).await;
    let admin = app.admin().await;
    let smtp_url = smtp.url();
    let (mut child, addr) = serve(&[
        ("DATABASE_URL", app.database_url.as_str()),
        ("JWT_SECRET", TEST_SECRET),
        ("SMTP_URL", smtp_url.as_str()),
    ]);
    let client = reqwest::Client::new();
    for i in 0..3 {
        let resp = client
            .post(format!("http://{addr}/api/v1/invitations"))
            .bearer_auth(&admin.token)
            .header("x-org-id", admin.org.to_string())
            .json(&json!({ "email": format!("term{i}@example.com") }))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 201);
    }
    wait_for(Duration::from_secs(15), "a send under way", || async {
        (smtp.connections() >= 1).then_some(())
    })
    .await;

    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.expect("run kill").success());
    let exit = tokio::task::block_in_place(|| exited_within(&mut child, Duration::from_secs(10)));
    let (took, success) = exit.expect("serve exits within 10 s of SIGTERM");
    eprintln!("serve ({behaviour:?}) exited {took:?} after SIGTERM");
    assert!(success, "a clean exit");

    let rows = app.outbox().await;
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 0));
        assert_eq!(row.locked_until, None, "released for the next start");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exits_within_ten_seconds_of_sigterm_while_the_smtp_server_never_answers() {
    sigterm_during_delivery(Behaviour::Blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exits_within_ten_seconds_of_sigterm_while_the_smtp_server_takes_a_second_per_reply()
{
    sigterm_during_delivery(Behaviour::Slow(Duration::from_secs(1))).await;
}
