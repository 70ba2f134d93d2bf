//! Rendering and sending the invitation email: SMTP with lettre, or the log in development.

use std::{sync::Arc, time::Duration};

use lettre::{
    Message,
    address::AddressError,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};

mod pool;

pub use pool::SmtpPool;

use crate::config::{ConfigError, MailConfig};

/// The default deadline for one whole delivery: connect, greeting, TLS, authentication and the
/// SMTP transaction. Also given to lettre, whose own timeout on Tokio bounds only the connect.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle SMTP connections kept for reuse (at most one per message in flight is ever needed).
pub const MAX_IDLE_CONNECTIONS: usize = 64;

/// Why a message was not delivered; its text is what the outbox records.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid recipient {to}: {source}")]
    Recipient { to: String, source: AddressError },
    #[error("cannot build message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("SMTP delivery timed out after {0:?}")]
    TimedOut(Duration),
}

/// What an invitation email says.
#[derive(Clone, Debug)]
pub struct InvitationEmail {
    pub to: String,
    pub organization_id: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: String,
    pub link: String,
}

impl InvitationEmail {
    pub fn subject(&self) -> String {
        format!(
            "You are invited to join organization {} on Voke",
            self.organization_id
        )
    }

    pub fn text(&self) -> String {
        format!(
            "Hello,\n\n{inviter} invited you to join the Voke organization {org} as {role}.\n\n\
             Accept the invitation here:\n{link}\n\n\
             The invitation expires at {expires}. If you did not expect it, ignore this email.\n",
            inviter = self.invited_by,
            org = self.organization_id,
            role = self.role,
            link = self.link,
            expires = self.expires_at,
        )
    }

    pub fn html(&self) -> String {
        format!(
            "<!doctype html>\n<html><body>\n<p>Hello,</p>\n\
             <p>{inviter} invited you to join the Voke organization <strong>{org}</strong> as \
             <strong>{role}</strong>.</p>\n\
             <p><a href=\"{link}\">Accept the invitation</a></p>\n\
             <p>The invitation expires at {expires}. If you did not expect it, ignore this \
             email.</p>\n</body></html>\n",
            inviter = escape_html(&self.invited_by),
            org = escape_html(&self.organization_id),
            role = escape_html(&self.role),
            link = escape_html(&self.link),
            expires = escape_html(&self.expires_at),
        )
    }
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where invitation emails go.
#[derive(Clone)]
pub enum Mailer {
    /// A real SMTP server.
    Smtp { pool: Arc<SmtpPool>, from: Mailbox },
    /// Development: the whole message, link included, is written to the log.
    Log,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
            Self::Log => f.write_str("Mailer::Log"),
        }
    }
}

impl Mailer {
    /// Builds the mailer from `SMTP_URL` and `MAIL_FROM`.
    pub fn from_config(config: &MailConfig) -> Result<Self, ConfigError> {
        let from: Mailbox = config.from.parse().map_err(|e| ConfigError {
            variable: "MAIL_FROM",
            reason: format!("not a mailbox: {e}"),
        })?;
        let Some(url) = &config.smtp_url else {
            return Ok(Self::Log);
        };
        let pool = smtp_transport(url.expose()).map_err(|reason| ConfigError {
            variable: "SMTP_URL",
            reason,
        })?;
        Ok(Self::Smtp {
            pool: Arc::new(pool),
            from,
        })
    }

    /// Delivers one message, giving up after `deadline` whatever the server does. A connection
    /// is reused only after a transaction that completed; dropping the returned future
    /// abandons the conversation and closes its connection, never reused.
    pub async fn send(&self, email: &InvitationEmail, deadline: Duration) -> Result<(), MailError> {
        match self {
            Self::Log => {
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject(),
                    link = %email.link,
                    "invitation email written to the log on purpose (development mode or \
                     MAIL_MODE=log), token included\n{}",
                    email.text()
                );
                Ok(())
            }
            Self::Smtp { pool, from } => {
                let message = build_message(from, email)?;
                let bytes = message.formatted();
                tokio::time::timeout(deadline, pool.send(message.envelope(), &bytes))
                    .await
                    .map_err(|_| MailError::TimedOut(deadline))??;
                Ok(())
            }
        }
    }
}

fn build_message(from: &Mailbox, email: &InvitationEmail) -> Result<Message, MailError> {
    let to: Mailbox = email.to.parse().map_err(|source| MailError::Recipient {
        to: email.to.clone(),
        source,
    })?;
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject())
        .multipart(MultiPart::alternative_plain_html(
            email.text(),
            email.html(),
        ))?)
}

/// `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it; `?tls=none` never,
/// `?tls=required` always) or `smtps://…` (implicit TLS).
fn smtp_transport(raw: &str) -> Result<SmtpPool, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("no host")?
        .trim_matches(['[', ']'])
        .to_owned();
    let tls_mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let params = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS setup: {e}"));
    let (tls, default_port) = match (url.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => (Tls::Wrapper(params()?), 465),
        ("smtp", None | Some("opportunistic")) => (Tls::Opportunistic(params()?), 25),
        ("smtp", Some("required")) => (Tls::Required(params()?), 587),
        ("smtp", Some("none")) => (Tls::None, 25),
        (scheme, mode) => {
            return Err(format!(
                "unsupported scheme `{scheme}` or tls mode {mode:?}; use smtp:// or smtps://"
            ));
        }
    };
    let credentials = (!url.username().is_empty()).then(|| {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Credentials::new(
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    // Not lettre's pool: it recycles a connection whose conversation was abandoned
    // mid-transaction (a timed-out or cancelled send). See `pool`.
    Ok(SmtpPool::new(
        host,
        url.port().unwrap_or(default_port),
        tls,
        credentials,
        SEND_TIMEOUT,
        MAX_IDLE_CONNECTIONS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_it_interpolates() {
        let email = InvitationEmail {
            to: "a@example.com".into(),
            organization_id: "org".into(),
            role: "VIEWER".into(),
            invited_by: "<script>alert('x')</script>".into(),
            expires_at: "2026-12-03T10:00:00.000Z".into(),
            link: "http://x/accept?token=a&b=\"c\"".into(),
        };
        let html = email.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("token=a&amp;b=&quot;c&quot;"));
        assert!(email.text().contains(&email.link));
    }

    // The transport's connection pool spawns onto the Tokio runtime.
    #[tokio::test]
    async fn smtp_urls_are_validated() {
        assert!(smtp_transport("smtp://localhost:2525").is_ok());
        assert!(smtp_transport("smtps://user:p%40ss@mail.example.com").is_ok());
        assert!(smtp_transport("smtp://localhost?tls=none").is_ok());
        assert!(smtp_transport("http://localhost").is_err());
        assert!(smtp_transport("not a url").is_err());
    }
}
