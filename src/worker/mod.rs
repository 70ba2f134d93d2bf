//! Background work started by `serve`: delivering the email outbox and rewriting expired
//! invitations. Both are safe to run in several instances against one database.
//!
//! Every send has a deadline, and the message's lease is renewed (conditionally on still
//! holding it) right before the send, so a send never outlives its lease and a message another
//! instance took over is skipped. The stop signal is checked between messages and abandons the
//! sends in flight; whatever the worker still holds is then released for the next instance.
//!
//! The worker wakes when a message is queued (in process, and through PostgreSQL `NOTIFY`
//! from other instances, see [`listen`]) and polls as a fallback. A pass keeps up to
//! `concurrency` messages in flight over pooled SMTP connections (fewer while the HTTP server
//! is busy, see [`Busy`]), and claims again at once while it keeps finding full batches.

use std::{future::Future, sync::atomic::AtomicUsize};

use chrono::SecondsFormat;
use futures_util::{StreamExt, stream};
use sea_orm::{ActiveEnum, DatabaseBackend, DatabaseConnection, DbErr};
use tokio::sync::watch;
use uuid::Uuid;

mod busy;
pub mod listen;
mod report;
pub mod webhooks;

pub use busy::Busy;
use report::Outcome;
pub use report::{DeliveryReport, WorkerConfig, WorkerError};
pub use webhooks::{WebhookConfig, WebhookReport, WebhookWorker};

use crate::{
    entity::{InvitationStatus, email_outbox, invitation},
    mail::{InvitationEmail, Mailer},
    service::{
        idempotency,
        invitations::InvitationService,
        now,
        outbox::{self, Claimed},
        write_lock::write_permit,
    },
};

/// Delivers queued invitation emails.
#[derive(Clone, Debug)]
pub struct Worker {
    db: DatabaseConnection,
    mailer: Mailer,
    accept_url: String,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(
        db: DatabaseConnection,
        mailer: Mailer,
        accept_url: String,
        mut config: WorkerConfig,
    ) -> Self {
        config.lease = config.lease.max(config.send_timeout.saturating_mul(2));
        Self {
            db,
            mailer,
            accept_url,
            config,
        }
    }

    /// Claims the due messages and tries each once.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, WorkerError> {
        let (_never_stops, stop) = watch::channel(false);
        self.deliver_due_until(&stop).await
    }

    /// Like [`Worker::deliver_due`], but returns as soon as `stop` turns true, abandoning the
    /// sends in flight and releasing every message not yet delivered.
    pub async fn deliver_due_until(
        &self,
        stop: &watch::Receiver<bool>,
    ) -> Result<DeliveryReport, WorkerError> {
        let (batch, lease) = (self.config.batch, self.config.lease);
        let claim = self.db_call(outbox::claim(&self.db, batch, lease)).await?;
        let mut report = DeliveryReport::default();
        let owner = claim.owner;
        let sending = &AtomicUsize::new(0);
        let mut outcomes = stream::iter(claim.messages)
            .map(|claimed| async move {
                let Some(_slot) = busy::slot(self.config.busy.as_ref(), sending, stop).await else {
                    return Ok(Outcome::Stopped);
                };
                self.deliver_one(owner, &claimed, stop).await
            })
            .buffer_unordered(self.config.concurrency.max(1));
        while let Some(outcome) = outcomes.next().await {
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(e) => {
                    drop(outcomes);
                    self.release(owner).await;
                    return Err(e);
                }
            };
            if report.record(outcome) {
                drop(outcomes);
                report.released = self.release(owner).await;
                break;
            }
        }
        Ok(report)
    }

    /// One message: checks it is still wanted and still ours, then sends it within the
    /// deadline (or until told to stop) and records the result if it is still ours.
    async fn deliver_one(
        &self,
        owner: Uuid,
        claimed: &Claimed,
        stop: &watch::Receiver<bool>,
    ) -> Result<Outcome, WorkerError> {
        if *stop.borrow() {
            return Ok(Outcome::Stopped);
        }
        let message = &claimed.message;
        let Some((email, invitation)) = self.prepare(claimed).await? else {
            return Ok(Outcome::Cancelled);
        };
        let lease = self.config.lease;
        if !self
            .db_call(outbox::renew(&self.db, message.id, owner, lease))
            .await?
        {
            tracing::info!(message = %message.id, "claim lost before sending; skipped");
            return Ok(Outcome::Lost);
        }
        let sent = tokio::select! {
            biased;
            () = stopped(stop) => return Ok(Outcome::Stopped),
            sent = self.mailer.send(&email, self.config.send_timeout) => sent,
        };
        match sent {
            Ok(()) => self.record_sent(owner, message, invitation).await,
            Err(error) => {
                let error = error.to_string();
                self.record_failure(owner, message, invitation, &error)
                    .await
            }
        }
    }

    /// The email for a message and its invitation (as read with the claim), or `None` (after
    /// cancelling it) when it is no longer wanted.
    async fn prepare<'c>(
        &self,
        claimed: &'c Claimed,
    ) -> Result<Option<(InvitationEmail, &'c invitation::Model)>, WorkerError> {
        let message = &claimed.message;
        let live = claimed
            .invitation
            .as_ref()
            .filter(|i| i.status == InvitationStatus::Pending && i.expires_at > now());
        let (Some(invitation), Some(token)) = (live, message.token.as_deref()) else {
            let cancel = async {
                let _permit = write_permit(&self.db).await?;
                outbox::cancel_pending(&self.db, message.invitation_id).await
            };
            self.db_call(cancel).await?;
            return Ok(None);
        };
        let email = InvitationEmail {
            to: message.recipient.clone(),
            organization_id: invitation.organization_id.to_string(),
            role: invitation.role.to_value(),
            invited_by: invitation.invited_by.clone(),
            expires_at: invitation
                .expires_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            link: accept_link(&self.accept_url, token),
        };
        Ok(Some((email, invitation)))
    }

    async fn record_sent(
        &self,
        owner: Uuid,
        message: &email_outbox::Model,
        invitation: &invitation::Model,
    ) -> Result<Outcome, WorkerError> {
        if self
            .db_call(outbox::mark_sent(&self.db, message, invitation, owner))
            .await?
        {
            tracing::info!(message = %message.id, invitation = %message.invitation_id, "invitation email sent");
            Ok(Outcome::Sent)
        } else {
            // Only possible if the send outlived the lease (clock skew between instances).
            tracing::warn!(message = %message.id, "invitation email sent after its claim was lost; it may arrive twice");
            Ok(Outcome::Lost)
        }
    }

    async fn record_failure(
        &self,
        owner: Uuid,
        message: &email_outbox::Model,
        invitation: &invitation::Model,
        error: &str,
    ) -> Result<Outcome, WorkerError> {
        let backoff = outbox::backoff(self.config.base_backoff, message.attempts);
        let max = self.config.max_attempts;
        let mark = outbox::mark_failed(&self.db, message, invitation, owner, error, backoff, max);
        let Some(failure) = self.db_call(mark).await? else {
            return Ok(Outcome::Lost);
        };
        tracing::warn!(message = %message.id, attempts = failure.attempts, %error, "invitation email not delivered");
        Ok(if failure.gave_up {
            Outcome::Failed
        } else {
            Outcome::Retrying
        })
    }

    /// Best effort: a message not released is taken over when its lease runs out.
    async fn release(&self, owner: Uuid) -> usize {
        match self.db_call(outbox::release(&self.db, owner)).await {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(e) => {
                tracing::warn!(error = %e, "could not release claimed messages; their lease will run out");
                0
            }
        }
    }

    /// Runs one outbox statement under the database deadline.
    async fn db_call<T>(
        &self,
        query: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<T, WorkerError> {
        timed(self.config.db_timeout, query).await
    }

    /// Runs until `stop` turns true: delivery when woken (a message was queued here, or on
    /// PostgreSQL anywhere) and every poll interval, expiry sweeps periodically.
    pub async fn run(self, invitations: InvitationService, mut stop: watch::Receiver<bool>) {
        // PostgreSQL: woken by NOTIFY from any instance, this one included; SQLite: in memory.
        let (notified, heard) = watch::channel(0);
        let mut woken = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => heard,
            _ => outbox::wakeups(),
        };
        let listener = tokio::spawn(listen::run(self.db.clone(), notified, stop.clone()));
        let mut poll = tokio::time::interval(self.config.poll_interval);
        let mut expiry = tokio::time::interval(self.config.expiry_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wake_ok = true;
        while !*stop.borrow() {
            tokio::select! {
                _ = stop.changed() => break,
                changed = woken.changed(), if wake_ok => {
                    wake_ok = changed.is_ok();
                    self.deliver_while_busy(&stop).await;
                }
                _ = poll.tick() => self.deliver_while_busy(&stop).await,
                _ = expiry.tick() => self.sweep(&invitations, &stop).await,
            }
        }
        // It stops on the same signal; bounded so a stuck connect cannot hold shutdown.
        let _ = tokio::time::timeout(self.config.db_timeout, listener).await;
        tracing::info!("background worker stopped");
    }

    /// Delivery passes back to back while each finds a full batch (a backlog), then returns.
    async fn deliver_while_busy(&self, stop: &watch::Receiver<bool>) {
        let batch = usize::try_from(self.config.batch).unwrap_or(usize::MAX);
        while !*stop.borrow() {
            match self.deliver_due_until(stop).await {
                Ok(report) if report.handled() >= batch => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed; will retry");
                    break;
                }
            }
        }
    }

    async fn sweep(&self, invitations: &InvitationService, stop: &watch::Receiver<bool>) {
        let deadline = self.config.db_timeout;
        let swept = tokio::select! {
            () = stopped(stop) => return,
            swept = tokio::time::timeout(deadline, invitations.expire_due()) => swept,
        };
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(expired = n, "expired pending invitations"),
            Ok(Err(e)) => tracing::warn!(error = %e, "expiry sweep failed; will retry"),
            Err(_) => tracing::warn!(?deadline, "expiry sweep timed out; will retry"),
        }
        // Idempotency keys past their 24 hours (§10.5).
        let purged = tokio::select! {
            () = stopped(stop) => return,
            purged = tokio::time::timeout(deadline, idempotency::purge(&self.db)) => purged,
        };
        match purged {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(purged = n, "purged expired idempotency keys"),
            Ok(Err(e)) => tracing::warn!(error = %e, "idempotency purge failed; will retry"),
            Err(_) => tracing::warn!(?deadline, "idempotency purge timed out; will retry"),
        }
    }
}

/// Runs one statement under `deadline`.
async fn timed<T>(
    deadline: std::time::Duration,
    query: impl Future<Output = Result<T, DbErr>>,
) -> Result<T, WorkerError> {
    tokio::time::timeout(deadline, query)
        .await
        .map_err(|_| WorkerError::DbTimeout(deadline))?
        .map_err(WorkerError::from)
}

/// Resolves once `stop` is true, or its sender is gone (nobody is left to say "go on").
async fn stopped(stop: &watch::Receiver<bool>) {
    let _ = stop.clone().wait_for(|stopped| *stopped).await;
}

/// `{INVITE_ACCEPT_URL}?token={token}` (or `&token=` when the URL already has a query).
pub fn accept_link(base: &str, token: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}token={token}")
}
