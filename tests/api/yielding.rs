//! The email worker yields to requests: while the HTTP server has many requests in flight, a
//! pass keeps few messages in flight, and all of them again once the requests let up. The
//! server counts a request from its arrival until it is answered or abandoned.

use std::time::Duration;

use tokio::{io::AsyncWriteExt, net::TcpStream};
use voke_invitations::{
    load::Load,
    startup::Application,
    worker::{Busy, WorkerConfig},
};

use crate::{
    helpers::{fresh_database, spawn_app, test_config},
    smtp_server::{Behaviour, SmtpServer},
    worker_support::{quick_config, wait_for, worker_with},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_requests_crowd_the_server_a_pass_keeps_few_messages_in_flight() {
    let app = spawn_app().await;
    // Every reply waits 50 ms, so a message is in flight for a good 200 ms and the ones a
    // pass starts together overlap.
    let smtp = SmtpServer::start(Behaviour::Slow(Duration::from_millis(50))).await;
    let admin = app.admin().await;
    let load = Load::default();
    let config = WorkerConfig {
        concurrency: 8,
        busy: Some(Busy {
            load: load.clone(),
            requests: 3,
            concurrency: 2,
        }),
        ..quick_config(Duration::from_secs(10))
    };
    let worker = worker_with(&app, &smtp.url(), config);

    // Two requests in flight: not busy yet.
    let mut requests: Vec<_> = (0..2).map(|_| load.enter()).collect();
    for i in 0..8 {
        app.invite(&admin, &format!("calm{i}@example.com"), None)
            .await;
    }
    let report = worker.deliver_due().await.expect("pass");
    assert_eq!(report.sent, 8, "{report:?}");
    let calm = smtp.take_most_in_flight();
    assert!(calm > 2, "only {calm} in flight with the server not busy");

    // A third: busy, at most two messages in flight, and every message still goes out.
    requests.push(load.enter());
    for i in 0..8 {
        app.invite(&admin, &format!("busy{i}@example.com"), None)
            .await;
    }
    let report = worker.deliver_due().await.expect("pass");
    assert_eq!(report.sent, 8, "{report:?}");
    assert_eq!(smtp.take_most_in_flight(), 2);

    // The requests end in the middle of a pass: the messages held back start at once.
    for i in 0..8 {
        app.invite(&admin, &format!("after{i}@example.com"), None)
            .await;
    }
    let pass = tokio::spawn(async move { worker.deliver_due().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(requests);
    let report = pass.await.expect("no panic").expect("pass");
    assert_eq!(report.sent, 8, "{report:?}");
    let after = smtp.take_most_in_flight();
    assert!(after > 2, "only {after} in flight once the requests ended");
}

#[tokio::test]
async fn the_server_counts_a_request_until_it_is_answered_or_abandoned() {
    let (url, _guard) = fresh_database().await;
    let app = Application::build(&test_config(&url, &[("BIND_ADDR", "127.0.0.1:0")]))
        .await
        .expect("build");
    let addr = app.local_addr().expect("bound");
    let load = app.state().load.clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    assert_eq!(load.in_flight(), 0);

    // A request whose body never finishes arriving is in flight...
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"POST /api/v1/invitations HTTP/1.1\r\nHost: test\r\n\
          Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"email\":",
    )
    .await
    .expect("write");
    wait_for(Duration::from_secs(5), "the request counted", || async {
        (load.in_flight() == 1).then_some(())
    })
    .await;
    // ...alongside one that is answered and then no longer counts...
    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(resp.status(), 200);
    assert_eq!(load.in_flight(), 1);
    // ...until its client hangs up.
    drop(slow);
    wait_for(
        Duration::from_secs(5),
        "the abandoned request forgotten",
        || async { (load.in_flight() == 0).then_some(()) },
    )
    .await;
}
