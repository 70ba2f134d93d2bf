//! Configuration: the only place that reads the environment.

mod jwt;
mod parse;

use std::{fmt, net::SocketAddr, time::Duration};

pub use jwt::{DEFAULT_JWKS_REFRESH, JwtKey};
use parse::{parse_bool, parse_count, parse_duration, parse_origins};

/// The development secret used when no key is configured and the server binds to loopback.
/// It is public by design: tokens signed with it are worthless anywhere else.
pub const DEVELOPMENT_JWT_SECRET: &str = "voke-invitations-development-secret-do-not-use";

/// The organization development mode makes its admin an `ORG_ADMIN` of; also the `x-org-id`
/// example in the spec, so Swagger UI's "Try it out" works with nothing typed but the token.
pub const DEVELOPMENT_ORG_ID: uuid::Uuid = uuid::uuid!("0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a11");

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How invitation emails leave: `MAIL_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailMode {
    /// Through `SMTP_URL`.
    Smtp,
    /// Written to the log, links included, on purpose.
    Log,
}

/// Outgoing email settings.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://` or `smtps://` URL; `None` writes messages to the log (development).
    pub smtp_url: Option<Secret>,
    /// `MAIL_MODE` as set (`None`: decided from `SMTP_URL` and development mode at start).
    pub mode: Option<MailMode>,
    pub from: String,
    pub accept_url: String,
}

/// Limits of the HTTP edge (§9.4), CORS, and whether Swagger UI is served.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `REQUEST_TIMEOUT`: a request still running after this answers 503.
    pub request_timeout: Duration,
    /// `MAX_CONNECTIONS`: connections served at once.
    pub max_connections: usize,
    /// `DOCS_ENABLED`: serve Swagger UI at `/docs`.
    pub docs_enabled: bool,
    /// `CORS_ALLOWED_ORIGINS`: exact origins browsers may call from; empty = no CORS headers.
    pub cors_allowed_origins: Vec<String>,
    /// `METRICS_TOKEN`: when set, `GET /metrics` needs it as a bearer token.
    pub metrics_token: Option<Secret>,
    /// `RATE_LIMITS`, `RATE_LIMIT_*`, `TRUSTED_PROXIES` (§9.1).
    pub rate_limits: crate::ratelimit::RateLimitConfig,
    /// `MEMBERSHIP_CACHE_TTL`: how long a caller's role is trusted without a query (0 to 5 s;
    /// `0s`, the default, turns the cache off).
    pub membership_cache_ttl: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            docs_enabled: true,
            cors_allowed_origins: Vec::new(),
            metrics_token: None,
            rate_limits: crate::ratelimit::RateLimitConfig {
                public: std::num::NonZeroU32::new(30),
                writes: std::num::NonZeroU32::new(120),
                caller: std::num::NonZeroU32::new(600),
                trusted_proxies: Vec::new(),
            },
            // Off unless asked for: with it on, a role changed by another process (another
            // instance, `members add`) takes up to the TTL to apply here.
            membership_cache_ttl: Duration::ZERO,
        }
    }
}

/// Everything the service reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secret,
    pub bind_addr: SocketAddr,
    pub jwt_key: JwtKey,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub invitation_ttl: Duration,
    /// The furthest an explicit `expiresAt` may lie (`INVITATION_MAX_TTL`).
    pub invitation_max_ttl: Duration,
    /// The least time between two emails of one invitation (`RESEND_COOLDOWN`).
    pub resend_cooldown: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub mail: MailConfig,
    pub http: HttpConfig,
    /// Where webhooks may point (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE`).
    pub webhooks: crate::service::webhooks::UrlPolicy,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://voke-invitations.db?mode=rwc";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:4410";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let bind_addr: SocketAddr = var("BIND_ADDR")
            .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
            .parse()
            .map_err(|e| ConfigError::new("BIND_ADDR", format!("not a socket address: {e}")))?;

        let jwt_key = jwt::jwt_key(var, bind_addr)?;

        let invitation_ttl = match var("INVITATION_TTL") {
            None => Duration::from_secs(7 * 24 * 3600),
            Some(raw) => parse_duration("INVITATION_TTL", &raw, 1, 366 * 24 * 3600)?,
        };
        // Unset, the bound never undercuts the default lifetime; set, it must not.
        let invitation_max_ttl = match var("INVITATION_MAX_TTL") {
            None => invitation_ttl.max(Duration::from_secs(30 * 24 * 3600)),
            Some(raw) => {
                let max = parse_duration("INVITATION_MAX_TTL", &raw, 600, 366 * 24 * 3600)?;
                if max < invitation_ttl {
                    return Err(ConfigError::new(
                        "INVITATION_MAX_TTL",
                        format!(
                            "must be at least INVITATION_TTL ({})",
                            humantime::format_duration(invitation_ttl)
                        ),
                    ));
                }
                max
            }
        };
        let resend_cooldown = match var("RESEND_COOLDOWN") {
            None => Duration::from_secs(60),
            Some(raw) => parse_duration("RESEND_COOLDOWN", &raw, 0, 24 * 3600)?,
        };
        let defaults = HttpConfig::default();
        let http = HttpConfig {
            request_timeout: match var("REQUEST_TIMEOUT") {
                None => defaults.request_timeout,
                Some(raw) => parse_duration("REQUEST_TIMEOUT", &raw, 1, 3600)?,
            },
            max_connections: match var("MAX_CONNECTIONS") {
                None => defaults.max_connections,
                Some(raw) => parse_count("MAX_CONNECTIONS", &raw, 1, 1_000_000)?,
            },
            docs_enabled: match var("DOCS_ENABLED") {
                None => defaults.docs_enabled,
                Some(raw) => parse_bool("DOCS_ENABLED", &raw)?,
            },
            cors_allowed_origins: match var("CORS_ALLOWED_ORIGINS") {
                None => Vec::new(),
                Some(raw) => parse_origins("CORS_ALLOWED_ORIGINS", &raw)?,
            },
            metrics_token: var("METRICS_TOKEN").map(Secret::new),
            rate_limits: parse::rate_limits(&var, &defaults.rate_limits)?,
            membership_cache_ttl: match var("MEMBERSHIP_CACHE_TTL") {
                None => defaults.membership_cache_ttl,
                Some(raw) => parse_duration("MEMBERSHIP_CACHE_TTL", &raw, 0, 5)?,
            },
        };
        let mail_mode = match var("MAIL_MODE").as_deref().map(str::trim) {
            None => None,
            Some("smtp") => Some(MailMode::Smtp),
            Some("log") => Some(MailMode::Log),
            Some(other) => {
                return Err(ConfigError::new(
                    "MAIL_MODE",
                    format!("expected `smtp` or `log`, got `{other}`"),
                ));
            }
        };
        let smtp_url = var("SMTP_URL").map(Secret::new);
        if mail_mode == Some(MailMode::Smtp) && smtp_url.is_none() {
            return Err(ConfigError::new(
                "MAIL_MODE",
                "`smtp` needs SMTP_URL to be set",
            ));
        }

        let webhooks = crate::service::webhooks::UrlPolicy {
            allow_http: match var("WEBHOOK_ALLOW_HTTP") {
                None => false,
                Some(raw) => parse_bool("WEBHOOK_ALLOW_HTTP", &raw)?,
            },
            allow_private: match var("WEBHOOK_ALLOW_PRIVATE") {
                None => false,
                Some(raw) => parse_bool("WEBHOOK_ALLOW_PRIVATE", &raw)?,
            },
        };

        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("expected `text` or `json`, got `{other}`"),
                ));
            }
        };

        Ok(Self {
            database_url: Secret::new(
                var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            ),
            bind_addr,
            jwt_key,
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            invitation_ttl,
            invitation_max_ttl,
            resend_cooldown,
            log_format,
            log_filter: var("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            http,
            webhooks,
            mail: MailConfig {
                smtp_url,
                mode: mail_mode,
                from: var("MAIL_FROM").unwrap_or_else(|| "Voke <no-reply@localhost>".to_owned()),
                accept_url: var("INVITE_ACCEPT_URL")
                    .unwrap_or_else(|| "http://localhost:3000/auth/accept-invite".to_owned()),
            },
        })
    }

    /// Lifetimes and the resend cooldown, as the invitations service applies them.
    pub fn invitation_policy(&self) -> crate::service::invitations::InvitationPolicy {
        crate::service::invitations::InvitationPolicy {
            ttl: self.invitation_ttl,
            max_ttl: self.invitation_max_ttl,
            resend_cooldown: self.resend_cooldown,
        }
    }

    /// True when the server runs with the public development secret.
    pub fn is_development(&self) -> bool {
        matches!(self.jwt_key, JwtKey::Development)
    }

    /// Where emails go when serving. Outside development mode, no `SMTP_URL` is an error
    /// unless `MAIL_MODE=log` says the log is meant (§7): tokens must not reach a log by
    /// accident.
    pub fn mail_mode(&self) -> Result<MailMode, ConfigError> {
        match (self.mail.mode, &self.mail.smtp_url) {
            (Some(mode), _) => Ok(mode),
            (None, Some(_)) => Ok(MailMode::Smtp),
            (None, None) if self.is_development() => Ok(MailMode::Log),
            (None, None) => Err(ConfigError::new(
                "SMTP_URL",
                "is not set, and a JWT key is configured (not development mode); set SMTP_URL, \
                 or MAIL_MODE=log to write invitation emails, links included, to the log",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
