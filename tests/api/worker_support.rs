//! Driving delivery workers in tests: a worker with chosen tuning, and waiting for a condition
//! with a deadline instead of sleeping.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use voke_invitations::{
    config::{MailConfig, Secret},
    mail::Mailer,
    worker::{Worker, WorkerConfig},
};

use crate::helpers::TestApp;

/// A worker for `app`'s database sending through `smtp_url` with `config`.
pub fn worker_with(app: &TestApp, smtp_url: &str, config: WorkerConfig) -> Worker {
    worker_on(app.db.clone(), smtp_url, config)
}

/// A worker on the pool `db` sending through `smtp_url` with `config`.
pub fn worker_on(db: DatabaseConnection, smtp_url: &str, config: WorkerConfig) -> Worker {
    let accept_url = "https://app.voke.example/auth/accept-invite";
    let mailer = Mailer::from_config(&MailConfig {
        smtp_url: Some(Secret::new(smtp_url)),
        mode: None,
        from: "Voke <no-reply@voke.example>".into(),
        accept_url: accept_url.into(),
    })
    .expect("mailer");
    Worker::new(db, mailer, accept_url.into(), config)
}

/// Tuning for tests: frequent polls, retries at once, and the given send deadline.
pub fn quick_config(send_timeout: Duration) -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(50),
        base_backoff: Duration::ZERO,
        send_timeout,
        ..WorkerConfig::default()
    }
}

/// Polls `probe` every 20 ms until it yields a value; panics naming `what` after `deadline`.
pub async fn wait_for<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
