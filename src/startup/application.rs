//! Running the application: connect, migrate, bind, serve until a stop signal, then stop the
//! background work and the pool within bounded times.

use std::{sync::Arc, time::Duration};

use super::{AppState, build_app};
use crate::{
    auth::JwtVerifier,
    config::{Config, MailConfig, MailMode},
    db,
    load::Load,
    mail::Mailer,
    server,
    service::invitations::InvitationService,
    worker::{WebhookConfig, WebhookWorker, Worker, WorkerConfig},
};

/// How long shutdown waits for the background worker before aborting it.
const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A configured, bound, migrated application ready to serve.
pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    worker: Worker,
    limits: server::Limits,
}

impl Application {
    /// Connects, applies pending migrations and binds the listener.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let mail_mode = config.mail_mode()?;
        let db = db::connect(config.database_url.expose()).await?;
        db::migrate_up(&db).await?;
        let verifier = Arc::new(JwtVerifier::from_config(config)?);
        let mailer = match mail_mode {
            MailMode::Smtp => Mailer::from_config(&config.mail)?,
            MailMode::Log => Mailer::from_config(&MailConfig {
                smtp_url: None,
                ..config.mail.clone()
            })?,
        };
        if mail_mode == MailMode::Log && !config.is_development() {
            tracing::warn!(
                "MAIL_MODE=log: invitation emails, links and tokens included, are written to the log"
            );
        } else if mail_mode == MailMode::Log {
            tracing::warn!("SMTP_URL is not set: invitation emails are written to the log");
        }
        let load = Load::default();
        let worker = Worker::new(
            db.clone(),
            mailer,
            config.mail.accept_url.clone(),
            WorkerConfig::serving(load.clone()),
        );
        server::raise_open_file_limit();
        let listener = tokio::net::TcpListener::bind(config.bind_addr).await?;
        Ok(Self {
            listener,
            state: AppState {
                db,
                verifier,
                policy: config.invitation_policy(),
                http: config.http.clone(),
                webhooks: config.webhooks,
                load,
            },
            worker,
            limits: server::Limits {
                max_connections: config.http.max_connections,
                ..server::Limits::default()
            },
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The connection limits it will serve with (tests shorten the timeouts).
    pub fn limits_mut(&mut self) -> &mut server::Limits {
        &mut self.limits
    }

    /// Serves until `shutdown` resolves (SIGINT/SIGTERM in `serve`), finishing in-flight
    /// requests, then stops the background worker and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let app = build_app(self.state.clone());
        let (stop_worker, stopped) = tokio::sync::watch::channel(false);
        let invitations = InvitationService::with_policy(self.state.db.clone(), self.state.policy);
        // Keys from an identity provider are fetched at once and refreshed while serving.
        let jwks = (self.state.verifier.jwks().cloned())
            .map(|cache| tokio::spawn(cache.run(stopped.clone())));
        let hooks = WebhookWorker::new(
            self.state.db.clone(),
            self.state.webhooks,
            WebhookConfig::default(),
        )?;
        let mut hooks = tokio::spawn(hooks.run(stopped.clone()));
        let mut worker = tokio::spawn(self.worker.run(invitations, stopped));
        // The worker is told to stop when shutdown begins, while requests drain.
        let shutdown = async move {
            shutdown.await;
            let _ = stop_worker.send(true);
        };
        let served = server::serve(self.listener, app, self.limits, shutdown).await;
        // It abandons a send in flight and releases its claims; bounded whatever SMTP does.
        match tokio::time::timeout(WORKER_STOP_TIMEOUT, &mut worker).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "background worker ended abnormally"),
            Err(_) => {
                tracing::warn!("background worker did not stop in time; aborted");
                worker.abort();
            }
        }
        // Attempts in flight are abandoned and released; bounded the same way.
        match tokio::time::timeout(WORKER_STOP_TIMEOUT, &mut hooks).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "webhook worker ended abnormally"),
            Err(_) => {
                tracing::warn!("webhook worker did not stop in time; aborted");
                hooks.abort();
            }
        }
        if let Some(jwks) = jwks {
            // It stops at the signal; a fetch in flight is dropped with it.
            if let Err(e) = jwks.await {
                tracing::error!(error = %e, "JWKS refresher ended abnormally");
            }
        }
        served?;
        // A database that stopped answering must not hold the process: closing is bounded too.
        match tokio::time::timeout(WORKER_STOP_TIMEOUT, self.state.db.close()).await {
            Ok(closed) => closed?,
            Err(_) => tracing::warn!("the database pool did not close in time"),
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
