//! A small pool of SMTP connections that only ever reuses a connection whose last
//! conversation ended cleanly.
//!
//! lettre's own pool hands a connection back when the send future is dropped, even in the
//! middle of a transaction (a timed-out or cancelled send), so the next message would read the
//! previous one's replies. Here a connection goes back to the pool only after a send that
//! returned success; a dropped, failed or timed-out send drops its connection (closing it).

use std::{
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use lettre::{
    address::Envelope,
    transport::smtp::{
        Error,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, Tls},
        extension::ClientId,
    },
};

/// An idle connection older than this is checked with `NOOP` before it is reused.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);

/// Where and how to connect, and the idle connections kept for reuse.
pub struct SmtpPool {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
    connect_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl SmtpPool {
    pub fn new(
        host: String,
        port: u16,
        tls: Tls,
        credentials: Option<Credentials>,
        connect_timeout: Duration,
        max_idle: usize,
    ) -> Self {
        Self {
            host,
            port,
            tls,
            credentials,
            hello: ClientId::default(),
            connect_timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one message on a pooled (or new) connection; the connection returns to the pool
    /// only if the whole SMTP transaction succeeded. Cancel-safe: dropping the future drops
    /// the connection with it.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Error> {
        let mut conn = self.checkout().await?;
        conn.send(envelope, message).await?;
        self.checkin(conn);
        Ok(())
    }

    /// How many idle connections are kept right now.
    pub fn idle_connections(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, Error> {
        loop {
            let parked = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some((mut conn, since)) = parked else {
                return self.connect().await;
            };
            if since.elapsed() < CHECK_AFTER_IDLE || conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
    }

    /// Connect, greeting, EHLO, TLS as configured, then authentication.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Error> {
        let wrapper = match &self.tls {
            Tls::Wrapper(params) => Some(params.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.connect_timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        match &self.tls {
            Tls::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &self.hello).await?;
            }
            Tls::Required(params) => conn.starttls(params.clone(), &self.hello).await?,
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}
