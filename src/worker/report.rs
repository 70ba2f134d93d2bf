//! The worker's tuning, its errors, and what one delivery pass did.

use std::time::Duration;

use sea_orm::DbErr;

use super::Busy;
use crate::{load::Load, mail};

/// Tuning of the worker. [`WorkerConfig::default`] sends one message at a time;
/// [`WorkerConfig::serving`] is what `serve` uses.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How often to look for due messages.
    pub poll_interval: Duration,
    /// How long a claimed message is reserved for one instance; renewed right before each
    /// send. Raised to twice `send_timeout` if shorter, so a send always ends inside its lease.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: u64,
    /// First retry delay; doubles with every failed attempt (capped at an hour).
    pub base_backoff: Duration,
    /// Attempts before a message is marked `FAILED`.
    pub max_attempts: i32,
    /// How often to rewrite expired invitations.
    pub expiry_interval: Duration,
    /// Deadline for one whole SMTP delivery; a send that runs past it is a failed attempt.
    pub send_timeout: Duration,
    /// Deadline for each database statement the worker runs.
    pub db_timeout: Duration,
    /// Messages of a pass in flight at once (each on its own SMTP connection).
    pub concurrency: usize,
    /// Fewer messages in flight while the HTTP server is busy; `None`: never.
    pub busy: Option<Busy>,
}

impl WorkerConfig {
    /// What `serve` uses: large batches, many messages in flight, and few of them while this
    /// instance serves 16 requests or more at once.
    pub fn serving(load: Load) -> Self {
        Self {
            batch: 256,
            concurrency: 32,
            busy: Some(Busy {
                load,
                requests: 16,
                concurrency: 4,
            }),
            ..Self::default()
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(120),
            batch: 20,
            base_backoff: Duration::from_secs(10),
            max_attempts: 8,
            expiry_interval: Duration::from_secs(60),
            send_timeout: mail::SEND_TIMEOUT,
            db_timeout: Duration::from_secs(10),
            concurrency: 1,
            busy: None,
        }
    }
}

/// Why a delivery pass stopped early. Only the worker's own failures: the pass is retried.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("outbox database error: {0}")]
    Db(#[from] DbErr),
    #[error("outbox database statement did not finish within {0:?}")]
    DbTimeout(Duration),
}

/// What one delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// Claimed, but taken over by another instance (or cancelled) before the send: skipped.
    pub lost: usize,
    /// Handed back unsent because the worker was told to stop.
    pub released: usize,
}

/// What happened to one claimed message.
pub(super) enum Outcome {
    Sent,
    Retrying,
    Failed,
    Cancelled,
    Lost,
    Stopped,
}

impl DeliveryReport {
    /// Messages of the pass that are settled one way or another (not released).
    pub fn handled(&self) -> usize {
        self.sent + self.retrying + self.failed + self.cancelled + self.lost
    }

    /// Counts one outcome; `true` when the pass must stop.
    pub(super) fn record(&mut self, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Sent => {
                self.sent += 1;
                crate::metrics::record_email("sent");
            }
            Outcome::Retrying => {
                self.retrying += 1;
                crate::metrics::record_email("retrying");
            }
            Outcome::Failed => {
                self.failed += 1;
                crate::metrics::record_email("failed");
            }
            Outcome::Cancelled => self.cancelled += 1,
            Outcome::Lost => self.lost += 1,
            Outcome::Stopped => return true,
        }
        false
    }
}
