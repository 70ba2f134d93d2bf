//! Delivering the webhook outbox (§10.7): each claimed delivery is its own task, so a slow or
//! dead receiver holds only its own attempts (at most [`WebhookConfig::per_endpoint`] at a
//! time) and never the API, the email worker or other receivers. Every attempt is signed per
//! Standard Webhooks, has a 10-second deadline, follows no redirects and connects only to
//! addresses the URL policy allows, re-checked at delivery time.

use std::{collections::HashMap, time::Duration};

use chrono::Utc;
use tokio::{sync::watch, task::JoinSet};
use url::{Host, Url};
use uuid::Uuid;

use super::WorkerError;
use crate::{
    entity::webhook_delivery::WebhookDeliveryStatus as Status,
    service::{
        events,
        webhooks::{
            UrlPolicy, address,
            outbox::{self, Attempt, Job, RetryPolicy},
        },
    },
};

/// Tuning of the webhook worker; the default is what `serve` uses.
#[derive(Clone, Copy, Debug)]
pub struct WebhookConfig {
    /// How often to look for due deliveries.
    pub poll_interval: Duration,
    /// Deadline for one attempt, connect to last byte (10 s).
    pub timeout: Duration,
    /// How long a claimed delivery is reserved; at least twice the timeout.
    pub lease: Duration,
    /// Attempts in flight at once, over all endpoints.
    pub max_in_flight: usize,
    /// Attempts in flight at once to one endpoint.
    pub per_endpoint: usize,
    pub retry: RetryPolicy,
    /// Deadline for each database statement.
    pub db_timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            max_in_flight: 64,
            per_endpoint: 4,
            retry: RetryPolicy {
                base: Duration::from_secs(5),
                window: Duration::from_secs(24 * 3600),
            },
            db_timeout: Duration::from_secs(10),
        }
    }
}

/// What became of the deliveries of one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookReport {
    pub succeeded: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Claimed but not ours any more at the attempt (taken over, endpoint deleted).
    pub lost: usize,
}

/// Delivers due webhook deliveries.
#[derive(Clone, Debug)]
pub struct WebhookWorker {
    db: sea_orm::DatabaseConnection,
    client: reqwest::Client,
    policy: UrlPolicy,
    config: WebhookConfig,
}

/// What one attempt task reports back to the loop.
type Done = (Uuid, Uuid, Option<Status>);

impl WebhookWorker {
    pub fn new(
        db: sea_orm::DatabaseConnection,
        policy: UrlPolicy,
        mut config: WebhookConfig,
    ) -> Result<Self, reqwest::Error> {
        config.lease = config.lease.max(config.timeout.saturating_mul(2));
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(address::resolver(policy))
            .user_agent(concat!("voke-invitations/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            db,
            client,
            policy,
            config,
        })
    }

    /// Claims the due deliveries and attempts each once, all at the same time; returns when
    /// every attempt has finished.
    pub async fn deliver_due(&self) -> Result<WebhookReport, WorkerError> {
        let claim = self
            .db_call(outbox::claim(&self.db, 100, self.config.lease))
            .await?;
        let mut tasks = JoinSet::new();
        for job in claim.jobs {
            let worker = self.clone();
            tasks.spawn(async move { worker.attempt(claim.owner, job).await });
        }
        let mut report = WebhookReport::default();
        while let Some(done) = tasks.join_next().await {
            match done.ok().and_then(Result::ok).and_then(|(_, _, s)| s) {
                Some(Status::Succeeded) => report.succeeded += 1,
                Some(Status::Retrying) => report.retrying += 1,
                Some(Status::Failed) => report.failed += 1,
                _ => report.lost += 1,
            }
        }
        Ok(report)
    }

    /// Runs until `stop` turns true. Attempts in flight are then abandoned and their
    /// deliveries released for the next instance.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tasks: JoinSet<Result<Done, WorkerError>> = JoinSet::new();
        // Delivery id -> (owner, endpoint) of every attempt in flight.
        let mut held: HashMap<Uuid, (Uuid, Uuid)> = HashMap::new();
        while !*stop.borrow() {
            tokio::select! {
                _ = stop.changed() => break,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Ok(Ok((id, _, _))) = done {
                        held.remove(&id);
                    }
                }
                _ = poll.tick() => {
                    if let Err(e) = self.start_due(&mut tasks, &mut held).await {
                        tracing::warn!(error = %e, "webhook outbox pass failed; will retry");
                    }
                }
            }
            // A task that failed (database) or panicked leaves its entry: drop stale ones.
            if tasks.is_empty() {
                held.clear();
            }
        }
        tasks.abort_all();
        let mut by_owner: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (id, (owner, _)) in held {
            by_owner.entry(owner).or_default().push(id);
        }
        for (owner, ids) in by_owner {
            let _ = self.db_call(outbox::release(&self.db, owner, &ids)).await;
        }
        tracing::info!("webhook worker stopped");
    }

    /// Claims what the free slots allow and starts an attempt per delivery, releasing those
    /// whose endpoint already has its share in flight.
    async fn start_due(
        &self,
        tasks: &mut JoinSet<Result<Done, WorkerError>>,
        held: &mut HashMap<Uuid, (Uuid, Uuid)>,
    ) -> Result<(), WorkerError> {
        let free = self.config.max_in_flight.saturating_sub(tasks.len());
        if free == 0 {
            return Ok(());
        }
        let claim = self
            .db_call(outbox::claim(&self.db, free as u64, self.config.lease))
            .await?;
        let mut busy = HashMap::<Uuid, usize>::new();
        for (_, endpoint) in held.values() {
            *busy.entry(*endpoint).or_default() += 1;
        }
        let mut surplus = Vec::new();
        for job in claim.jobs {
            let endpoint = job.delivery.webhook_id;
            let count = busy.entry(endpoint).or_default();
            if *count >= self.config.per_endpoint {
                surplus.push(job.delivery.id);
                continue;
            }
            *count += 1;
            held.insert(job.delivery.id, (claim.owner, endpoint));
            let worker = self.clone();
            tasks.spawn(async move { worker.attempt(claim.owner, job).await });
        }
        self.db_call(outbox::release(&self.db, claim.owner, &surplus))
            .await?;
        Ok(())
    }

    /// One attempt: still ours, then POST, then the result if still ours.
    async fn attempt(&self, owner: Uuid, job: Job) -> Result<Done, WorkerError> {
        let id = job.delivery.id;
        let endpoint = job.delivery.webhook_id;
        let renewed = outbox::renew(&self.db, id, owner, self.config.lease);
        if !self.db_call(renewed).await? {
            return Ok((id, endpoint, None));
        }
        let attempt = self.post(&job).await;
        if let Some(error) = &attempt.error {
            tracing::info!(delivery = %id, webhook = %endpoint, %error, "webhook attempt failed");
        }
        let record = outbox::record(&self.db, &job.delivery, owner, &attempt, self.config.retry);
        let status = self.db_call(record).await?;
        match status {
            Some(Status::Succeeded) => crate::metrics::record_webhook("succeeded"),
            Some(Status::Retrying) => crate::metrics::record_webhook("retrying"),
            Some(Status::Failed) => crate::metrics::record_webhook("failed"),
            _ => {}
        }
        Ok((id, endpoint, status))
    }

    /// Signs and sends the event; any answer but a 2xx within the deadline is a failure.
    async fn post(&self, job: &Job) -> Attempt {
        let failed = |error: String| Attempt {
            response_status: None,
            error: Some(error),
        };
        if let Err(reason) = self.target_allowed(&job.url) {
            return failed(reason);
        }
        let body = events::payload(&job.event);
        let msg_id = job.event.id.to_string();
        let timestamp = Utc::now().timestamp();
        let signature = match standardwebhooks::Webhook::new(&job.secret)
            .and_then(|signer| signer.sign(&msg_id, timestamp, body.as_bytes()))
        {
            Ok(signature) => signature,
            Err(e) => return failed(format!("cannot sign: {e}")),
        };
        let sent = self
            .client
            .post(&job.url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, &msg_id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Attempt {
                response_status: Some(response.status().as_u16()),
                error: None,
            },
            Ok(response) => Attempt {
                response_status: Some(response.status().as_u16()),
                error: Some(format!("the receiver answered {}", response.status())),
            },
            Err(e) => failed(describe(&e)),
        }
    }

    /// The URL as stored passes the policy again (scheme, literal addresses); names are
    /// checked by the client's resolver.
    fn target_allowed(&self, raw: &str) -> Result<(), String> {
        let url = Url::parse(raw).map_err(|e| format!("invalid URL: {e}"))?;
        address::check_syntax(url.as_str(), self.policy).map_err(|r| format!("url {r}"))?;
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !self.policy.allow_private && address::is_internal(ip) => {
                Err(format!("refused: {ip} is an internal address"))
            }
            _ => Ok(()),
        }
    }

    async fn db_call<T>(
        &self,
        query: impl std::future::Future<Output = Result<T, sea_orm::DbErr>>,
    ) -> Result<T, WorkerError> {
        super::timed(self.config.db_timeout, query).await
    }
}

/// A transport error with its causes (reqwest's own message is terse).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the receiver did not answer within the deadline".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
