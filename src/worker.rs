//! Background work started by `serve`: delivering the email outbox and rewriting expired
//! invitations. Both are safe to run in several instances against one database.

use std::time::Duration;

use chrono::SecondsFormat;
use sea_orm::{ActiveEnum, DatabaseConnection, DbErr, EntityTrait};
use tokio::sync::watch;

use crate::{
    entity::{InvitationStatus, email_outbox::OutboxStatus, invitation},
    mail::{InvitationEmail, Mailer},
    service::{invitations::InvitationService, now, outbox},
};

/// Tuning of the worker; [`WorkerConfig::default`] is what `serve` uses.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// How often to look for due messages.
    pub poll_interval: Duration,
    /// How long a claimed message is reserved for one instance.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: u64,
    /// First retry delay; doubles with every failed attempt (capped at an hour).
    pub base_backoff: Duration,
    /// Attempts before a message is marked `FAILED`.
    pub max_attempts: i32,
    /// How often to rewrite expired invitations.
    pub expiry_interval: Duration,
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
        }
    }
}

/// What one delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub cancelled: usize,
}

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
        config: WorkerConfig,
    ) -> Self {
        Self {
            db,
            mailer,
            accept_url,
            config,
        }
    }

    /// Claims the due messages and tries each once.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, DbErr> {
        let mut report = DeliveryReport::default();
        let claimed = outbox::claim(&self.db, self.config.batch, self.config.lease).await?;
        for message in claimed {
            let invitation = invitation::Entity::find_by_id(message.invitation_id)
                .one(&self.db)
                .await?;
            let (Some(invitation), Some(token)) = (invitation, message.token.as_deref()) else {
                outbox::cancel_pending(&self.db, message.invitation_id).await?;
                report.cancelled += 1;
                continue;
            };
            if invitation.status != InvitationStatus::Pending || invitation.expires_at <= now() {
                outbox::cancel_pending(&self.db, invitation.id).await?;
                report.cancelled += 1;
                continue;
            }
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
            match self.mailer.send(&email).await {
                Ok(()) => {
                    outbox::mark_sent(&self.db, &message).await?;
                    tracing::info!(message = %message.id, invitation = %invitation.id, "invitation email sent");
                    report.sent += 1;
                }
                Err(error) => {
                    let backoff = outbox::backoff(self.config.base_backoff, message.attempts);
                    let status = outbox::mark_failed(
                        &self.db,
                        &message,
                        &error,
                        backoff,
                        self.config.max_attempts,
                    )
                    .await?;
                    tracing::warn!(message = %message.id, attempts = message.attempts + 1, %error, "invitation email not delivered");
                    if status == OutboxStatus::Failed {
                        report.failed += 1;
                    } else {
                        report.retrying += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Runs until `stop` turns true: delivery every poll interval, expiry sweeps periodically.
    pub async fn run(self, invitations: InvitationService, mut stop: watch::Receiver<bool>) {
        let mut poll = tokio::time::interval(self.config.poll_interval);
        let mut expiry = tokio::time::interval(self.config.expiry_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = poll.tick() => {
                    if let Err(e) = self.deliver_due().await {
                        tracing::warn!(error = %e, "outbox pass failed; will retry");
                    }
                }
                _ = expiry.tick() => {
                    match invitations.expire_due().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(expired = n, "expired pending invitations"),
                        Err(e) => tracing::warn!(error = %e, "expiry sweep failed; will retry"),
                    }
                }
            }
            if *stop.borrow() {
                break;
            }
        }
        tracing::info!("background worker stopped");
    }
}

/// `{INVITE_ACCEPT_URL}?token={token}` (or `&token=` when the URL already has a query).
pub fn accept_link(base: &str, token: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}token={token}")
}
